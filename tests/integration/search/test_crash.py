"""A worker that dies mid-way leaves the index converging to the database; reindex rebuilds it.

The in-process job worker is off here, so each test drains the outbox by hand.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from app.core.settings import Settings
from app.search import outbox
from app.search.protocol import SearchBackend, SearchDoc
from tests.integration.search.test_sync import make_creator, make_listing, published_ids
from tests.support import test_settings


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return test_settings(db_url, var_dir, ECHOEL_JOBS_IN_PROCESS="false")


class Crashing:
    """A backend that dies after a number of writes, as a killed worker would."""

    def __init__(self, real: SearchBackend, writes_before_crash: int) -> None:
        self.real, self.left = real, writes_before_crash
        self.name = real.name

    async def upsert(self, docs: list[SearchDoc]) -> None:
        for doc in docs:
            if self.left == 0:
                raise RuntimeError("worker killed")
            self.left -= 1
            await self.real.upsert([doc])

    async def delete(self, ids: list[str]) -> None:
        if self.left == 0:
            raise RuntimeError("worker killed")
        await self.real.delete(ids)


async def test_crash_mid_drain_converges(app: Litestar, client: httpx.AsyncClient) -> None:
    real: SearchBackend = app.state.search.backend
    creator = await make_creator()
    rows = [await make_listing(creator, f"Pack {i}", status="published" if i % 3 else "draft") for i in range(12)]
    await app.state.catalog.set_status(creator, rows[1].id, "archived")
    for crash_after in (0, 3, 5):
        with pytest.raises(RuntimeError):
            await outbox.drain(Crashing(real, crash_after), batch=50)  # type: ignore[arg-type]
    await outbox.drain(real)
    assert await outbox.pending() == 0
    assert await real.ids() == await published_ids()


async def test_reindex_rebuilds_from_the_database(app: Litestar, client: httpx.AsyncClient) -> None:
    real: SearchBackend = app.state.search.backend
    creator = await make_creator()
    for i in range(5):
        await make_listing(creator, f"Drum kit {i}")
    await app.state.search.sync()
    await real.clear()
    seen: list[tuple[int, int]] = []
    count = await app.state.search.reindex(lambda done, total: seen.append((done, total)))
    assert count == 5
    assert seen[-1] == (5, 5)
    assert await real.ids() == await published_ids()
