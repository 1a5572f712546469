"""Helpers for tests against a live app process: users, rooms and signaling sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets

from app.collab.peer import ws_url
from tests.integration.collab.helpers import join, link_invite, open_session, user

# Many sign-ups from one address in one test run: lift the auth throttles for these apps.
LIVE_ENV = {
    "ECHOEL_AUTH_MAX_FAILURES": "100000",
    "ECHOEL_AUTH_REQUESTS_PER_MINUTE": "100000",
    # Rooms re-check membership every second (15 s in production), so tests see it happen.
    "ECHOEL_COLLAB_HEARTBEAT_SECONDS": "1",
}


async def new_user(base: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        return await user(http)


async def new_room(base: str, host: dict[str, Any], guests: list[dict[str, Any]]) -> str:
    """A session hosted by ``host`` that every guest joined through a link invite."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        room: str = (await open_session(http, host, title="Live jam"))["id"]
        token = (await link_invite(http, host, room))["token"]
        for guest in guests:
            assert (await join(http, guest, token)).status_code == 200
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


async def close_of(ws: Any, wait: float = 10) -> tuple[int, str]:
    """The close code and reason once the server closes ``ws`` (reading past pings and the rest)."""

    async def drain() -> None:
        while True:
            await ws.recv()

    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(drain(), wait)
    assert info.value.rcvd is not None, "closed without a close frame from the server"
    return info.value.rcvd.code, info.value.rcvd.reason
