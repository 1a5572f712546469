"""The queue's SQL: enqueue, atomic claim, lease renewal, finish, fail, sweep and stats.

Every function runs against the engine the ``Job`` table is bound to, so inside a caller's
``engine.transaction()`` an ``enqueue`` commits or rolls back with the caller's own writes.
"""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec
from piccolo.engine import PostgresEngine
from piccolo.querystring import QueryString

from app.jobs.tables import Job


class ClaimedJob(msgspec.Struct, frozen=True):
    """A job a worker holds the lease of."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    run_at_ms: int


class QueueStats(msgspec.Struct, frozen=True):
    """Queue depth and lag, for health pages and metrics."""

    ready: int  # due now and not running
    scheduled: int  # waiting for their run_at (new or backing off)
    running: int  # leased by a live worker
    dead: int
    # Seconds the oldest due job has waited past its run_at (0 when none is waiting).
    lag_seconds: float


# PostgreSQL: the channel an enqueue notifies, so idle workers elsewhere claim without a poll delay.
NOTIFY_CHANNEL = "echoel_jobs"


def now_ms() -> int:
    return int(time.time() * 1000)


async def enqueue(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at_ms: int | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
) -> int:
    """Add a job and return its id; with ``dedupe_key`` an existing job of that key is returned."""
    now = now_ms()
    row = Job(
        kind=kind,
        payload=json.dumps(payload or {}),
        run_at_ms=now if run_at_ms is None else run_at_ms,
        max_attempts=max_attempts,
        dedupe_key=dedupe_key,
        created_at_ms=now,
    )
    # DO NOTHING rather than catching the unique violation: on PostgreSQL a failed statement
    # would abort the caller's whole transaction.
    inserted = await Job.insert(row).on_conflict(target=Job.dedupe_key, action="DO NOTHING").returning(Job.id)
    if inserted:
        if isinstance(Job._meta.db, PostgresEngine):
            # Delivered at commit (or never, on rollback): wakes workers in other processes.
            await Job.raw("SELECT pg_notify({}, {})", NOTIFY_CHANNEL, kind)
        return int(inserted[0]["id"])
    existing = await Job.select(Job.id).where(Job.dedupe_key == dedupe_key).first()
    assert existing is not None  # the conflict that skipped our insert was this row
    return int(existing["id"])


# Two splices only: one placeholder per kind (the kinds travel as parameters) and the lock clause.
_CLAIM = (
    "UPDATE jobs SET locked_by = {}, locked_until_ms = {}, attempts = attempts + 1 "
    "WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at_ms <= {} "
    "AND (locked_until_ms IS NULL OR locked_until_ms < {}) AND attempts < max_attempts "
    "AND kind IN (@KINDS@) ORDER BY run_at_ms, id LIMIT 1 @LOCK@) "
    # Checked again on the row itself: the subquery's snapshot may be older than the update.
    "AND status = 'queued' AND (locked_until_ms IS NULL OR locked_until_ms < {}) "
    "RETURNING id, kind, payload, attempts, max_attempts, run_at_ms"
)


_DUE = (
    "SELECT 1 FROM jobs WHERE status = 'queued' AND run_at_ms <= {} "
    "AND (locked_until_ms IS NULL OR locked_until_ms < {}) AND attempts < max_attempts "
    "AND kind IN (@KINDS@) LIMIT 1"
)


def _claim_sql(kinds: list[str], lock: str) -> str:
    return _CLAIM.replace("@KINDS@", ", ".join("{}" for _ in kinds)).replace("@LOCK@", lock)


async def claim(worker_id: str, kinds: list[str], lease_ms: int) -> ClaimedJob | None:
    """Take the lease of the oldest due job of ``kinds``, atomically; None when none is due."""
    if not kinds:
        return None
    engine = Job._meta.db
    now = now_ms()
    args = [worker_id, now + lease_ms, now, now, *kinds, now]
    if isinstance(engine, PostgresEngine):
        # SKIP LOCKED: concurrent workers pass over a row another claim is taking right now.
        rows = await engine.run_querystring(QueryString(_claim_sql(kinds, "FOR UPDATE SKIP LOCKED"), *args))
    else:
        # A plain read first (no lock in WAL mode): an idle poll then never takes the write lock.
        probe = _DUE.replace("@KINDS@", ", ".join("{}" for _ in kinds))
        if not await engine.run_querystring(QueryString(probe, now, now, *kinds)):
            return None
        # One UPDATE ... RETURNING takes SQLite's write lock as it starts, so no two claims
        # interleave; as one statement it holds the lock for no await of ours (and, as a write,
        # it queues with this process's other writers).
        rows = await engine.run_querystring(QueryString(_claim_sql(kinds, ""), *args))
    if not rows:
        return None
    row = dict(rows[0])
    if isinstance(row["payload"], str):
        row["payload"] = json.loads(row["payload"])
    return msgspec.convert(row, ClaimedJob)


async def _update(sql: str, *args: Any) -> bool:
    rows = await Job._meta.db.run_querystring(QueryString(sql + " RETURNING id", *args))
    return bool(rows)


async def renew(job_id: int, worker_id: str, lease_ms: int) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and another worker took it)."""
    return await _update(
        "UPDATE jobs SET locked_until_ms = {} WHERE id = {} AND locked_by = {} AND status = 'queued'",
        now_ms() + lease_ms,
        job_id,
        worker_id,
    )


