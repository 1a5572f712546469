"""ECHOEL_BACKUP_INTERVAL_HOURS: the job worker writes backups on a schedule and keeps the newest N."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from app.jobs.queue import now_ms
from app.jobs.tables import Job
from app.ops.backup import list_backups, verify_backup
from app.ops.jobs import BACKUP_KIND, schedule_next_backup
from tests.support import test_settings


@pytest.fixture
def settings(db_url: str, var_dir: Path, tmp_path: Path) -> Settings:
    return test_settings(
        db_url,
        var_dir,
        ECHOEL_BACKUP_INTERVAL_HOURS="1",
        ECHOEL_BACKUP_KEEP="1",
        ECHOEL_BACKUP_DIR=str(tmp_path / "backups"),
        ECHOEL_JOBS_POLL_SECONDS="0.1",
    )


async def run_due_backup(job_id: int) -> None:
    await Job.update({Job.run_at_ms: now_ms()}).where(Job.id == job_id)
    for _ in range(300):
        row = await Job.select(Job.status, Job.last_error).where(Job.id == job_id).first()
        assert row is not None
        if row["status"] != "queued":
            assert row["status"] == "done", row["last_error"]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the backup job did not run")


async def test_scheduled_backups_run_and_reschedule(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    first = await schedule_next_backup(settings)
    assert first is not None and await schedule_next_backup(settings) == first  # one job per slot
    row = await Job.select().where(Job.id == first).first()
    assert row is not None and row["kind"] == BACKUP_KIND
    assert 0 < int(row["run_at_ms"]) - now_ms() <= 3600 * 1000

    await run_due_backup(first)
    (written,) = list_backups(tmp_path / "backups")
    assert verify_backup(written)["row_counts"]["jobs"] >= 1
    jobs = await Job.select().where((Job.kind == BACKUP_KIND) & (Job.status == "queued"))
    assert len(jobs) == 1  # the next slot, an hour later
    payload = jobs[0]["payload"]
    slot = (json.loads(payload) if isinstance(payload, str) else payload)["slot"]
    assert slot == (json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"])["slot"] + 1

    await run_due_backup(jobs[0]["id"])
    (newest,) = list_backups(tmp_path / "backups")  # ECHOEL_BACKUP_KEEP=1 pruned the first
    assert newest != written


async def test_off_by_default(client: httpx.AsyncClient, db_url: str, var_dir: Path) -> None:
    assert await schedule_next_backup(test_settings(db_url, var_dir)) is None
