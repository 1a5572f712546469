"""The queue's own chores: forget finished jobs after a while (dead ones stay for the operator)."""

from __future__ import annotations

from app.jobs.queue import now_ms
from app.jobs.registry import JobContext, register
from app.jobs.tables import Job

PURGE_KIND = "jobs.purge"
DAY_MS = 86_400_000


@register(PURGE_KIND)
async def purge_done(job: JobContext) -> None:
    """Delete done jobs older than ``payload["days"]`` (default 7)."""
    days = float(job.payload.get("days", 7))
    cutoff = now_ms() - int(days * DAY_MS)
    await Job.delete().where((Job.status == "done") & (Job.done_at_ms < cutoff))
