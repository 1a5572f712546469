"""The search jobs: apply the outbox (queued by every listing change), rebuild the index."""

from __future__ import annotations

import time
from typing import Any

from app.jobs import JobContext, enqueue, register
from app.search.outbox import SYNC_JOB


@register(SYNC_JOB, max_attempts=20)
async def apply_outbox(job: JobContext) -> None:
    service: Any = getattr(job.state, "search", None)
    if service is None:
        raise RuntimeError("search is not configured in this process")
    await service.sync()


REINDEX_KIND = "search.reindex"


async def enqueue_reindex() -> None:
    """Queue one rebuild, however many processes ask within the same minute."""
    await enqueue(REINDEX_KIND, {}, dedupe_key=f"{REINDEX_KIND}:{int(time.time() // 60)}")


@register(REINDEX_KIND, max_attempts=5)
async def reindex(job: JobContext) -> None:
    service: Any = getattr(job.state, "search", None)
    if service is None:
        raise RuntimeError("search is not configured in this process")
    await service.reindex()
