"""The worker: claims due jobs, runs their handlers, renews leases, retries with backoff.

One ``Worker`` runs inside each app process (``ECHOEL_JOBS_IN_PROCESS``) and/or as its own
process (``echoel worker``); any number of them share the queue safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import traceback
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from piccolo.engine import PostgresEngine

from app.core.settings import Settings
from app.jobs import queue
from app.jobs.registry import JobContext, PermanentError, Registry, backoff_seconds, registry
from app.jobs.tables import Job

log = logging.getLogger("echoel.jobs")

# Seconds between sweeps for jobs whose worker died on their last attempt.
SWEEP_SECONDS = 15.0

# Workers of this process, woken by a local enqueue so a new job starts without a poll delay.
_local_workers: set[Worker] = set()


def wake_local_workers() -> None:
    for worker in _local_workers:
        worker.wake()


class Worker:
    def __init__(
        self,
        *,
        registry: Registry = registry,
        state: Any = None,
        concurrency: int = 2,
        lease_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        backoff_seconds: float = 10.0,
        backoff_max_seconds: float = 3600.0,
    ) -> None:
        self.registry, self.state = registry, state
        self.concurrency, self.poll_seconds = concurrency, poll_seconds
        self.lease_ms = int(lease_seconds * 1000)
        self.backoff, self.backoff_max = backoff_seconds, backoff_max_seconds
        # Unique per worker, readable in the table: which host and process holds a job.
        self.id = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._main: asyncio.Task[None] | None = None
        self._next_sweep = 0.0

    @classmethod
    def from_settings(cls, settings: Settings, *, state: Any = None) -> Worker:
        return cls(
            state=state,
            concurrency=settings.jobs_concurrency,
            lease_seconds=settings.jobs_lease_seconds,
            poll_seconds=settings.jobs_poll_seconds,
            backoff_seconds=settings.jobs_backoff_seconds,
            backoff_max_seconds=settings.jobs_backoff_max_seconds,
        )

    def wake(self) -> None:
        self._wakeup.set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run in the background of the current event loop (the in-process worker)."""
        self._main = asyncio.get_running_loop().create_task(self.run(), name=f"jobs-worker-{self.id}")

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Stop claiming; let running jobs finish for ``grace_seconds``, then cancel them.

        A cancelled job keeps its lease until it expires and is then retried elsewhere.
        """
        self._stopping.set()
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_seconds
        # The claim loop first (it may be finishing a claim), then the jobs it started.
        if self._main is not None:
            await asyncio.wait({self._main}, timeout=grace_seconds)
        if self._running:
            await asyncio.wait(set(self._running), timeout=max(0.0, deadline - loop.time()))
        leftovers = [t for t in (self._main, *self._running) if t is not None and not t.done()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    async def run(self) -> None:
        """Claim and run jobs until stopped."""
        _local_workers.add(self)
        listener = await self._listen()
        slots = asyncio.Semaphore(self.concurrency)
        try:
            while True:
                await slots.acquire()
                if self._stopping.is_set():
                    slots.release()
                    break
                # Cleared before looking, so an enqueue during the claim still wakes the next idle.
                self._wakeup.clear()
                try:
                    job = await self._claim()
                except Exception:
                    log.exception("claiming a job failed; retrying after the poll interval")
                    job = None
                if job is None:
                    slots.release()
                    await self._idle()
                    continue
                task = asyncio.create_task(self._run_job(job))
                self._running.add(task)

                def done(t: asyncio.Task[None]) -> None:
                    self._running.discard(t)
                    slots.release()
                    if not t.cancelled() and t.exception() is not None:
                        log.error("recording the outcome of a job failed", exc_info=t.exception())

                task.add_done_callback(done)
        finally:
            _local_workers.discard(self)
            if listener is not None:
                with contextlib.suppress(Exception):
                    await listener.close(timeout=2)

    async def _listen(self) -> Any:
        """On PostgreSQL, a connection that LISTENs for enqueues anywhere and wakes this worker.

        Best effort: without it (SQLite, or the connection failed) the poll interval still applies.
        """
        engine = Job._meta.db
        if not isinstance(engine, PostgresEngine):
            return None
        try:
            conn = await asyncpg.connect(**engine.config)
            await conn.add_listener(queue.NOTIFY_CHANNEL, lambda *_: self.wake())
        except Exception:
            log.warning("cannot LISTEN for new jobs; polling every %.1fs instead", self.poll_seconds, exc_info=True)
            return None
        return conn

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_seconds)

    async def _claim(self) -> queue.ClaimedJob | None:
        # The sweep is a write; a few times a minute is plenty for what it catches.
        loop = asyncio.get_running_loop()
        if loop.time() >= self._next_sweep:
            self._next_sweep = loop.time() + SWEEP_SECONDS
            await queue.sweep()
        return await queue.claim(self.id, sorted(self.registry.kinds), self.lease_ms)

    async def run_once(self) -> bool:
        """Claim and run one due job here and now; False when none was due (for tests and tools)."""
        self._next_sweep = 0.0
        job = await self._claim()
        if job is None:
            return False
        await self._run_job(job)
        return True

    # -- one job -----------------------------------------------------------------------------

    async def _run_job(self, job: queue.ClaimedJob) -> None:
        kind = self.registry.kinds[job.kind]
        ctx = JobContext(id=job.id, kind=job.kind, payload=job.payload, attempt=job.attempts, state=self.state)
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        try:
            await kind.handler(ctx)
        except asyncio.CancelledError:
            raise
        except PermanentError as exc:
            await queue.bury(job.id, self.id, _describe(exc))
            log.warning("job %s (%s) refused for good: %s", job.id, job.kind, exc)
        except Exception as exc:
            error = _describe(exc)
            if job.attempts >= job.max_attempts:
                await queue.bury(job.id, self.id, error)
                log.error("job %s (%s) dead after %d attempts: %s", job.id, job.kind, job.attempts, error)
            else:
                base = kind.backoff_seconds if kind.backoff_seconds is not None else self.backoff
                cap = kind.backoff_max_seconds if kind.backoff_max_seconds is not None else self.backoff_max
                delay = backoff_seconds(job.attempts, base, cap)
                await queue.retry_later(job.id, self.id, int(delay * 1000), error)
                log.info(
                    "job %s (%s) failed (attempt %d), retry in %.1fs: %s", job.id, job.kind, job.attempts, delay, error
                )
        else:
            await queue.finish(job.id, self.id)
        finally:
            heartbeat.cancel()

    async def _heartbeat(self, job_id: int) -> None:
        # Renew at a third of the lease, so two missed renewals still leave the lease valid.
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if not await queue.renew(job_id, self.id, self.lease_ms):
                    log.warning("lost the lease of job %s; another worker may run it too", job_id)
                    return
            except Exception:
                log.exception("renewing the lease of job %s failed", job_id)


def _describe(exc: BaseException) -> str:
    # The message first (what an operator reads), then where it came from, bounded in size.
    where = "".join(traceback.format_exception(exc)[-3:])
    return f"{type(exc).__name__}: {exc}\n{where}"[:4000]
