"""The signaling websocket against a live app: relay, auth, Origin, and abuse that hurts no one else."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
import websockets
from piccolo.querystring import QueryString

from app.core.db import connected, make_engine
from tests.integration.collab.live import new_room, new_user, next_of, open_socket, signal_in
from tests.integration.ops.scrape import sample
from tests.support import LiveApp

pytestmark = pytest.mark.asyncio


async def drain(ws: websockets.ClientConnection) -> None:
    """Read until the server closes the socket."""
    while True:
        await ws.recv()


async def test_presence_and_directed_relay(live: LiveApp) -> None:
    a, b, c = await new_user(live.url), await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, a, [b, c])
    wa, pa = await signal_in(live.url, room, a)
    wb, pb = await signal_in(live.url, room, b)
    joined = await next_of(wa, "join")
    assert joined["from"] == pb and joined["handle"] == b["handle"]
    presence = await next_of(wb, "presence")  # a tells the newcomer it is here
    assert presence["from"] == pa and presence["user_id"] == a["id"]
    wc, pc = await signal_in(live.url, room, c)
    # An offer goes only to the named peer, stamped with the true sender.
    await wa.send(json.dumps({"type": "offer", "to": pb, "sdp": "v=0 fake", "from": "forged"}))
    offer = await next_of(wb, "offer")
    assert offer == {"type": "offer", "to": pb, "sdp": "v=0 fake", "from": pa}
    await wc.send(json.dumps({"type": "chat", "text": "hello all"}))
    for ws in (wa, wb):
        chat = await next_of(ws, "chat")
        assert chat["text"] == "hello all" and chat["from"] == pc and chat["handle"] == c["handle"]
    await wa.send(json.dumps({"type": "panel-update", "bpm": 128, "key": "F#m"}))
    assert (await next_of(wc, "panel-update"))["bpm"] == 128
    # c never saw the offer meant for b: its next offer-or-chat message is a's panel, then nothing.
    await wa.send(json.dumps({"type": "ping", "t": 1.5}))
    assert (await next_of(wa, "pong"))["t"] == 1.5
    await wc.close()
    left = await next_of(wa, "leave")
    assert left["from"] == pc
    for ws in (wa, wb):
        await ws.close()


async def test_auth_required_and_membership(live: LiveApp) -> None:
    host, outsider = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, host, [])
    other_room = await new_room(live.url, outsider, [])
    cases = [
        (room, json.dumps({"type": "chat", "text": "no auth"}), 4401),
        (room, json.dumps({"type": "auth", "token": "not.a.jwt"}), 4401),
        (room, "{not json", 4401),
        (room, json.dumps({"type": "auth", "token": outsider["token"]}), 4403),  # wrong room
        (other_room, json.dumps({"type": "auth", "token": host["token"]}), 4403),
    ]
    for target, first, code in cases:
        ws = await open_socket(live.url, target)
        await ws.send(first)
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == code, first


async def test_auth_deadline(live: LiveApp) -> None:
    host = await new_user(live.url)
    room = await new_room(live.url, host, [])
    ws = await open_socket(live.url, room)
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_foreign_origin_refused(live: LiveApp) -> None:
    host = await new_user(live.url)
    room = await new_room(live.url, host, [])
    with pytest.raises(websockets.InvalidStatus) as info:
        await open_socket(live.url, room, origin="https://evil.example")
    assert info.value.response.status_code == 403
    ws = await open_socket(live.url, room, origin="http://localhost:8000")  # public_url's origin
    await ws.close()


async def test_abuse_closes_only_the_offender(live: LiveApp) -> None:
    users = [await new_user(live.url) for _ in range(3)]
    room = await new_room(live.url, users[0], users[1:])
    good, good_peer = await signal_in(live.url, room, users[0])
    bad, _ = await signal_in(live.url, room, users[1])
    # Malformed JSON, an unknown type, a wrong shape, a direct message without a target: errors.
    for text in ("{oops", '{"type":"teleport"}', '{"type":"chat","text":5}', '{"type":"offer","sdp":"x"}', "[]"):
        await bad.send(text)
        err = await next_of(bad, "error")
        assert err["code"] == "bad-message", text
    # An offer to a peer of another room (or no one) reaches nobody here.
    await bad.send(json.dumps({"type": "offer", "to": "feedfacefeedface", "sdp": "x"}))
    # Oversized: closed with 1008, the others go on.
    await bad.send(json.dumps({"type": "chat", "text": "x" * (65 * 1024)}))
    with pytest.raises(websockets.ConnectionClosed) as info:
        await drain(bad)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    # A flood: rate-limited errors, then closed.
    flooder, _ = await signal_in(live.url, room, users[2])
    codes: list[str | None] = []

    async def flood() -> None:
        for _ in range(2000):
            await flooder.send('{"type":"ping"}')
        while True:
            codes.append(json.loads(await flooder.recv()).get("code"))

    with pytest.raises(websockets.ConnectionClosed) as info:
        await flood()
    assert "rate-limited" in codes
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    # Binary frames are refused too.
    binary, _ = await signal_in(live.url, room, users[2])
    await binary.send(b"\x00\x01")
    with pytest.raises(websockets.ConnectionClosed) as info:
        await drain(binary)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    # The well-behaved socket still talks and the server still answers.
    fresh, fresh_peer = await signal_in(live.url, room, users[1])
    await fresh.send(json.dumps({"type": "chat", "text": "still here"}))
    chat = await next_of(good, "chat")
    assert chat["text"] == "still here" and chat["from"] == fresh_peer
    await good.send(json.dumps({"type": "offer", "to": fresh_peer, "sdp": "v=0"}))
    assert (await next_of(fresh, "offer"))["from"] == good_peer
    for ws in (good, fresh):
        await ws.close()


async def test_removed_member_is_disconnected(live: LiveApp) -> None:
    host, guest = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, host, [guest])
    wg, _ = await signal_in(live.url, room, guest)
    async with httpx.AsyncClient(base_url=live.url) as http:
        r = await http.delete(
            f"/api/v1/sessions/{room}/members/{guest['id']}", headers={"Authorization": f"Bearer {host['token']}"}
        )
        assert r.status_code == 204
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(next_of(wg, "never"), 10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4403
    ws = await open_socket(live.url, room)
    await ws.send(json.dumps({"type": "auth", "token": guest["token"]}))
    with pytest.raises(websockets.ConnectionClosed):
        await ws.recv()


async def test_membership_is_rechecked_without_a_kick(live: LiveApp) -> None:
    """A removal whose push was lost (written straight to the database here): the room's own
    re-check closes that member's socket, and only that one."""
    host, guest = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, host, [guest])
    wh, _ = await signal_in(live.url, room, host)
    wg, _ = await signal_in(live.url, room, guest)
    engine = make_engine(live.env["ECHOEL_DATABASE_URL"])
    async with connected(engine):
        await engine.run_querystring(
            QueryString(
                'UPDATE collab_members SET removed_at = {} WHERE session = {} AND "user" = {}',
                int(time.time()),
                uuid.UUID(room),
                uuid.UUID(guest["id"]),
            )
        )
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(drain(wg), 10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4403
    await wh.send(json.dumps({"type": "ping", "t": 2.0}))
    assert (await next_of(wh, "pong"))["t"] == 2.0
    await wh.close()


async def test_big_signaling_message_crosses_notify_limit(live: LiveApp) -> None:
    """A 40 KiB offer (over PostgreSQL's 8000-byte NOTIFY limit) arrives whole."""
    a, b = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, a, [b])
    wa, _ = await signal_in(live.url, room, a)
    wb, pb = await signal_in(live.url, room, b)
    sdp = "".join(f"a=candidate:{i} 1 udp 2122260223 192.0.2.{i % 250} {40000 + i} typ host é\r\n" for i in range(600))
    sdp = sdp[: 40 * 1024]
    await wa.send(json.dumps({"type": "offer", "to": pb, "sdp": sdp}))
    assert (await next_of(wb, "offer"))["sdp"] == sdp
    for ws in (wa, wb):
        await ws.close()


