"""The queue's own chores: forget finished jobs after a while (dead ones stay for the operator)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.jobs import JobContext, enqueue, register, schedule_every
from app.jobs.queue import now_ms
from app.jobs.tables import Job

PURGE_KIND = "jobs.purge"
DAY_MS = 86_400_000


async def schedule_purge() -> None:
    """Today's purge now (once a day, however many processes start), and each run queues the next."""
    await enqueue(PURGE_KIND, {"days": 7}, dedupe_key=f"{PURGE_KIND}:{datetime.now(UTC).date()}")


@register(PURGE_KIND)
async def purge_done(job: JobContext) -> None:
    """Delete done jobs older than ``payload["days"]`` (default 7)."""
    days = float(job.payload.get("days", 7))
    cutoff = now_ms() - int(days * DAY_MS)
    await Job.delete().where((Job.status == "done") & (Job.done_at_ms < cutoff))
    await schedule_every(PURGE_KIND, DAY_MS / 1000, {"days": days}, after_slot=int(job.payload.get("slot", 0)))