async def finish(job_id: int, worker_id: str) -> bool:
    return await _update(
        "UPDATE jobs SET status = 'done', done_at_ms = {}, locked_by = NULL, locked_until_ms = NULL "
        "WHERE id = {} AND locked_by = {} AND status = 'queued'",
        now_ms(),
        job_id,
        worker_id,
    )


async def retry_later(job_id: int, worker_id: str, delay_ms: int, error: str) -> bool:
    return await _update(
        "UPDATE jobs SET run_at_ms = {}, last_error = {}, locked_by = NULL, locked_until_ms = NULL "
        "WHERE id = {} AND locked_by = {} AND status = 'queued'",
        now_ms() + delay_ms,
        error,
        job_id,
        worker_id,
    )


async def bury(job_id: int, worker_id: str, error: str) -> bool:
    """Give up on a job: dead, with the error that killed it kept for the operator."""
    return await _update(
        "UPDATE jobs SET status = 'dead', done_at_ms = {}, last_error = {}, locked_by = NULL, "
        "locked_until_ms = NULL WHERE id = {} AND locked_by = {} AND status = 'queued'",
        now_ms(),
        error,
        job_id,
        worker_id,
    )


async def sweep() -> int:
    """Mark dead the jobs whose worker vanished on their last attempt (no attempt left to claim)."""
    now = now_ms()
    rows = await Job._meta.db.run_querystring(
        QueryString(
            "UPDATE jobs SET status = 'dead', done_at_ms = {}, locked_by = NULL, locked_until_ms = NULL, "
            "last_error = CASE WHEN last_error = '' THEN 'worker lost while running the last attempt' "
            "ELSE last_error END "
            "WHERE status = 'queued' AND attempts >= max_attempts AND locked_until_ms < {} RETURNING id",
            now,
            now,
        )
    )
    return len(rows)


async def stats() -> QueueStats:
    """Queue depth by state and the lag of the oldest due job."""
    now = now_ms()
    rows = await Job._meta.db.run_querystring(
        QueryString(
            "SELECT "
            "SUM(CASE WHEN status = 'queued' AND run_at_ms <= {} AND "
            "(locked_until_ms IS NULL OR locked_until_ms < {}) THEN 1 ELSE 0 END) AS ready, "
            "SUM(CASE WHEN status = 'queued' AND run_at_ms > {} AND locked_until_ms IS NULL "
            "THEN 1 ELSE 0 END) AS scheduled, "
            "SUM(CASE WHEN status = 'queued' AND locked_until_ms >= {} THEN 1 ELSE 0 END) AS running, "
            "SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead, "
            "MIN(CASE WHEN status = 'queued' AND run_at_ms <= {} AND "
            "(locked_until_ms IS NULL OR locked_until_ms < {}) THEN run_at_ms END) AS oldest "
            "FROM jobs",
            *([now] * 6),
        )
    )
    row = rows[0]
    oldest = row["oldest"]
    return QueueStats(
        ready=int(row["ready"] or 0),
        scheduled=int(row["scheduled"] or 0),
        running=int(row["running"] or 0),
        dead=int(row["dead"] or 0),
        lag_seconds=max(0.0, (now - int(oldest)) / 1000) if oldest is not None else 0.0,
    )
