"""Every periodic job, queued when the app or `echoel worker` starts.

Each one re-queues its next run itself; queueing at start-up mends a chain a crash broke, and
the slot dedupe keys make a second start (or a second process) add nothing.
"""

from __future__ import annotations

from app.accounts.jobs import schedule_purge as schedule_accounts_purge
from app.catalog.processing import schedule_cleanup
from app.core.settings import Settings
from app.jobs.housekeeping import schedule_purge as schedule_jobs_purge
from app.ops.jobs import schedule_next_backup


async def schedule_periodic(settings: Settings) -> None:
    await schedule_jobs_purge()
    await schedule_accounts_purge()
    await schedule_cleanup()
    await schedule_next_backup(settings)
