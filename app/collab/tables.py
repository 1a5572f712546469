"""Collaboration tables: sessions (rooms), their members and their invites."""

from __future__ import annotations

import uuid

from piccolo.columns import UUID, BigInt, Boolean, ForeignKey, Integer, Varchar
from piccolo.table import Table

from app.accounts.tables import User


class CollabSession(Table, tablename="collab_sessions"):
    """One room that two to eight musicians meet in until it expires."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    host = ForeignKey(references=User, null=False, index=True)
    title = Varchar(length=120)
    max_participants = Integer(default=8)
    # Unix seconds; past it nobody joins, signals or gets TURN credentials.
    expires_at = BigInt()
    # A locked room admits nobody new, whatever invite they hold.
    locked = Boolean(default=False)
    created_at = BigInt()


class SessionMember(Table, tablename="collab_members"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    session = ForeignKey(references=CollabSession, null=False, index=True)
    user = ForeignKey(references=User, null=False, index=True)
    # "<session id>:<user id>", unique: one row per person per room even under concurrent joins.
    member_key = Varchar(length=80, unique=True)
    role = Varchar(length=8, default="member")
    joined_at = BigInt()
    # Set when the host removes them; a removed member can only come back through a new handle invite.
    removed_at = BigInt(null=True, default=None)


class SessionInvite(Table, tablename="collab_invites"):
    """A link invite (anyone holding the token) or a handle invite (one named user)."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    session = ForeignKey(references=CollabSession, null=False, index=True)
    kind = Varchar(length=8)
    # sha256 of a link token: the database never holds a usable link.
    token_hash = Varchar(length=64, null=True, default=None, unique=True)
    invitee = ForeignKey(references=User, null=True, default=None, index=True)
    expires_at = BigInt()
    revoked_at = BigInt(null=True, default=None)
    uses = Integer(default=0)
    created_at = BigInt()
