"""The job that applies the search outbox (queued by every listing change)."""

from __future__ import annotations

from typing import Any

from app.jobs import JobContext, register
from app.search.outbox import SYNC_JOB


@register(SYNC_JOB, max_attempts=20)
async def apply_outbox(job: JobContext) -> None:
    service: Any = getattr(job.state, "search", None)
    if service is None:
        raise RuntimeError("search is not configured in this process")
    await service.sync()
