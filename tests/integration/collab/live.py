"""Helpers for tests against a live app process: users, rooms and signaling sockets."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import websockets

from app.collab.peer import ws_url
from tests.integration.accounts.helpers import PASSWORD

# Many sign-ups from one address in one test run: lift the auth throttles for these apps.
LIVE_ENV = {"ECHOEL_AUTH_MAX_FAILURES": "100000", "ECHOEL_AUTH_REQUESTS_PER_MINUTE": "100000"}


async def new_user(base: str) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    ident = {"email": f"u{tag}@example.com", "password": PASSWORD, "handle": f"u{tag}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        assert (await http.post("/api/v1/auth/signup", json=ident)).status_code == 202
        r = await http.post(
            "/api/v1/auth/login", json={**{k: ident[k] for k in ("email", "password")}, "refresh_in_body": True}
        )
        assert r.status_code == 200, r.text
        body = r.json()
    return {**ident, "token": body["access_token"], "id": body["account"]["id"]}


async def new_room(base: str, host: dict[str, Any], guests: list[dict[str, Any]]) -> str:
    """A session hosted by ``host`` that every guest joined through a link invite."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        h = {"Authorization": f"Bearer {host['token']}"}
        r = await http.post("/api/v1/sessions", json={"title": "Live jam"}, headers=h)
        assert r.status_code == 201, r.text
        room: str = r.json()["id"]
        token = (await http.post(f"/api/v1/sessions/{room}/invites", json={}, headers=h)).json()["token"]
        for guest in guests:
            g = {"Authorization": f"Bearer {guest['token']}"}
            assert (await http.post("/api/v1/sessions/join", json={"token": token}, headers=g)).status_code == 200
    return room


async def open_socket(base: str, room: str, **kwargs: Any) -> Any:
    return await websockets.connect(ws_url(base, room), open_timeout=10, **kwargs)


async def signal_in(base: str, room: str, user: dict[str, Any]) -> tuple[Any, str]:
    """An authenticated socket and its peer id."""
    ws = await open_socket(base, room)
    await ws.send(json.dumps({"type": "auth", "token": user["token"]}))
    welcome = json.loads(await ws.recv())
    assert welcome["type"] == "welcome", welcome
    return ws, welcome["peer"]


async def next_of(ws: Any, *types: str, wait: float = 10) -> dict[str, Any]:
    """The next message of one of ``types``, skipping others (pings, presence noise)."""

    async def go() -> dict[str, Any]:
        while True:
            msg: dict[str, Any] = json.loads(await ws.recv())
            if msg["type"] in types:
                return msg

    return await asyncio.wait_for(go(), wait)
