"""This worker's side of every room: one channel subscription per room, not one per socket.

A room's messages (from this worker's sockets and, through the channels backend, from other
workers') arrive here once per worker. The envelope is decoded once and handed only to the
sockets it is for, each through its own outbox, drained by that socket's writer, so a slow
client never holds up the rest of its room. With a subscription per socket every message was
queued, woken for and decoded by each socket of the room, to be thrown away by all but one.

With one process (SQLite: no channels plugin at all) there is no other worker to hear, so
``publish`` hands an envelope straight to its room: no encoding, channel queue and decoding
per message, which was about a third of the relay's CPU.

Every heartbeat (``collab_heartbeat_seconds``) one loop per worker re-checks, with one query for
all of its rooms, which sessions are still live and who is still a member, closes the sockets of
anyone removed (or of an expired session), and pings every socket through its outbox. It walks
the rooms spread over half a heartbeat: a query per room, all rooms at once, stalled relaying
for tens of milliseconds every beat at 500 rooms. Removals are also pushed at once ("kick").
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
# A socket that sent nothing (not even a pong) for three beats, and at least 45 s, is closed.
SILENT_BEATS, MIN_SILENT_SECONDS = 3, 45.0

# (session ids) -> for each session still live, the user ids still members (gone ones absent).
MembersOf = Callable[[list[uuid.UUID]], Awaitable[dict[uuid.UUID, set[uuid.UUID]]]]


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
    async def beat(self, silent_limit: float) -> None: ...


@dataclass
class _Room:
    session_id: uuid.UUID
    members: dict[str, Member] = field(default_factory=dict)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    subscriber: Any = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class Rooms:
    def __init__(self, channels: ChannelsPlugin | None, members_of: MembersOf, heartbeat: float) -> None:
        self.channels = channels  # None with one process (SQLite): envelopes never leave it
        self.members_of = members_of
        self.heartbeat = heartbeat
        self.silent_limit = max(MIN_SILENT_SECONDS, SILENT_BEATS * heartbeat)
        self._rooms: dict[uuid.UUID, _Room] = {}
        self._watcher: asyncio.Task[None] | None = None

    async def enter(self, session_id: uuid.UUID, member: Member) -> None:
        """Add ``member``; returns once this worker hears the room (so a join can be announced)."""
        room = self._rooms.get(session_id)
        if room is None:
            room = self._rooms[session_id] = _Room(session_id)
            room.members[member.peer] = member
            try:
                if self.channels is not None:
                    room.subscriber = await self.channels.subscribe(room_channel(session_id))
                    room.tasks.append(asyncio.create_task(self._dispatch(room)))
            except BaseException:
                del self._rooms[session_id]
                raise
            finally:
                room.ready.set()  # those who came meanwhile go on (or fail) with the first
            if self._watcher is None or self._watcher.done():
                self._watcher = asyncio.create_task(self._watch())
            return
        room.members[member.peer] = member
        await room.ready.wait()
        if self._rooms.get(session_id) is not room:  # the first could not subscribe
            raise ConnectionError("could not subscribe to the room's channel")

    async def leave(self, session_id: uuid.UUID, member: Member) -> None:
        room = self._rooms.get(session_id)
        if room is None or room.members.pop(member.peer, None) is None or room.members:
            return
        del self._rooms[session_id]
        tasks = list(room.tasks)
        if not self._rooms and self._watcher is not None:
            tasks.append(self._watcher)
            self._watcher = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.channels is not None and room.subscriber is not None:
            await self.channels.unsubscribe(room.subscriber)

    async def publish(self, session_id: uuid.UUID, env: m.Envelope) -> None:
        """Send ``env`` to the room's sockets on every worker."""
        if self.channels is not None:
            await self.channels.wait_published(msgspec.json.encode(env), room_channel(session_id))
        elif (room := self._rooms.get(session_id)) is not None:
            await self._deliver(room, env)

    async def _dispatch(self, room: _Room) -> None:
        async for raw in room.subscriber.iter_events():
            try:
                env = m.decode_envelope(raw)
            except msgspec.DecodeError:
                continue
            await self._deliver(room, env)

    async def _deliver(self, room: _Room, env: m.Envelope) -> None:
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

    async def _watch(self) -> None:
        while self._rooms:
            # Half a beat asleep, half a beat walking the rooms: each is visited once per beat.
            await asyncio.sleep(self.heartbeat / 2)
            # Only sockets already in a room when the query starts are judged by its answer: one
            # that entered since may belong to a member the answer does not know yet.
            rooms = [(room, list(room.members.values())) for room in self._rooms.values()]
            try:
                live: dict[uuid.UUID, set[uuid.UUID]] | None = await self.members_of([r.session_id for r, _ in rooms])
            except Exception:
                log.warning("membership check failed; retrying at the next beat", exc_info=True)
                live = None
            pause = self.heartbeat / 2 / len(rooms) if rooms else 0
            for room, members in rooms:
                for member in members:
                    with contextlib.suppress(Exception):
                        if live is not None and uuid.UUID(member.user_id) not in live.get(room.session_id, ()):
                            await member.close(4403, "no longer a member of this session")
                        else:
                            await member.beat(self.silent_limit)
                await asyncio.sleep(pause)
