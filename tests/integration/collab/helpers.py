"""Helpers for collaboration tests: users with tokens, a session with members."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.accounts.helpers import bearer, login, signup


async def user(client: httpx.AsyncClient) -> dict[str, Any]:
    """A signed-up user: its identity plus ``token``, ``id`` and ``headers``."""
    ident = await signup(client)
    body = await login(client, ident, refresh_in_body=True)
    return {
        **ident,
        "token": body["access_token"],
        "id": body["account"]["id"],
        "headers": bearer(body["access_token"]),
    }


async def open_session(client: httpx.AsyncClient, host: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = await client.post("/api/v1/sessions", json={"title": "Jam", **body}, headers=host["headers"])
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def link_invite(client: httpx.AsyncClient, host: dict[str, Any], session_id: str) -> dict[str, Any]:
    r = await client.post(f"/api/v1/sessions/{session_id}/invites", json={}, headers=host["headers"])
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()
    return data


async def join(client: httpx.AsyncClient, guest: dict[str, Any], token: str) -> httpx.Response:
    return await client.post("/api/v1/sessions/join", json={"token": token}, headers=guest["headers"])
