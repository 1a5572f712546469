"""Failure counting for sign-up and log-in, shared by every worker through the database.

A fixed window per key ("ip:…" or "account:…"): one atomic upsert per failure, so several worker
processes (or several app containers) count together, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from app.accounts.tables import AuthThrottle
from app.core.db import now
from app.core.errors import RateLimited

_HIT = """
INSERT INTO auth_throttle (key, hits, reset_at) VALUES ({}, 1, {})
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN auth_throttle.reset_at <= {} THEN 1 ELSE auth_throttle.hits + 1 END,
  reset_at = CASE WHEN auth_throttle.reset_at <= {} THEN excluded.reset_at ELSE auth_throttle.reset_at END
"""


class Throttle:
    def __init__(self, max_failures: int, window_seconds: int) -> None:
        self.max_failures = max_failures
        self.window = window_seconds

    async def check(self, *keys: str) -> None:
        """Raise RateLimited if any key has used up its failures in the current window."""
        t = now()
        rows = await AuthThrottle.select(AuthThrottle.hits, AuthThrottle.reset_at).where(
            AuthThrottle.key.is_in(list(keys)), AuthThrottle.reset_at > t
        )
        waits = [r["reset_at"] - t for r in rows if r["hits"] >= self.max_failures]
        if waits:
            raise RateLimited("Too many attempts. Wait a few minutes, then try again.", retry_after=max(waits))

    async def hit(self, *keys: str) -> None:
        """Count one failure against every key."""
        t = now()
        for key in keys:
            await AuthThrottle.raw(_HIT, key, t + self.window, t, t)

    async def clear(self, key: str) -> None:
        await AuthThrottle.delete().where(AuthThrottle.key == key)
