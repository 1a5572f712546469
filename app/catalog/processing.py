"""The call point from a completed upload to background processing (thumbnails, peaks, zips).

Jobs go through ``app.jobs`` (durable queue): one ``catalog.process_file`` job per file, keyed by
file id so a retried completion never queues twice. Handlers for the kind live with the media
processing code; until one is registered the job waits in the queue.
"""

from __future__ import annotations

import importlib
import logging

from app.catalog.tables import ListingFile

log = logging.getLogger("echoel.catalog")

PROCESS_KIND = "catalog.process_file"


async def schedule_processing(file: ListingFile) -> None:
    try:
        jobs = importlib.import_module("app.jobs")
    except ImportError:  # the queue is not part of this build yet
        log.info("no job queue; file %s not scheduled for processing", file.id)
        return
    await jobs.enqueue(
        PROCESS_KIND,
        {"file_id": str(file.id), "role": file.role, "content_type": file.content_type, "key": file.object_key},
        dedupe_key=f"process:{file.id}",
    )
