"""Index sync that cannot drift: an outbox row per listing change, applied after commit.

``note`` is called inside the transaction that changes a listing, so the row exists exactly
when the change does. ``drain`` applies rows in id order: it re-reads each listing and puts it
in the index if it is published or takes it out otherwise, so duplicates and reordering do not
matter; rows are deleted only after the index accepted the change, so a crash at any point
leaves rows that the next drain applies again. One drain at a time (a database lock) keeps a
slow drainer from writing an older state over a newer one.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from piccolo.engine import PostgresEngine

from app import jobs
from app.core.db import write_transaction
from app.jobs.queue import now_ms
from app.search import documents
from app.search.protocol import SearchBackend
from app.search.tables import SearchOutbox

SYNC_JOB = "search.sync"
_LOCK_ID = 7_114_251  # pg advisory lock key for the drain


async def note(listing_id: uuid.UUID) -> None:
    """Record that ``listing_id`` changed (call inside the change's transaction)."""
    await SearchOutbox.insert(SearchOutbox(listing=listing_id, created_at_ms=now_ms()))
    await jobs.enqueue(SYNC_JOB, {})


async def drain(backend: SearchBackend, batch: int = 200) -> int:
    """Apply every pending row; return how many were applied."""
    applied, done = 0, batch
    while done == batch:
        done = await _drain_batch(backend, batch)
        applied += done
    return applied


async def _drain_batch(backend: SearchBackend, batch: int) -> int:
    engine: Any = SearchOutbox._meta.db
    # On SQLite the write lock comes first, so drains queue behind each other.
    async with write_transaction(engine):
        if isinstance(engine, PostgresEngine):
            await SearchOutbox.raw("SELECT pg_advisory_xact_lock({})", _LOCK_ID)
        rows = await SearchOutbox.select(SearchOutbox.id, SearchOutbox.listing).order_by(SearchOutbox.id).limit(batch)
        if not rows:
            return 0
        found = await documents.load(list({r["listing"] for r in rows}))
        await backend.upsert([doc for doc in found.values() if doc is not None])
        await backend.delete([doc_id for doc_id, doc in found.items() if doc is None])
        await SearchOutbox.delete().where(SearchOutbox.id.is_in([r["id"] for r in rows]))
    return len(rows)


async def lag_seconds() -> float:
    """Age of the oldest change not yet in the index (0 when caught up)."""
    oldest = await SearchOutbox.select(SearchOutbox.created_at_ms).order_by(SearchOutbox.id).first()
    return max(0.0, time.time() - oldest["created_at_ms"] / 1000) if oldest else 0.0


async def pending() -> int:
    return int(await SearchOutbox.count())
