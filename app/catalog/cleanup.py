"""Orphan clean-up: unfinished multipart uploads and objects no row points at, past an age.

Never deletes an object a ``ListingFile`` row or a storefront points at, nor what processing
derived from a file that still exists (each key is checked again right before its deletion),
nor one whose upload is being verified at that moment.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from app.catalog.derived import DERIVED_PREFIX, file_id_of
from app.catalog.storefronts import PREFIX as STOREFRONT_PREFIX
from app.catalog.tables import ListingFile, StorefrontDressing, Upload
from app.core.db import now
from app.storage import ObjectStorage

log = logging.getLogger("echoel.catalog.cleanup")

PREFIX = "listings/"


@dataclass
class CleanupReport:
    multipart_aborted: int = 0
    objects_deleted: int = 0
    uploads_expired: int = 0


def _older(when: datetime | None, cutoff: float) -> bool:
    # A store that does not say when an upload began: treat it as old (its row, if any, decides).
    return when is None or when.astimezone(UTC).timestamp() < cutoff


async def _in_use(key: str) -> bool:
    if await ListingFile.exists().where(ListingFile.object_key == key):
        return True
    return bool(await Upload.exists().where(Upload.object_key == key, Upload.state == "verifying"))


async def clean_orphans(storage: ObjectStorage, min_age_seconds: int) -> CleanupReport:
    """Remove what is older than ``min_age_seconds`` and unreferenced; report the counts."""
    report = CleanupReport()
    cutoff = now() - min_age_seconds

    for upload in await storage.list_multipart_uploads(PREFIX):
        if _older(upload.initiated, cutoff) and not await _in_use(upload.key):
            await storage.abort_multipart(upload.key, upload.upload_id)
            report.multipart_aborted += 1

    # Uploads promised long ago and never completed can no longer complete: their URLs expired.
    stale = (
        await Upload.update({Upload.state: "aborted", Upload.reason: "expired before completion"})
        .where(Upload.state == "pending", Upload.created_at < cutoff)
        .returning(Upload.id)
    )
    report.uploads_expired = len(stale)

    for obj in await storage.list_objects(PREFIX):
        if _older(obj.last_modified, cutoff) and not await _in_use(obj.key):
            pending = await Upload.exists().where(
                Upload.object_key == obj.key, Upload.state == "pending", Upload.created_at >= cutoff
            )
            if not pending:
                await storage.delete(obj.key)
                report.objects_deleted += 1
    # What processing derived from files that are gone (a deleted version, a refused upload).
    # A pack expands into up to 10,000 objects of one file: ask about each file once.
    alive: dict[uuid.UUID | None, bool] = {None: False}
    for obj in await storage.list_objects(DERIVED_PREFIX):
        if not _older(obj.last_modified, cutoff):
            continue
        file_id = file_id_of(obj.key)
        if file_id not in alive:
            alive[file_id] = await ListingFile.exists().where(ListingFile.id == file_id)
        if not alive[file_id]:
            await storage.delete(obj.key)
            report.objects_deleted += 1

    # Storefront images replaced or abandoned between upload and completion.
    for obj in await storage.list_objects(STOREFRONT_PREFIX):
        if not _older(obj.last_modified, cutoff):
            continue
        used = await StorefrontDressing.exists().where(
            (StorefrontDressing.avatar_key == obj.key) | (StorefrontDressing.banner_key == obj.key)
        )
        if not used:
            await storage.delete(obj.key)
            report.objects_deleted += 1
    log.info("orphan clean-up: %s", report)
    return report
