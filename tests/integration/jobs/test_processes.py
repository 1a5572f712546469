"""Workers as real processes: a worker killed mid-job, the `echoel worker` command, the in-process worker."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from subprocess import PIPE, STDOUT
from typing import Any

import pytest

from app import jobs
from app.asgi import create_app
from app.jobs import queue
from app.jobs.housekeeping import DAY_MS, PURGE_KIND
from app.jobs.registry import JobContext, Registry
from app.jobs.tables import Job
from app.jobs.worker import Worker
from tests.services.binaries import REPO_ROOT
from tests.support import test_env, test_settings

pytestmark = pytest.mark.usefixtures("queue_db")


async def wait_for(check: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}


async def child_worker(db_url: str, folder: Path, *args: str) -> asyncio.subprocess.Process:
    """``tests.integration.jobs.child_worker`` in its own process (see there for ``args``)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.jobs.child_worker",
        db_url,
        str(folder),
        *args,
        cwd=REPO_ROOT,
        env=clean_env(),
    )


async def test_a_job_held_by_a_killed_worker_runs_again_after_its_lease(db_url: str, tmp_path: Path) -> None:
    job_id = await jobs.enqueue("test.slow", {"take": 1})
    child = await child_worker(db_url, tmp_path)
    try:
        started = tmp_path / f"started-{job_id}"
        for _ in range(300):
            if started.exists() or child.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert started.exists(), "the child worker never started the job"
        held = await Job.select().where(Job.id == job_id).first()
        assert held is not None
        assert held["locked_by"] == (tmp_path / "worker-id").read_text()
        assert held["locked_until_ms"] > queue.now_ms()
        child.send_signal(signal.SIGKILL)
        assert await child.wait() == -signal.SIGKILL
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()

    registry, finished = Registry(), []

    @registry.register("test.slow")
    async def slow(job: JobContext) -> None:
        finished.append(job.attempt)

    rescuer = Worker(registry=registry)
    # The dead worker's lease still stands: nobody may take the job yet.
    assert not await rescuer.run_once()

    async def rescued() -> bool:
        return await rescuer.run_once()

    await wait_for(rescued, seconds=15)
    done = await Job.select().where(Job.id == job_id).first()
    assert done is not None
    assert (done["status"], done["attempts"]) == ("done", 2)
    assert finished == [2]


async def test_postgres_wakes_an_idle_worker_in_another_process_at_commit(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgres"):
        pytest.skip("SQLite has no cross-process notification; its workers poll")
    first = await jobs.enqueue("test.slow", {"take": 1})
    # Polling once a minute: only the NOTIFY sent at commit can make the second job start soon.
    child = await child_worker(db_url, tmp_path, "60", "2")
    try:

        async def started(job_id: int) -> bool:
            assert child.returncode is None, "the child worker exited"
            return (tmp_path / f"started-{job_id}").exists()

        # The first job is claimed on start-up, after the worker began listening.
        await wait_for(lambda: started(first), seconds=60)
        await asyncio.sleep(0.5)  # the worker has looked again, found nothing, and gone idle
        engine = Job._meta.db
        async with engine.transaction():
            second = await jobs.enqueue("test.slow", {"take": 2})
            await asyncio.sleep(1)
            # Not before commit: the notification travels with the transaction.
            assert not (tmp_path / f"started-{second}").exists()
        await wait_for(lambda: started(second), seconds=20)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()


def _old_done_job() -> Job:
    now = queue.now_ms()
    return Job(
        kind="test.old",
        payload="{}",
        status="done",
        run_at_ms=now - 30 * DAY_MS,
        created_at_ms=now - 30 * DAY_MS,
        done_at_ms=now - 30 * DAY_MS,
    )


async def test_echoel_worker_command_runs_jobs_and_stops_on_sigterm(db_url: str, tmp_path: Path) -> None:
    await Job.insert(_old_done_job())
    env = {**clean_env(), **test_env(db_url, tmp_path / "var", ECHOEL_JOBS_POLL_SECONDS="0.2")}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "worker", cwd=REPO_ROOT, env=env, stdout=PIPE, stderr=STDOUT
    )
    try:
        # The worker schedules the daily purge itself; it removes the month-old finished job.
        async def purged() -> bool:
            done = await Job.count().where((Job.kind == PURGE_KIND) & (Job.status == "done"))
            return done == 1 and await Job.count().where(Job.kind == "test.old") == 0

        try:
            await wait_for(purged, seconds=120)  # generous: the child imports the whole app first
        except AssertionError:
            child.kill()
            raw, _ = await child.communicate()
            raise AssertionError(f"the worker did not purge: {raw.decode()[-3000:]}") from None
        child.send_signal(signal.SIGTERM)
        raw, _ = await asyncio.wait_for(child.communicate(), timeout=30)
        out = raw.decode()
    finally:
        if child.returncode is None:
            child.kill()
            await child.communicate()
    assert child.returncode == 0, out
    assert PURGE_KIND in out
    assert "echoel worker stopped" in out


async def test_the_app_runs_jobs_in_process(db_url: str, tmp_path: Path) -> None:
    app = create_app(test_settings(db_url, tmp_path / "var", ECHOEL_JOBS_POLL_SECONDS="0.2"))
    for hook in app.on_startup:
        await hook()  # type: ignore[call-arg]
    try:
        await Job.insert(_old_done_job())
        job_id = await jobs.enqueue(PURGE_KIND, {"days": 7})

        async def done() -> bool:
            found = await Job.select(Job.status).where(Job.id == job_id).first()
            return found is not None and found["status"] == "done"

        await wait_for(done)
        assert await Job.count().where(Job.kind == "test.old") == 0
    finally:
        for hook in app.on_shutdown:
            await hook()  # type: ignore[call-arg]
