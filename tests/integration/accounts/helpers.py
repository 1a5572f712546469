"""Small helpers for account tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


def new_identity() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"email": f"u{tag}@example.com", "password": PASSWORD, "handle": f"u{tag}"}


async def signup(client: httpx.AsyncClient, **override: str) -> dict[str, str]:
    ident = {**new_identity(), **override}
    r = await client.post("/api/v1/auth/signup", json=ident)
    assert r.status_code == 202, r.text
    return ident


async def login(client: httpx.AsyncClient, ident: dict[str, str], **extra: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/auth/login", json={"email": ident["email"], "password": ident["password"], **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    r = await client.get("/api/v1/auth/csrf")
    assert r.status_code == 204
    return {"X-CSRF-Token": client.cookies["echoel_csrf"]}
