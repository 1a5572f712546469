"""Signaling across two app worker processes on PostgreSQL (LISTEN/NOTIFY through Litestar channels).

Sockets land on either worker as the kernel hands out connections; with many pairs, most rooms
span both workers, so a message that only reached its own worker would be missed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_database
from tests.integration.collab.live import LIVE_ENV, new_room, new_user, next_of, signal_in
from tests.services.postgres import PostgresServer
from tests.support import LiveApp, test_env

ROOMS = 12


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
