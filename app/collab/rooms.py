"""This worker's side of every room: one channel subscription per room, not one per socket.

A room's messages (from this worker's sockets and, through the channels backend, from other
workers') arrive here once per worker. The envelope is decoded once and handed only to the
sockets it is for, each through its own outbox, drained by that socket's writer, so a slow
client never holds up the rest of its room. With a subscription per socket every message was
queued, woken for and decoded by each socket of the room, to be thrown away by all but one.

Each room also re-checks, every heartbeat (``collab_heartbeat_seconds``) with one query for all of this worker's
sockets in it, that the session is still live and who is still a member; sockets of anyone
removed (or of an expired session) are closed. Removals are also pushed at once ("kick").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
from litestar.channels import ChannelsPlugin

from app.collab import messages as m
from app.collab.channels import room_channel

log = logging.getLogger("echoel.collab.rooms")

# Messages a socket may have waiting; beyond that, new ones are dropped for that socket only.
OUTBOX_LIMIT = 1000

# (session id) -> the user ids still members of a live session, or None when it is gone.
MembersOf = Callable[[uuid.UUID], Awaitable[set[uuid.UUID] | None]]


class Member(Protocol):
    """What a room needs of a socket (``signaling.Connection``)."""

    peer: str
    user_id: str
    outbox: asyncio.Queue[m.Envelope]

    async def close(self, code: int, reason: str) -> None: ...


@dataclass
class _Room:
    session_id: uuid.UUID
    members: dict[str, Member] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    subscriber: Any = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Rooms:
    def __init__(self, channels: ChannelsPlugin, members_of: MembersOf, heartbeat: float) -> None:
        self.channels = channels
        self.members_of = members_of
        self.heartbeat = heartbeat
        self._rooms: dict[uuid.UUID, _Room] = {}

    async def enter(self, session_id: uuid.UUID, member: Member) -> None:
        """Add ``member``; returns once this worker hears the room (so a join can be announced)."""
        room = self._rooms.get(session_id)
        if room is None:
            room = self._rooms[session_id] = _Room(session_id)
            room.members[member.peer] = member
            try:
                room.subscriber = await self.channels.subscribe(room_channel(session_id))
            except BaseException:
                del self._rooms[session_id]
                raise
            finally:
                room.ready.set()  # those who came meanwhile go on (or fail) with the first
            room.tasks = [asyncio.create_task(self._dispatch(room)), asyncio.create_task(self._watch(room))]
            return
        room.members[member.peer] = member
        await room.ready.wait()
        if room.subscriber is None:
            room.members.pop(member.peer, None)
            raise ConnectionError("could not subscribe to the room's channel")

    async def leave(self, session_id: uuid.UUID, member: Member) -> None:
        room = self._rooms.get(session_id)
        if room is None or room.members.pop(member.peer, None) is None or room.members:
            return
        del self._rooms[session_id]
        for task in room.tasks:
            task.cancel()
        await asyncio.gather(*room.tasks, return_exceptions=True)
        if room.subscriber is not None:
            await self.channels.unsubscribe(room.subscriber)

    async def _dispatch(self, room: _Room) -> None:
        async for raw in room.subscriber.iter_events():
            try:
                env = m.decode_envelope(raw)
            except msgspec.DecodeError:
                continue
            if env.kind == "kick":
                for member in [x for x in room.members.values() if x.user_id == env.user_id]:
                    await member.close(4403, "removed from the session")
            elif env.to:
                target = room.members.get(env.to)
                if target is not None and target.peer != env.sender:
                    _post(target, env)
            else:
                for member in list(room.members.values()):
                    if member.peer != env.sender:
                        _post(member, env)

    async def _watch(self, room: _Room) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                still = await self.members_of(room.session_id)
            except Exception:
                log.warning("membership check failed; retrying at the next beat", exc_info=True)
                continue
            for member in list(room.members.values()):
                if still is None or uuid.UUID(member.user_id) not in still:
                    with contextlib.suppress(Exception):
                        await member.close(4403, "no longer a member of this session")


def _post(member: Member, env: m.Envelope) -> None:
    if member.outbox.qsize() < OUTBOX_LIMIT:
        member.outbox.put_nowait(env)
