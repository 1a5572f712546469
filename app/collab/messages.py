"""Signaling messages: a msgspec tagged union on the ``type`` field.

Clients send ``Inbound`` messages; the server answers with ``Outbound`` ones. ``to`` names a
peer (a socket, not a user: one user may join from two devices); the server fills in ``from``
and the sender's identity, so nobody can speak for another peer.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct, field

# One signaling message may be at most this big on the wire; bigger closes the socket (1008).
MAX_MESSAGE_BYTES = 64 * 1024

PeerId = Annotated[str, Meta(min_length=1, max_length=40)]
Sdp = Annotated[str, Meta(max_length=60_000)]


class Msg(Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Base of every message."""


class Auth(Msg, tag="auth", kw_only=True):
    """An access JWT (``token``), or a ticket from ``POST /api/v1/sessions/{id}/ticket``."""

    token: Annotated[str, Meta(max_length=4096)] = ""
    ticket: Annotated[str, Meta(max_length=1024)] = ""


class IceCandidateInit(Struct, kw_only=True, omit_defaults=True):
    candidate: Annotated[str, Meta(max_length=2000)] = ""
    sdpMid: str | None = None
    sdpMLineIndex: int | None = None
    usernameFragment: str | None = None


class Offer(Msg, tag="offer", kw_only=True):
    to: PeerId | None = None
    sdp: Sdp
    from_: str | None = field(name="from", default=None)
    # True for an ICE restart after a network drop, so the other side knows not to reset.
    restart: bool = False


class Answer(Msg, tag="answer", kw_only=True):
    to: PeerId | None = None
    sdp: Sdp
    from_: str | None = field(name="from", default=None)


class IceCandidate(Msg, tag="ice-candidate", kw_only=True):
    to: PeerId | None = None
    # None is the end-of-candidates marker.
    candidate: IceCandidateInit | None = None
    from_: str | None = field(name="from", default=None)


class Chat(Msg, tag="chat", kw_only=True):
    text: Annotated[str, Meta(min_length=1, max_length=4000)]
    from_: str | None = field(name="from", default=None)
    handle: str | None = None


class PanelUpdate(Msg, tag="panel-update", kw_only=True):
    """The shared session panel; absent fields are unchanged."""

    bpm: Annotated[int, Meta(ge=20, le=400)] | None = None
    key: Annotated[str, Meta(max_length=16)] | None = None
    notes: Annotated[str, Meta(max_length=8000)] | None = None
    version: int = 0
    from_: str | None = field(name="from", default=None)


class Presence(Msg, tag="presence", kw_only=True):
    """Who is here: sent to a newcomer by every present peer, and on a status change."""

    status: Annotated[str, Meta(max_length=40)] = "here"
    muted: bool = False
    to: PeerId | None = None
    from_: str | None = field(name="from", default=None)
    user_id: str | None = None
    handle: str | None = None


class Join(Msg, tag="join", kw_only=True):
    from_: str | None = field(name="from", default=None)
    user_id: str | None = None
    handle: str | None = None


class Leave(Msg, tag="leave", kw_only=True):
    from_: str | None = field(name="from", default=None)
    user_id: str | None = None


class Ping(Msg, tag="ping", kw_only=True):
    t: float = 0.0


class Pong(Msg, tag="pong", kw_only=True):
    t: float = 0.0


class Welcome(Msg, tag="welcome", kw_only=True):
    peer: str
    user_id: str
    handle: str
    session: str


class Error(Msg, tag="error", kw_only=True):
    code: str
    detail: str


Inbound = Auth | Offer | Answer | IceCandidate | Chat | PanelUpdate | Presence | Ping | Pong | Leave
Outbound = Welcome | Join | Leave | Offer | Answer | IceCandidate | Chat | PanelUpdate | Presence | Ping | Pong | Error

decode_inbound = msgspec.json.Decoder(Inbound).decode
encode = msgspec.json.Encoder().encode


class Envelope(Struct, array_like=True):
    """What travels between workers on a room's channel: who sent it, to whom, and the message."""

    kind: str  # "msg", "join", "leave", "kick"; "ping" only inside a worker (the heartbeat)
    sender: str  # peer id ("" for the server)
    user_id: str
    to: str  # peer id, or "" for everyone in the room
    body: msgspec.Raw = msgspec.Raw(b"null")


decode_envelope = msgspec.json.Decoder(Envelope).decode


def error(code: str, detail: str) -> bytes:
    return encode(Error(code=code, detail=detail))
