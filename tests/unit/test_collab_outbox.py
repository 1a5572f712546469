"""A socket's outbox (first in, first out, bounded, wakes its writer), the rooms' heartbeat loop,
and which deployments fan out between workers."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from litestar.channels import ChannelsPlugin

from app.collab import messages as m
from app.collab.channels import ChunkingAsyncPgBackend, make_channels
from app.collab.rooms import MIN_SILENT_SECONDS, OUTBOX_LIMIT, Outbox, Rooms
from tests.support import test_settings


def env(n: int) -> m.Envelope:
    return m.Envelope(kind="msg", sender=str(n), user_id="", to="")


async def test_a_waiting_writer_wakes_and_order_is_kept() -> None:
    box = Outbox()
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    assert not reader.done()
    box.post(env(1))
    box.post(env(2))
    assert (await asyncio.wait_for(reader, 1)).sender == "1"
    assert (await box.get()).sender == "2"


async def test_a_full_outbox_drops_new_messages_for_that_socket_only() -> None:
    slow, other = Outbox(), Outbox()
    for n in range(OUTBOX_LIMIT + 5):
        slow.post(env(n))
    other.post(env(-1))
    got = [(await slow.get()).sender for _ in range(OUTBOX_LIMIT)]
    assert got == [str(n) for n in range(OUTBOX_LIMIT)]
    assert (await other.get()).sender == "-1"
    # Nothing beyond the limit was kept: the next get waits.
    late = asyncio.create_task(slow.get())
    await asyncio.sleep(0.01)
    assert not late.done()
    late.cancel()


class Sock:
    def __init__(self, user_id: uuid.UUID) -> None:
        self.peer, self.user_id, self.outbox = uuid.uuid4().hex, str(user_id), Outbox()
        self.beats: list[float] = []
        self.closed: int | None = None

    async def close(self, code: int, reason: str) -> None:
        self.closed = code

    async def beat(self, silent_limit: float) -> None:
        self.beats.append(silent_limit)


async def test_one_loop_beats_members_and_closes_the_removed() -> None:
    session, kept, removed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    asked: list[list[uuid.UUID]] = []

    async def members_of(ids: list[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
        asked.append(ids)
        return {session: {kept}}

    rooms = Rooms(None, members_of, heartbeat=0.05)
    stay, go = Sock(kept), Sock(removed)
    await rooms.enter(session, stay)
    await rooms.enter(session, go)
    await asyncio.sleep(0.2)
    assert len(stay.beats) >= 2 and stay.closed is None
    assert stay.beats[0] == MIN_SILENT_SECONDS  # three 0.05 s beats is less than the floor
    assert go.closed == 4403 and not go.beats
    assert all(ids == [session] for ids in asked)  # one query per beat for all rooms
    await rooms.leave(session, stay)
    await rooms.leave(session, go)


def test_only_several_workers_get_a_channels_plugin(tmp_path: Path) -> None:
    """SQLite runs one process, whose rooms deliver within it; PostgreSQL workers need LISTEN/NOTIFY."""
    sqlite = test_settings(f"sqlite:///{tmp_path / 'one.db'}", tmp_path / "var")
    postgres = test_settings("postgresql://echoel@127.0.0.1:1/echoel", tmp_path / "var")
    assert make_channels(sqlite) is None
    plugin = make_channels(postgres)
    assert isinstance(plugin, ChannelsPlugin) and isinstance(plugin._backend, ChunkingAsyncPgBackend)
