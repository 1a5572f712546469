"""Background work for the catalog, through the durable queue in ``app.jobs``.

* ``catalog.process_file``: queued once per verified file (keyed by file id, so a retried
  completion never queues twice): cover thumbnails, demo peaks, zip expansion. Its handler is
  in ``app.catalog.media_jobs``.
* ``catalog.cleanup_orphans``: the orphan clean-up, every 6 hours, re-queued by each run.
"""

from __future__ import annotations

from app.catalog.tables import ListingFile
from app.jobs import JobContext, enqueue, register, schedule_every

PROCESS_KIND = "catalog.process_file"
CLEANUP_KIND = "catalog.cleanup_orphans"
CLEANUP_EVERY_SECONDS = 6 * 3600


async def schedule_processing(file: ListingFile) -> None:
    """The call point from a completed upload to its processing."""
    # Only the id: the handler reads the row itself, which also tells it the file was refused or deleted.
    await enqueue(PROCESS_KIND, {"file_id": str(file.id)}, dedupe_key=f"process:{file.id}")


async def schedule_cleanup(after_slot: int = 0) -> None:
    """Queue the clean-up for the next 6-hour slot (at start-up, and by each run for the next)."""
    await schedule_every(CLEANUP_KIND, CLEANUP_EVERY_SECONDS, after_slot=after_slot)


@register(CLEANUP_KIND, max_attempts=3)
async def cleanup_orphans(job: JobContext) -> None:
    """Run the clean-up, then queue the next run."""
    from app.catalog.cleanup import clean_orphans

    await clean_orphans(job.state.storage, job.state.settings.orphan_min_age_seconds)
    await schedule_cleanup(after_slot=int(job.payload.get("slot", 0)))
