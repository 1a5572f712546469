"""Signaling across two app worker processes on PostgreSQL (LISTEN/NOTIFY through Litestar channels).

Sockets land on either worker as the kernel hands out connections; with many pairs, most rooms
span both workers, so a message that only reached its own worker would be missed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_database
from tests.integration.collab.live import LIVE_ENV, close_of, new_room, new_user, next_of, signal_in
from tests.services.postgres import PostgresServer
from tests.support import LiveApp, test_env

ROOMS = 12
SOCKETS_PER_MEMBER = 8


@pytest.fixture(scope="module")
def two_workers(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    folder: Path = tmp_path_factory.mktemp("workers")
    url = new_database("postgres", postgres, folder)
    with LiveApp(test_env(url, folder / "var", **LIVE_ENV), workers=2) as app:
        yield app


@pytest.mark.asyncio
async def test_every_message_arrives_across_workers(two_workers: LiveApp) -> None:
    base = two_workers.url
    users = [await new_user(base) for _ in range(ROOMS * 2)]
    rooms = [await new_room(base, users[2 * i], [users[2 * i + 1]]) for i in range(ROOMS)]
    pairs = []
    for i, room in enumerate(rooms):
        a, pa = await signal_in(base, room, users[2 * i])
        b, pb = await signal_in(base, room, users[2 * i + 1])
        pairs.append((a, pa, b, pb))

    async def exchange(a: object, pa: str, b: object, pb: str, tag: int) -> None:
        assert (await next_of(a, "join"))["from"] == pb
        assert (await next_of(b, "presence"))["from"] == pa
        for n in range(20):
            await a.send(json.dumps({"type": "offer", "to": pb, "sdp": f"{tag}-{n}"}))  # type: ignore[attr-defined]
            await b.send(json.dumps({"type": "chat", "text": f"{tag}-{n}"}))  # type: ignore[attr-defined]
        offers = [(await next_of(b, "offer"))["sdp"] for _ in range(20)]
        chats = [(await next_of(a, "chat"))["text"] for _ in range(20)]
        # Every message, in order, and nothing from another room.
        assert offers == [f"{tag}-{n}" for n in range(20)]
        assert chats == [f"{tag}-{n}" for n in range(20)]

    await asyncio.gather(*(exchange(a, pa, b, pb, i) for i, (a, pa, b, pb) in enumerate(pairs)))
    for a, _, b, _ in pairs:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_removal_closes_sockets_on_both_workers(two_workers: LiveApp) -> None:
    """The DELETE lands on one worker; the removed member's sockets, spread over both, all close.

    The close reason tells the pushed kick ("removed from the session") from the heartbeat's
    re-check ("no longer a member …"): the kick must reach the other worker through the channels
    backend, within the second before that worker's own re-check would catch it.
    """
    base = two_workers.url
    host, guest = await new_user(base), await new_user(base)
    room = await new_room(base, host, [guest])
    # Eight connections: the kernel hands them to either worker, so both hold some.
    sockets = [(await signal_in(base, room, guest))[0] for _ in range(SOCKETS_PER_MEMBER)]
    stay, _ = await signal_in(base, room, host)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.delete(f"/api/v1/sessions/{room}/members/{guest['id']}", headers=host["headers"])
        assert r.status_code == 204, r.text

    closes = await asyncio.gather(*(close_of(ws, 15) for ws in sockets))
    assert closes == [(4403, "removed from the session")] * SOCKETS_PER_MEMBER
    # The host's socket is untouched.
    await stay.send(json.dumps({"type": "ping", "t": 3.0}))
    assert (await next_of(stay, "pong"))["t"] == 3.0
    await stay.close()
