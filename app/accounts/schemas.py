"""Request and response bodies of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

Email = Annotated[str, Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
# Long and multi-byte passwords are welcome (pre-hashed, never truncated); the cap only bounds work.
Password = Annotated[str, Meta(min_length=8, max_length=1024)]
Handle = Annotated[str, Meta(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*[A-Za-z0-9_]$")]
DisplayName = Annotated[str, Meta(max_length=80)]
Bio = Annotated[str, Meta(max_length=4000)]
Role = Literal["member", "creator", "admin"]


class Body(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently dropped."""


class SignupRequest(Body):
    email: Email
    password: Password
    handle: Handle
    display_name: DisplayName = ""


class LoginRequest(Body):
    email: Email
    password: Annotated[str, Meta(min_length=1, max_length=1024)]
    # Browsers keep the refresh token in an HttpOnly cookie; other clients ask for it in the body.
    refresh_in_body: bool = False


class RefreshRequest(Body):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=200)]


class ChangePasswordRequest(Body):
    current_password: Annotated[str, Meta(min_length=1, max_length=1024)]
    new_password: Password


class ProfileUpdate(Body):
    display_name: DisplayName | UnsetType = UNSET
    bio: Bio | UnsetType = UNSET
    handle: Handle | UnsetType = UNSET


class RoleUpdate(Body):
    role: Role


class Account(Struct, kw_only=True):
    id: uuid.UUID
    email: str
    handle: str
    display_name: str
    bio: str
    role: str
    created_at: datetime


class SignupAccepted(Struct, kw_only=True):
    # The same answer whether or not the email already had an account (no enumeration).
    status: Literal["accepted"] = "accepted"
    detail: str = "If this email is new, the account is ready: log in with it."


class TokenPair(Struct, kw_only=True):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    account: Account
    # Only for clients that asked for it; browsers get the refresh token as a cookie.
    refresh_token: str | UnsetType = UNSET


def to_account(user: object) -> Account:
    return msgspec.convert(user, Account, from_attributes=True)
