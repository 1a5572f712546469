"""The daily accounts purge: expired refresh tokens and throttle counters go, live ones stay."""

from __future__ import annotations

import uuid

import httpx

from app.accounts.jobs import PURGE_KIND, purge_expired
from app.accounts.tables import AuthThrottle, RefreshToken, User
from app.core.db import now
from app.jobs.registry import JobContext
from app.jobs.tables import Job


async def test_expired_tokens_and_counters_go_and_the_next_purge_is_queued(client: httpx.AsyncClient) -> None:
    user = User(email=f"h{uuid.uuid4().hex[:8]}@example.com", handle=f"h{uuid.uuid4().hex[:8]}", password_hash="x")
    await user.save()
    t = now()
    for name, expires in (("old", t - 10), ("live", t + 3600)):
        await RefreshToken(user=user.id, family=uuid.uuid4(), token_hash=name * 16, expires_at=expires).save()
        await AuthThrottle(key=f"ip:{name}", hits=3, reset_at=expires).save()

    await purge_expired(JobContext(id=1, kind=PURGE_KIND, payload={"slot": 0}, attempt=1))

    assert [r["token_hash"] for r in await RefreshToken.select(RefreshToken.token_hash)] == ["live" * 16]
    assert [r["key"] for r in await AuthThrottle.select(AuthThrottle.key)] == ["ip:live"]
    assert await Job.count().where((Job.kind == PURGE_KIND) & (Job.status == "queued")) == 1
