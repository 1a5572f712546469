"""Request and response bodies of the sessions API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from msgspec import Meta, Struct

Title = Annotated[str, Meta(min_length=1, max_length=120)]
Participants = Annotated[int, Meta(ge=2, le=8)]
# Sessions last from five minutes to a week; invites at most as long.
ExpiryMinutes = Annotated[int, Meta(ge=5, le=7 * 24 * 60)]
Handle = Annotated[str, Meta(min_length=3, max_length=32)]


class Body(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error."""


class SessionCreate(Body):
    title: Title
    max_participants: Participants = 8
    expires_in_minutes: ExpiryMinutes = 180


class SessionUpdate(Body):
    locked: bool


class InviteCreate(Body):
    """A link invite when ``handle`` is empty, else an invite for that user."""

    handle: Handle | None = None
    expires_in_minutes: ExpiryMinutes = 60


class JoinRequest(Body):
    token: Annotated[str, Meta(min_length=10, max_length=200)]


class Member(Struct, kw_only=True):
    user_id: uuid.UUID
    handle: str
    display_name: str
    role: Literal["host", "member"]


class Session(Struct, kw_only=True):
    id: uuid.UUID
    title: str
    host_id: uuid.UUID
    max_participants: int
    expires_at: int
    locked: bool
    members: list[Member]


class Invite(Struct, kw_only=True, omit_defaults=True):
    id: uuid.UUID
    kind: Literal["link", "handle"]
    expires_at: int
    # Only in the answer that creates a link invite: the server keeps just its hash.
    token: str | None = None
    url: str | None = None
    handle: str | None = None


class IceServer(Struct, kw_only=True, omit_defaults=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class IceConfig(Struct, kw_only=True, rename="camel"):
    ice_servers: list[IceServer]
    ttl: int


class Ticket(Struct, kw_only=True):
    """Sent as ``{"type": "auth", "ticket": …}`` as the first signaling message."""

    ticket: str
    expires_in: int
