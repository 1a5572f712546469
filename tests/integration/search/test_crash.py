"""A worker that dies mid-way leaves the index converging to the database; reindex rebuilds it.

The in-process job worker is off here, so each test drains the outbox by hand.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from app.catalog.tables import Listing
from app.core.settings import Settings
from app.search import documents, outbox
from app.search.protocol import SearchBackend, SearchDoc
from tests.integration.search.test_sync import make_creator, make_listing, publish, published_ids
from tests.services.binaries import REPO_ROOT
from tests.support import test_env, test_settings

# A short lease, so a job held by a killed worker is taken up again within the test's wait.
WORKER_ENV = {"ECHOEL_JOBS_IN_PROCESS": "false", "ECHOEL_JOBS_LEASE_SECONDS": "2", "ECHOEL_JOBS_POLL_SECONDS": "0.2"}


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return test_settings(db_url, var_dir, **WORKER_ENV)


def start_worker(db_url: str, var_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env={**env, **test_env(db_url, var_dir, **WORKER_ENV)},
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


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


async def test_a_worker_process_killed_mid_drain_converges(
    app: Litestar, client: httpx.AsyncClient, db_url: str, var_dir: Path
) -> None:
    """The real thing: `echoel worker` gets SIGKILL while it applies the outbox, then starts again."""
    real: SearchBackend = app.state.search.backend
    await real.clear()  # documents of listings an earlier test made (and its clean-up deleted)
    creator = await make_creator()
    t = int(time.time())
    async with Listing._meta.db.transaction():
        for i in range(1_200):
            listing = Listing(
                creator=creator.id,
                slug=uuid.uuid4().hex[:12],
                kind="preset_bank",
                title=f"Crash Pack {i}",
                status="published" if i % 4 else "draft",
                created_at=t,
                updated_at=t,
                published_at=t,
            )
            await listing.save()
            await outbox.note(listing.id)
    expected = await published_ids()
    worker = start_worker(db_url, var_dir)
    try:
        deadline = time.monotonic() + 60
        while not await real.ids():  # the first batch is in: the worker is mid-way
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never applied a batch"
            await asyncio.sleep(0.002)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        done = await real.ids()
        assert 0 < len(done) < len(expected) and await outbox.pending() > 0, "the kill came after the drain"
    finally:
        worker.kill()
    worker = start_worker(db_url, var_dir)
    try:
        for _ in range(300):  # a minute
            if not await outbox.pending():
                break
            await asyncio.sleep(0.2)
        assert await outbox.pending() == 0
        indexed = await real.ids()
        assert indexed == expected, f"missing {len(expected - indexed)}, extra {len(indexed - expected)}"
    finally:
        worker.terminate()
        worker.wait(20)


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