async def test_ticket_authenticates_only_its_room(live: LiveApp) -> None:
    host, other = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, host, [])
    other_room = await new_room(live.url, other, [host])
    async with httpx.AsyncClient(base_url=live.url) as http:
        h = {"Authorization": f"Bearer {host['token']}"}
        r = await http.post(f"/api/v1/sessions/{room}/ticket", headers=h)
        assert r.status_code == 201 and r.json()["expires_in"] == 30
        ticket = r.json()["ticket"]
        stranger = {"Authorization": f"Bearer {(await new_user(live.url))['token']}"}
        assert (await http.post(f"/api/v1/sessions/{room}/ticket", headers=stranger)).status_code == 404
    ws = await open_socket(live.url, room)
    await ws.send(json.dumps({"type": "auth", "ticket": ticket}))
    assert json.loads(await ws.recv())["type"] == "welcome"
    await ws.close()
    # The same ticket does not open another room, and a tampered one opens nothing.
    for target, value in ((other_room, ticket), (room, ticket[:-2] + "xx")):
        ws = await open_socket(live.url, target)
        await ws.send(json.dumps({"type": "auth", "ticket": value}))
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_the_room_pings_each_socket_every_heartbeat(live: LiveApp) -> None:
    """The heartbeat (1 s here) comes from the room's loop through each socket's outbox."""
    a, b = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, a, [b])
    wa, _ = await signal_in(live.url, room, a)
    wb, _ = await signal_in(live.url, room, b)
    for ws in (wa, wb):
        first = await next_of(ws, "ping", wait=3)
        second = await next_of(ws, "ping", wait=3)
        assert second["t"] > first["t"]
    for ws in (wa, wb):
        await ws.close()


async def test_open_sockets_are_counted_in_metrics(live: LiveApp) -> None:
    a, b = await new_user(live.url), await new_user(live.url)
    room = await new_room(live.url, a, [b])

    async def count() -> float:
        async with httpx.AsyncClient(base_url=live.url) as http:
            return sample((await http.get("/metrics")).text, "echoel_websocket_connections", kind="signaling")

    before = await count()
    wa, _ = await signal_in(live.url, room, a)
    wb, _ = await signal_in(live.url, room, b)
    assert await count() == before + 2
    await wa.close()
    await wb.close()
    for _ in range(50):
        if await count() == before:
            break
        await asyncio.sleep(0.1)
    assert await count() == before
