"""A worker that dies mid-way leaves the index converging to the database; reindex rebuilds it.

The in-process job worker is off here, so each test drains the outbox by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from app.core.settings import Settings
from app.search import documents, outbox
from app.search.protocol import SearchBackend, SearchDoc
from tests.integration.search.test_sync import make_creator, make_listing, publish, published_ids
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


async def test_reindex_racing_the_drain_ends_equal_to_the_database(
    app: Litestar, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    search = app.state.search
    creator = await make_creator()
    listed = [await make_listing(creator, f"Synth pad {i}") for i in range(6)]
    # The smallest id: its page is long gone when it is published mid-rebuild.
    early = await make_listing(creator, "Early bird", status="draft", id=uuid.UUID(int=1))
    await search.sync()
    pages = documents.published_ids
    seen = 0

    async def interleaved(batch: int = 500) -> AsyncIterator[list[uuid.UUID]]:
        nonlocal seen
        async for page in pages(batch=2):
            seen += 1
            if seen == 2:
                # After this page was read and before the rebuild writes it, the drain applies
                # a publish (of a listing below every page) and an unpublish (of one in this page).
                await publish(early.id)
                await app.state.catalog.set_status(creator, page[0], "unlisted")
                await search.sync()
            yield page

    monkeypatch.setattr(documents, "published_ids", interleaved)
    await search.reindex()
    assert seen >= 3
    assert await outbox.pending() == 0
    expected = await published_ids()
    assert str(early.id) in expected and len(expected) == len(listed)
    assert await search.backend.ids() == expected
