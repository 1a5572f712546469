"""Index sync that cannot drift: an outbox row per listing change, applied after commit.

``note`` is called inside the transaction that changes a listing, so the row exists exactly
when the change does. ``drain`` applies rows in id order: it re-reads each listing and puts it
in the index if it is published or takes it out otherwise, so duplicates and reordering do not
matter; rows are deleted only after the index accepted the change, so a crash at any point
leaves rows that the next drain applies again. One drain at a time (a database lock) keeps a
slow drainer from writing an older state over a newer one.

With Meilisearch configured, the database engine (which answers while Meilisearch is down)
takes every change first and must succeed; Meilisearch may fail without undoing that. A row
Meilisearch missed is kept, marked for Meilisearch alone, and offered again on later drains
(one is scheduled every cooldown while any is left), so both engines converge.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine import PostgresEngine

from app import jobs
from app.core.db import write_transaction
from app.jobs.queue import now_ms
from app.search import documents
from app.search.backends import FallbackSearch
from app.search.protocol import SearchBackend
from app.search.tables import SearchOutbox

SYNC_JOB = "search.sync"
_LOCK_ID = 7_114_251  # pg advisory lock key for the drain
EVERY, MEILI_ONLY = "", "meili"  # SearchOutbox.target


@asynccontextmanager
async def locked() -> AsyncIterator[None]:
    """A write transaction that no drain runs beside (the reindex writes under it too)."""
    engine: Any = SearchOutbox._meta.db
    # On SQLite the write lock comes first, so drains queue behind each other.
    async with write_transaction(engine):
        if isinstance(engine, PostgresEngine):
            await SearchOutbox.raw("SELECT pg_advisory_xact_lock({})", _LOCK_ID)
        yield


async def note(listing_id: uuid.UUID) -> None:
    """Record that ``listing_id`` changed (call inside the change's transaction)."""
    await note_many([listing_id])


async def note_many(listing_ids: list[uuid.UUID]) -> None:
    """Record that these listings changed: one insert and one job however many they are."""
    if listing_ids:
        t = now_ms()
        await SearchOutbox.insert(*(SearchOutbox(listing=i, created_at_ms=t) for i in listing_ids))
        await jobs.enqueue(SYNC_JOB, {})


async def drain(backend: SearchBackend, batch: int = 200) -> int:
    """Apply every pending row; return how many the database engine (or the only one) took."""
    applied = await _drain_target(backend, EVERY, batch)
    if isinstance(backend, FallbackSearch):
        await _drain_target(backend, MEILI_ONLY, batch)
        if await SearchOutbox.exists().where(SearchOutbox.target == MEILI_ONLY):
            # Nothing else may come to drain again once changes stop: retry after the cooldown.
            await jobs.schedule_every(SYNC_JOB, backend.cooldown)
    return applied


async def _drain_target(backend: SearchBackend, target: str, batch: int) -> int:
    applied, done = 0, batch
    while done == batch:
        done = await _drain_batch(backend, target, batch)
        applied += done
    return applied


async def _drain_batch(backend: SearchBackend, target: str, batch: int) -> int:
    database, primary = (backend.fallback, backend) if isinstance(backend, FallbackSearch) else (backend, None)
    async with locked():
        rows = await (
            SearchOutbox.select(SearchOutbox.id, SearchOutbox.listing)
            .where(SearchOutbox.target == target)
            .order_by(SearchOutbox.id)
            .limit(batch)
        )
        if not rows:
            return 0
        row_ids = [r["id"] for r in rows]
        found = await documents.load(list({r["listing"] for r in rows}))
        docs = [doc for doc in found.values() if doc is not None]
        gone = [doc_id for doc_id, doc in found.items() if doc is None]
        if target == EVERY:
            await database.upsert(docs)
            await database.delete(gone)
        if primary is None or await primary.write_primary(docs, gone):
            await SearchOutbox.delete().where(SearchOutbox.id.is_in(row_ids))
        elif target == EVERY:
            await SearchOutbox.update({SearchOutbox.target: MEILI_ONLY}).where(SearchOutbox.id.is_in(row_ids))
        else:
            return 0  # Meilisearch is still down: its rows wait for the next drain
    return len(rows)


async def lag_seconds() -> float:
    """Age of the oldest change not yet in every index (0 when caught up)."""
    oldest = await SearchOutbox.select(SearchOutbox.created_at_ms).order_by(SearchOutbox.id).first()
    return max(0.0, time.time() - oldest["created_at_ms"] / 1000) if oldest else 0.0


async def pending() -> int:
    return int(await SearchOutbox.count())
