"""Accounts tables: users, refresh-token families and the auth throttle."""

from __future__ import annotations

import uuid

from piccolo.columns import UUID, BigInt, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class User(Table, tablename="users"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    # Stored lower-cased; uniqueness is on the normalised form.
    email = Varchar(length=320, unique=True)
    handle = Varchar(length=32, unique=True)
    display_name = Varchar(length=80, default="")
    bio = Text(default="")
    password_hash = Varchar(length=100)
    role = Varchar(length=16, default="member")
    # Copied into every access token; bumping it ("log out everywhere") voids them all at once.
    token_generation = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class RefreshToken(Table, tablename="refresh_tokens"):
    """One refresh token of a family; a family is one log-in on one device."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    user = ForeignKey(references=User, null=False, index=True)
    family = UUID(index=True)
    # sha256 of the token: a database leak does not hand out sessions.
    token_hash = Varchar(length=64, unique=True)
    expires_at = BigInt()
    # Set when rotated; presenting a used token again is a replay and revokes the family.
    used_at = BigInt(null=True, default=None)
    revoked_at = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AuthThrottle(Table, tablename="auth_throttle"):
    """A fixed-window failure counter per key (client IP or account), shared by every worker."""

    key = Varchar(length=200, primary_key=True)
    hits = Integer(default=0)
    reset_at = BigInt()
