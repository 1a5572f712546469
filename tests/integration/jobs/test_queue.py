"""The job queue on SQLite and PostgreSQL: run, dedupe, transactions, backoff, dead jobs, stats."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from piccolo.engine import Engine

from app import jobs
from app.jobs import queue
from app.jobs.registry import JobContext, PermanentError, Registry
from app.jobs.tables import Job
from app.jobs.worker import Worker

pytestmark = pytest.mark.usefixtures("queue_db")


async def row(job_id: int) -> dict[str, Any]:
    found = await Job.select().where(Job.id == job_id).first()
    assert found is not None
    return found


async def test_enqueued_job_runs_once_with_its_payload() -> None:
    registry, seen = Registry(), []

    @registry.register("test.echo")
    async def echo(job: JobContext) -> None:
        seen.append((job.id, job.payload, job.attempt))

    job_id = await jobs.enqueue("test.echo", {"file": "a.wav", "n": [1, 2]})
    worker = Worker(registry=registry)
    assert await worker.run_once()
    assert not await worker.run_once()
    assert seen == [(job_id, {"file": "a.wav", "n": [1, 2]}, 1)]
    done = await row(job_id)
    assert done["status"] == "done"
    assert done["locked_by"] is None
    assert done["done_at_ms"] is not None


async def test_worker_claims_only_kinds_it_knows() -> None:
    await jobs.enqueue("test.someone-else")
    assert not await Worker(registry=Registry()).run_once()
    assert (await queue.stats()).ready == 1


async def test_dedupe_key_makes_one_job() -> None:
    first = await jobs.enqueue("test.echo", {"v": 1}, dedupe_key="thumb:42")
    second = await jobs.enqueue("test.echo", {"v": 2}, dedupe_key="thumb:42")
    assert first == second
    assert await Job.count() == 1


async def test_enqueue_belongs_to_the_callers_transaction(queue_db: Engine[Any]) -> None:
    class Rollback(Exception):
        pass

    async def enqueue_then_fail() -> None:
        async with queue_db.transaction():
            await jobs.enqueue("test.echo", {"v": 1})
            # a dedupe conflict inside the transaction must not abort it either (PostgreSQL)
            await jobs.enqueue("test.echo", {"v": 1}, dedupe_key="k")
            await jobs.enqueue("test.echo", {"v": 1}, dedupe_key="k")
            raise Rollback

    with pytest.raises(Rollback):
        await enqueue_then_fail()
    assert await Job.count() == 0
    async with queue_db.transaction():
        await jobs.enqueue("test.echo", {"v": 2}, dedupe_key="k")
        await jobs.enqueue("test.echo", {"v": 2}, dedupe_key="k")
    assert await Job.count() == 1


async def test_a_future_job_waits_for_its_time() -> None:
    from datetime import UTC, datetime, timedelta

    registry = Registry()
    registry.register("test.echo")(_noop)
    job_id = await jobs.enqueue("test.echo", run_at=datetime.now(UTC) + timedelta(hours=1))
    assert not await Worker(registry=registry).run_once()
    assert (await queue.stats()).scheduled == 1
    assert (await row(job_id))["attempts"] == 0


async def _noop(job: JobContext) -> None:
    return None


async def test_failure_retries_with_growing_backoff_then_succeeds() -> None:
    registry, attempts = Registry(), []

    @registry.register("test.flaky", backoff_seconds=0.3)
    async def flaky(job: JobContext) -> None:
        attempts.append(job.attempt)
        if job.attempt < 3:
            raise RuntimeError(f"store unreachable (attempt {job.attempt})")

    job_id = await jobs.enqueue("test.flaky", max_attempts=5)
    worker = Worker(registry=registry)
    delays = []
    for _ in range(2):
        before = queue.now_ms()
        assert await worker.run_once()
        waiting = await row(job_id)
        assert waiting["status"] == "queued"
        assert "store unreachable" in waiting["last_error"]
        delay = waiting["run_at_ms"] - before
        delays.append(delay)
        # Backing off: not claimable until its run_at.
        assert not await worker.run_once()
        await asyncio.sleep(max(0, waiting["run_at_ms"] - queue.now_ms()) / 1000 + 0.02)
    # Jittered between half and all of 0.3 s, then of 0.6 s.
    assert 150 <= delays[0] <= 320
    assert 300 <= delays[1] <= 620
    assert await worker.run_once()
    done = await row(job_id)
    assert done["status"] == "done"
    assert done["attempts"] == 3
    assert attempts == [1, 2, 3]


async def test_a_job_dies_after_max_attempts_keeping_its_error() -> None:
    registry = Registry()

    @registry.register("test.broken", backoff_seconds=0.01)
    async def broken(job: JobContext) -> None:
        raise ValueError(f"cannot decode header (attempt {job.attempt})")

    job_id = await jobs.enqueue("test.broken", max_attempts=3)
    worker = Worker(registry=registry)
    runs = 0
    while (await row(job_id))["status"] == "queued":
        runs += await worker.run_once()
        await asyncio.sleep(0.02)
    dead = await row(job_id)
    assert (dead["status"], dead["attempts"], runs) == ("dead", 3, 3)
    assert "ValueError: cannot decode header (attempt 3)" in dead["last_error"]
    assert (await queue.stats()).dead == 1
    assert not await worker.run_once()


async def test_permanent_error_dies_at_once() -> None:
    registry = Registry()

    @registry.register("test.corrupt")
    async def corrupt(job: JobContext) -> None:
        raise PermanentError("not a PNG: the file is corrupt")

    job_id = await jobs.enqueue("test.corrupt", max_attempts=5)
    assert await Worker(registry=registry).run_once()
    dead = await row(job_id)
    assert (dead["status"], dead["attempts"]) == ("dead", 1)
    assert "not a PNG" in dead["last_error"]


async def test_stats_report_depth_and_lag() -> None:
    from datetime import UTC, datetime, timedelta

    old = await jobs.enqueue("test.echo")
    await Job.update({Job.run_at_ms: queue.now_ms() - 5000}).where(Job.id == old)
    await jobs.enqueue("test.echo")
    await jobs.enqueue("test.echo", run_at=datetime.now(UTC) + timedelta(minutes=5))
    stats = await jobs.stats()
    assert (stats.ready, stats.scheduled, stats.running, stats.dead) == (2, 1, 0, 0)
    assert 5 <= stats.lag_seconds < 60


async def test_two_workers_run_fifty_jobs_each_exactly_once() -> None:
    registry, runs, by = Registry(), [], set()

    @registry.register("test.count")
    async def count(job: JobContext) -> None:
        runs.append(job.payload["n"])
        by.add(job.state)
        await asyncio.sleep(0.005)  # hold the job a moment, so claims overlap

    for n in range(50):
        await jobs.enqueue("test.count", {"n": n})
    workers = [Worker(registry=registry, state=name, concurrency=4, poll_seconds=0.05) for name in "ab"]
    for worker in workers:
        worker.start()
    try:
        for _ in range(600):
            if await Job.count().where(Job.status == "done") == 50:
                break
            await asyncio.sleep(0.05)
    finally:
        for worker in workers:
            await worker.stop()
    assert sorted(runs) == list(range(50))
    assert by == {"a", "b"}  # both took part
    done = await Job.select(Job.attempts, Job.locked_by).where(Job.status == "done")
    assert len(done) == 50
    assert all(r["attempts"] == 1 for r in done)


async def test_a_job_whose_worker_vanished_on_its_last_attempt_is_marked_dead() -> None:
    job_id = await jobs.enqueue("test.echo", max_attempts=1)
    # A worker claims it with a short lease and is never heard of again.
    assert await queue.claim("ghost:1", ["test.echo"], lease_ms=100) is not None
    registry = Registry()
    registry.register("test.echo")(_noop)
    worker = Worker(registry=registry)
    assert not await worker.run_once()  # still leased
    await asyncio.sleep(0.15)
    assert not await worker.run_once()  # no attempt left: the sweep buries it instead
    dead = await row(job_id)
    assert (dead["status"], dead["attempts"]) == ("dead", 1)
    assert "worker lost" in dead["last_error"]
