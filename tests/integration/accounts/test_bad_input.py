"""Bad input gets a 4xx problem+json and writes nothing."""

from __future__ import annotations

import httpx
import pytest

from app.accounts.tables import User
from tests.integration.accounts.helpers import new_identity


def _is_problem(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b'{"email": "a@b.co", "password": 12345678, "handle": "abc"}', 422),
        (b'{"email": "a@b.co", "password": "long enough pw", "handle": "abc", "admin": true}', 422),
        (b'{"email": "not-an-email", "password": "long enough pw", "handle": "abc"}', 422),
        (b'{"email": "a@b.co", "password": "short", "handle": "abc"}', 422),
        (b'{"email": "a@b.co", "password": "long enough pw", "handle": "no spaces allowed"}', 422),
        (b'["a", "list"]', 422),
    ],
)
async def test_signup_rejects_bad_bodies(client: httpx.AsyncClient, body: bytes, status: int) -> None:
    r = await client.post("/api/v1/auth/signup", content=body, headers={"content-type": "application/json"})
    _is_problem(r, status)
    assert await User.count() == 0


async def test_oversized_body(client: httpx.AsyncClient) -> None:
    ident = new_identity()
    huge = {**ident, "display_name": "x" * (1024 * 1024 + 10)}
    r = await client.post("/api/v1/auth/signup", json=huge)
    _is_problem(r, 413)
    assert await User.count() == 0


async def test_validation_errors_never_echo_the_password(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/signup", json={"email": "bad", "password": "s3cr3t-value-x", "handle": "abc", "extra": 1}
    )
    assert r.status_code == 422
    assert "s3cr3t-value-x" not in r.text


async def test_unknown_route_is_problem_json(client: httpx.AsyncClient) -> None:
    _is_problem(await client.get("/api/v1/nope"), 404)
