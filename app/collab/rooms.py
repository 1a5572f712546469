"""This worker's side of every room: one channel subscription per room, not one per socket.

A room's messages (from this worker's sockets and, through the channels backend, from other
workers') arrive here once per worker. The envelope is decoded once and handed only to the
sockets it is for, each through its own outbox, drained by that socket's writer, so a slow
client never holds up the rest of its room. With a subscription per socket every message was
queued, woken for and decoded by each socket of the room, to be thrown away by all but one.

Each room pings its sockets every heartbeat (one loop per room, no timer per socket) and also
re-checks, every heartbeat (``collab_heartbeat_seconds``) with one query for all of this worker's
sockets in it, that the session is still live and who is still a member; sockets of anyone
removed (or of an expired session) are closed. Removals are also pushed at once ("kick").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
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


class Outbox:
    """Messages waiting for one socket's writer: at most OUTBOX_LIMIT, then new ones are dropped.

    A deque and, while the writer waits, one future. An asyncio.Queue keeps three deques and an
    Event per instance, about 2 KiB, which at 10,000 idle sockets is 20 MB for nothing.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[m.Envelope] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def post(self, env: m.Envelope) -> None:
        if len(self._items) < OUTBOX_LIMIT:
            self._items.append(env)
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)

    async def get(self) -> m.Envelope:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class Member(Protocol):
    """What a room needs of a socket (``signaling.Connection``)."""

    peer: str
    user_id: str
    outbox: Outbox

    async def close(self, code: int, reason: str) -> None: ...
    async def beat(self) -> None: ...


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
                    target.outbox.post(env)
            else:
                for member in list(room.members.values()):
                    if member.peer != env.sender:
                        member.outbox.post(env)

    async def _watch(self, room: _Room) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            for member in list(room.members.values()):
                with contextlib.suppress(Exception):
                    await member.beat()
            try:
                still = await self.members_of(room.session_id)
            except Exception:
                log.warning("membership check failed; retrying at the next beat", exc_info=True)
                continue
            for member in list(room.members.values()):
                if still is None or uuid.UUID(member.user_id) not in still:
                    with contextlib.suppress(Exception):
                        await member.close(4403, "no longer a member of this session")
