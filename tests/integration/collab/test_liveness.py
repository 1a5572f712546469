"""A session ends at its expiry and a socket that falls silent is let go, against a live app.

Expiry is written straight to the database (``expires_at`` in the past), as if the clock had
passed it: the room's heartbeat (1 s here) must notice on its own, with no request to prompt it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
from piccolo.querystring import QueryString

from app.core.db import connected, make_engine
from tests.integration.collab.helpers import join, link_invite
from tests.integration.collab.live import close_of, new_room, new_user, next_of, open_socket, signal_in
from tests.support import LiveApp

pytestmark = pytest.mark.asyncio


async def test_expired_session_is_closed_everywhere(live: LiveApp) -> None:
    host, guest, late = await new_user(live.url), await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, host, [guest])
    wh, _ = await signal_in(live.url, room, host)
    wg, _ = await signal_in(live.url, room, guest)
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as http:
        invite = await link_invite(http, host, room)
        engine = make_engine(live.env["ECHOEL_DATABASE_URL"])
        async with connected(engine):
            await engine.run_querystring(
                QueryString(
                    "UPDATE collab_sessions SET expires_at = {} WHERE id = {}", int(time.time()) - 1, uuid.UUID(room)
                )
            )
        # Open sockets are closed at the next heartbeat, as for a removed member.
        for ws in (wh, wg):
            assert (await close_of(ws, 10))[0] == 4403
        # The API no longer knows the session: no view, no ICE servers (so no new TURN
        # credentials), no signaling ticket, no list entry, and the invite admits nobody.
        for who in (host, guest):
            h = who["headers"]
            assert (await http.get(f"/api/v1/sessions/{room}", headers=h)).status_code == 404
            assert (await http.get(f"/api/v1/sessions/{room}/ice", headers=h)).status_code == 404
            assert (await http.post(f"/api/v1/sessions/{room}/ticket", headers=h)).status_code == 404
            assert room not in [s["id"] for s in (await http.get("/api/v1/sessions", headers=h)).json()]
        r = await join(http, late, invite["token"])
        assert r.status_code == 403 and r.json()["detail"].startswith("This invite is not valid")
    # A member's fresh socket is refused at authentication.
    ws = await open_socket(live.url, room)
    await ws.send(json.dumps({"type": "auth", "token": guest["token"]}))
    assert (await close_of(ws, 10))[0] == 4403


# The silence limit is 45 s at the least (three beats when beats are longer): one database is enough.
@pytest.mark.parametrize("live", ["sqlite"], indirect=True)
async def test_silent_socket_is_closed_with_4408(live: LiveApp) -> None:
    host, guest = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, host, [guest])
    silent, _ = await signal_in(live.url, room, guest)
    talker, talker_peer = await signal_in(live.url, room, host)

    async def answer_pings() -> None:
        while True:
            msg = await next_of(talker, "ping", wait=30)
            await talker.send(json.dumps({"type": "pong", "t": msg["t"]}))

    answering = asyncio.create_task(answer_pings())
    try:
        # The silent socket never answers the room's pings.
        assert await close_of(silent, 90) == (4408, "silent too long")
    finally:
        answering.cancel()
    # The socket that answered its pings is still in the room and relays.
    late, _ = await signal_in(live.url, room, guest)
    await talker.send(json.dumps({"type": "chat", "text": "still here"}))
    chat = await next_of(late, "chat")
    assert chat["text"] == "still here" and chat["from"] == talker_peer
    for ws in (talker, late):
        await ws.close()
