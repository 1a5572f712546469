"""Accounts chores: forget refresh tokens and throttle counters once they have expired."""

from __future__ import annotations

from app.accounts.tables import AuthThrottle, RefreshToken
from app.core.db import now
from app.jobs import JobContext, register, schedule_every

PURGE_KIND = "accounts.purge"
DAY_SECONDS = 86_400


async def schedule_purge(after_slot: int = 0) -> None:
    await schedule_every(PURGE_KIND, DAY_SECONDS, after_slot=after_slot)


@register(PURGE_KIND)
async def purge_expired(job: JobContext) -> None:
    """An expired refresh token can no longer be used or replayed; an expired counter counts nothing."""
    t = now()
    await RefreshToken.delete().where(RefreshToken.expires_at < t)
    await AuthThrottle.delete().where(AuthThrottle.reset_at <= t)
    await schedule_purge(after_slot=int(job.payload.get("slot", 0)))
