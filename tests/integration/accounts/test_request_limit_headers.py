"""The per-address request limiter on the auth routes answers 429 with Retry-After."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.asgi import create_app
from tests.support import test_settings


async def test_request_limit_429_says_when_to_retry(db_url: str, var_dir: Path) -> None:
    app = create_app(test_settings(db_url, var_dir, ECHOEL_AUTH_REQUESTS_PER_MINUTE="2"))
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as c:
        # Any request counts, even one refused for its body; token refreshes do not.
        for _ in range(2):
            assert (await c.post("/api/v1/auth/login", json={})).status_code == 422
        assert (await c.get("/api/v1/auth/csrf")).status_code == 204
        r = await c.post("/api/v1/auth/login", json={})
    assert r.status_code == 429
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 0 < int(r.headers["retry-after"]) <= 60
    assert r.json()["detail"] == "Too many requests. Wait a moment, then try again."
