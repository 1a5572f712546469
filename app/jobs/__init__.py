"""Durable background jobs on the app's own database (SQLite or PostgreSQL), across processes.

Why our own queue: none of the well-kept Python queues stores jobs in both SQLite and
PostgreSQL with async handlers. procrastinate is PostgreSQL-only (psycopg); arq and saq need
Redis (saq's other backend is PostgreSQL only); huey has SQLite and PostgreSQL storages but runs
synchronous handlers, pops messages without a lease (a killed consumer loses its task) and
cannot enqueue inside our Piccolo transaction. A job table and a worker, about 600 lines here,
give us what the issue needs: enqueue in the caller's transaction (the job exists iff the
caller's writes do), atomic claims (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite), leases renewed while a job runs so a crashed worker's job runs again
once its lease expires, exponential backoff with jitter, and dead jobs that keep their last
error.

Delivery is at least once: a handler must be idempotent (key its outputs by the job's inputs).

Use::

    @register("catalog.thumbnail", max_attempts=3)
    async def thumbnail(job: JobContext) -> None: ...

    await enqueue("catalog.thumbnail", {"file_id": 7}, dedupe_key="thumb:7")
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from app.core.settings import Settings
from app.jobs import queue
from app.jobs.queue import QueueStats, stats
from app.jobs.registry import JobContext, PermanentError, load_handler_modules, register, registry
from app.jobs.worker import Worker, wake_local_workers

__all__ = [
    "InProcessWorker",
    "JobContext",
    "PermanentError",
    "QueueStats",
    "Worker",
    "configure",
    "enqueue",
    "register",
    "schedule_every",
    "stats",
]

_default_max_attempts = 5


def configure(settings: Settings) -> None:
    """Apply the settings every enqueue uses (called once by the app factory).

    Loads every handler module too: a web process that runs no worker still enqueues, and each
    kind's own retry limit is known only once its module has registered it.
    """
    global _default_max_attempts  # noqa: PLW0603 - one process-wide default, set at start-up
    _default_max_attempts = settings.jobs_max_attempts
    load_handler_modules()


async def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
) -> int:
    """Queue a job (in the caller's transaction, if one is open) and return its id.

    ``payload`` must be JSON-serialisable. With ``dedupe_key``, a second enqueue of the same key
    returns the first job's id instead of adding another.
    """
    if max_attempts is None:
        registered = registry.kinds.get(kind)
        max_attempts = (registered.max_attempts if registered else None) or _default_max_attempts
    run_at_ms = int(run_at.timestamp() * 1000) if run_at is not None else None
    job_id = await queue.enqueue(kind, payload, run_at_ms=run_at_ms, dedupe_key=dedupe_key, max_attempts=max_attempts)
    wake_local_workers()
    return job_id


async def schedule_every(kind: str, seconds: float, payload: dict[str, Any] | None = None, after_slot: int = 0) -> int:
    """Queue ``kind`` at the start of the next wall-clock slot of ``seconds``; its job id.

    Slot n starts at n * seconds since the epoch and the dedupe key names it, so however many
    processes ask, each slot runs once. A periodic handler ends by calling this again with
    ``after_slot=job.payload["slot"]``; start-up calls it too, so a broken chain mends itself.
    """
    slot = max(int(time.time() // seconds), after_slot) + 1
    return await enqueue(
        kind,
        {**(payload or {}), "slot": slot},
        run_at=datetime.fromtimestamp(slot * seconds, UTC),
        dedupe_key=f"{kind}:{seconds:g}:{slot}",
    )


class InProcessWorker:
    """The app's start-up/shut-down hooks for a worker inside the web process (when enabled)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state: Any = None  # the app's state, set by the factory once the app exists
        self.worker: Worker | None = None

    async def start(self) -> None:
        if not self.settings.jobs_in_process:
            return
        self.worker = Worker.from_settings(self.settings, state=self.state)
        self.worker.start()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
            self.worker = None
