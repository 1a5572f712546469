"""Session rules: open a room, invite by link or handle, join, lock, remove, mint ICE config."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from piccolo.engine.sqlite import SQLiteEngine

from app.accounts.auth import derive_key
from app.accounts.tables import User
from app.collab import tickets, turn
from app.collab.schemas import IceConfig, Invite, InviteCreate, Member, Session, SessionCreate, Ticket
from app.collab.tables import CollabSession, SessionInvite, SessionMember
from app.core.db import now, write_transaction
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.security import new_token, token_digest
from app.core.settings import Settings

log = logging.getLogger("echoel.collab")

NOT_FOUND = "No such session, or you are not in it."
BAD_INVITE = "This invite is not valid: it may have expired or been revoked."

# Called with (session id, user id) when someone is removed, so their sockets are closed.
KickHook = Callable[[uuid.UUID, uuid.UUID], Awaitable[None]]


async def _lock_room(room_id: uuid.UUID) -> None:
    # PostgreSQL: concurrent joins of one room queue here, so the participant cap holds.
    # (SQLite's immediate transaction already serialises every writer.)
    if not isinstance(CollabSession._meta.db, SQLiteEngine):
        await CollabSession.raw("SELECT id FROM collab_sessions WHERE id = {} FOR UPDATE", room_id)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class SessionService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.on_kick: KickHook | None = None
        self.ticket_key = derive_key(settings.secret_key, "collab-ticket")

    # --- reading ------------------------------------------------------------------------

    async def _session(self, session_id: uuid.UUID) -> CollabSession:
        room = await CollabSession.objects().where(CollabSession.id == session_id).first()
        if room is None or room.expires_at <= now():
            raise NotFound(NOT_FOUND)
        return room

    async def membership(self, session_id: uuid.UUID, user_id: uuid.UUID) -> tuple[CollabSession, SessionMember]:
        """The live room and the caller's active membership, or NotFound (no hint whether it exists)."""
        room = await self._session(session_id)
        member = (
            await SessionMember.objects()
            .where(SessionMember.member_key == f"{session_id}:{user_id}", SessionMember.removed_at.is_null())
            .first()
        )
        if member is None:
            raise NotFound(NOT_FOUND)
        return room, member

    async def active_members(self, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
        """Who is still in each of these sessions; a session that expired or is gone is absent."""
        found: dict[uuid.UUID, set[uuid.UUID]] = {}
        for i in range(0, len(session_ids), 500):  # bounded IN lists, whatever the number of rooms
            rows = await SessionMember.select(SessionMember.session, SessionMember.user).where(
                SessionMember.session.is_in(session_ids[i : i + 500]),
                SessionMember.removed_at.is_null(),
                SessionMember.session.expires_at > now(),
            )
            for r in rows:
                found.setdefault(r["session"], set()).add(r["user"])
        return found

    async def _members(self, session_id: uuid.UUID) -> list[Member]:
        rows = (
            await SessionMember.select(
                SessionMember.user.id, SessionMember.user.handle, SessionMember.user.display_name, SessionMember.role
            )
            .where(SessionMember.session == session_id, SessionMember.removed_at.is_null())
            .order_by(SessionMember.joined_at)
        )
        return [
            Member(user_id=r["user.id"], handle=r["user.handle"], display_name=r["user.display_name"], role=r["role"])
            for r in rows
        ]

    async def _view(self, room: CollabSession) -> Session:
        return Session(
            id=room.id,
            title=room.title,
            host_id=room.host,
            max_participants=room.max_participants,
            expires_at=room.expires_at,
            locked=room.locked,
            members=await self._members(room.id),
        )

    async def get(self, session_id: uuid.UUID, user: User) -> Session:
        room, _ = await self.membership(session_id, user.id)
        return await self._view(room)

    async def list_mine(self, user: User) -> list[Session]:
        ids = await SessionMember.select(SessionMember.session).where(
            SessionMember.user == user.id, SessionMember.removed_at.is_null()
        )
        rooms = (
            await CollabSession.objects()
            .where(
                CollabSession.id.is_in([r["session"] for r in ids] or [uuid.uuid4()]), CollabSession.expires_at > now()
            )
            .order_by(CollabSession.created_at, ascending=False)
            .order_by(CollabSession.id)
        )
        return [await self._view(room) for room in rooms]

    # --- writing ------------------------------------------------------------------------

    async def create(self, data: SessionCreate, user: User) -> Session:
        t = now()
        room = CollabSession(
            host=user.id,
            title=data.title.strip() or "Session",
            max_participants=data.max_participants,
            expires_at=t + data.expires_in_minutes * 60,
            created_at=t,
        )
        async with write_transaction(CollabSession._meta.db):
            await room.save()
            await SessionMember.insert(
                SessionMember(
                    session=room.id, user=user.id, member_key=f"{room.id}:{user.id}", role="host", joined_at=t
                )
            )
        return await self._view(room)

    async def _host_room(self, session_id: uuid.UUID, user: User) -> CollabSession:
        room, member = await self.membership(session_id, user.id)
        if member.role != "host":
            raise Forbidden("Only the host can do that.")
        return room

    async def set_locked(self, session_id: uuid.UUID, user: User, locked: bool) -> Session:
        room = await self._host_room(session_id, user)
        await CollabSession.update({CollabSession.locked: locked}).where(CollabSession.id == room.id)
        room.locked = locked
        return await self._view(room)

    async def invite(self, session_id: uuid.UUID, user: User, data: InviteCreate) -> Invite:
        room = await self._host_room(session_id, user)
        t = now()
        expires_at = min(t + data.expires_in_minutes * 60, room.expires_at)
        if data.handle is None:
            token = new_token()
            row = SessionInvite(
                session=room.id, kind="link", token_hash=token_digest(token), expires_at=expires_at, created_at=t
            )
            await row.save()
            url = f"{self.settings.public_url.rstrip('/')}/session.html?invite={token}"
            return Invite(id=row.id, kind="link", expires_at=expires_at, token=token, url=url)
        invitee = await User.objects().where(User.handle == data.handle.lower()).first()
        if invitee is None:
            raise InvalidInput("No user has that handle.", field="handle")
        row = SessionInvite(session=room.id, kind="handle", invitee=invitee.id, expires_at=expires_at, created_at=t)
        await row.save()
        return Invite(id=row.id, kind="handle", expires_at=expires_at, handle=invitee.handle)

    async def revoke_invite(self, session_id: uuid.UUID, user: User, invite_id: uuid.UUID) -> None:
        room = await self._host_room(session_id, user)
        updated = (
            await SessionInvite.update({SessionInvite.revoked_at: now()})
            .where(SessionInvite.id == invite_id, SessionInvite.session == room.id)
            .returning(SessionInvite.id)
        )
        if not updated:
            raise NotFound("No such invite.")

    async def join_by_link(self, token: str, user: User) -> Session:
        invite = await SessionInvite.objects().where(SessionInvite.token_hash == token_digest(token)).first()
        return await self._join(invite, user, allow_readmit=False)

    async def join_by_handle(self, session_id: uuid.UUID, user: User) -> Session:
        invite = (
            await SessionInvite.objects()
            .where(
                SessionInvite.session == session_id,
                SessionInvite.invitee == user.id,
                SessionInvite.revoked_at.is_null(),
                SessionInvite.expires_at > now(),
            )
            .first()
        )
        # The host named this person: a handle invite also brings back someone removed earlier.
        return await self._join(invite, user, allow_readmit=True)

    async def _join(self, invite: SessionInvite | None, user: User, *, allow_readmit: bool) -> Session:
        t = now()
        if invite is None or invite.revoked_at is not None or invite.expires_at <= t:
            raise Forbidden(BAD_INVITE)
        room = await CollabSession.objects().where(CollabSession.id == invite.session).first()
        if room is None or room.expires_at <= t:
            raise Forbidden(BAD_INVITE)
        async with write_transaction(CollabSession._meta.db):
            await _lock_room(room.id)
            # Read again under the lock: the host may have locked the room a moment ago.
            fresh = await CollabSession.objects().where(CollabSession.id == room.id).first()
            await self._admit(fresh or room, invite, user, allow_readmit=allow_readmit, t=t)
        return await self._view(room)

    async def _admit(
        self, room: CollabSession, invite: SessionInvite, user: User, *, allow_readmit: bool, t: int
    ) -> None:
        """Add ``user`` to ``room`` (inside the caller's transaction) unless a rule forbids it."""
        key = f"{room.id}:{user.id}"
        existing = await SessionMember.objects().where(SessionMember.member_key == key).first()
        if existing is not None and existing.removed_at is None:
            return  # joining twice is harmless
        if room.locked:
            raise Forbidden("The host has locked this session.")
        if existing is not None and not allow_readmit:
            raise Forbidden("The host removed you from this session.")
        count = await SessionMember.count().where(SessionMember.session == room.id, SessionMember.removed_at.is_null())
        if count >= room.max_participants:
            raise Conflict("This session is full.")
        if existing is not None:
            await SessionMember.update({SessionMember.removed_at: None, SessionMember.joined_at: t}).where(
                SessionMember.id == existing.id
            )
        else:
            try:
                await SessionMember.insert(SessionMember(session=room.id, user=user.id, member_key=key, joined_at=t))
            except Exception:  # a concurrent join of the same user won the unique key
                if not await SessionMember.exists().where(SessionMember.member_key == key):
                    raise
        await SessionInvite.update({SessionInvite.uses: SessionInvite.uses + 1}).where(SessionInvite.id == invite.id)

    async def remove(self, session_id: uuid.UUID, user: User, member_id: uuid.UUID) -> None:
        room = await self._host_room(session_id, user)
        if member_id == user.id:
            raise InvalidInput("The host cannot remove themselves.")
        updated = (
            await SessionMember.update({SessionMember.removed_at: now()})
            .where(SessionMember.member_key == f"{room.id}:{member_id}", SessionMember.removed_at.is_null())
            .returning(SessionMember.id)
        )
        if not updated:
            raise NotFound("That person is not in this session.")
        if self.on_kick is not None:
            await self.on_kick(room.id, member_id)

    async def ice(self, session_id: uuid.UUID, user: User) -> IceConfig:
        room, _ = await self.membership(session_id, user.id)
        s = self.settings
        return turn.ice_config(
            stun_urls=_split(s.stun_urls),
            turn_urls=_split(s.turn_urls),
            secret=s.turn_secret,
            user_id=str(user.id),
            now=now(),
            ttl=s.turn_ttl_seconds,
            expires_at=room.expires_at,
        )

    async def ticket(self, session_id: uuid.UUID, user: User) -> Ticket:
        await self.membership(session_id, user.id)
        value = tickets.issue(self.ticket_key, session_id, user.id, user.token_generation)
        return Ticket(ticket=value, expires_in=tickets.TICKET_SECONDS)
