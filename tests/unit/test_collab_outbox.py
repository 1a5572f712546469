"""A socket's outbox: first in, first out, bounded, and its writer wakes when a message comes."""

from __future__ import annotations

import asyncio

from app.collab import messages as m
from app.collab.rooms import OUTBOX_LIMIT, Outbox


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
