"""Scheduled backups as a self-rescheduling job (ECHOEL_BACKUP_INTERVAL_HOURS; 0 is off).

The schedule is slotted on wall-clock time: slot n starts at n * interval since the epoch, and
the dedupe key names the slot, so however many app processes start, each slot runs once.
"""

from __future__ import annotations

import logging

import anyio

from app.core.settings import Settings
from app.jobs import JobContext, register, schedule_every
from app.ops.backup import backup_root, create_backup, prune

BACKUP_KIND = "ops.backup"
log = logging.getLogger("echoel.backup")


async def schedule_next_backup(settings: Settings, after_slot: int = 0) -> int | None:
    """Queue the backup of the next slot (no-op when scheduled backups are off); its job id."""
    if settings.backup_interval_hours <= 0:
        return None
    return await schedule_every(BACKUP_KIND, settings.backup_interval_hours * 3600, after_slot=after_slot)


@register(BACKUP_KIND, max_attempts=3, backoff_seconds=300.0)
async def run_backup(job: JobContext) -> None:
    """Write a backup, prune old ones, and queue the next slot."""
    settings: Settings = job.state.settings
    root = backup_root(settings)
    # The app's own store; create_backup runs its blocking parts (pg_dump, hashing) in threads.
    folder = await create_backup(settings, root, job.state.storage)
    removed = await anyio.to_thread.run_sync(prune, root, settings.backup_keep)
    log.info("backup written to %s (%d old removed)", folder, len(removed))
    await schedule_next_backup(settings, after_slot=int(job.payload.get("slot", 0)))
