"""The comparison relay: the same signaling relay on the bare ``websockets`` library, no framework.

Run as ``python scripts/bench/_ws_relay.py PORT``. Path ``/ws/sessions/<room>``; the first
message is ``{"type": "auth", ...}`` (accepted unchecked), answered with ``welcome``; after that a
message naming a peer (``to``) is stamped with ``from`` and sent to that peer in the same room.
It answers ``GET /`` with 200 for the readiness probe.
"""

from __future__ import annotations

import asyncio
import http
import secrets
import sys
from typing import Any

import msgspec
import uvloop
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

rooms: dict[str, dict[str, ServerConnection]] = {}
decode = msgspec.json.Decoder(dict[str, Any]).decode
encode = msgspec.json.Encoder().encode


async def handler(ws: ServerConnection) -> None:
    room = ws.request.path.rsplit("/", 1)[-1] if ws.request else ""
    first = decode(await ws.recv())
    if first.get("type") != "auth":
        await ws.close(4401)
        return
    peer = secrets.token_hex(8)
    members = rooms.setdefault(room, {})
    members[peer] = ws
    await ws.send(encode({"type": "welcome", "peer": peer}).decode())
    try:
        async for raw in ws:
            msg = decode(raw)
            if msg.get("type") == "pong":
                continue
            target = members.get(msg.get("to", ""))
            if target is not None:
                msg["from"] = peer
                await target.send(encode(msg).decode())
    finally:
        members.pop(peer, None)
        if not members:
            rooms.pop(room, None)


def ready(_: ServerConnection, request: Request) -> Response | None:
    if request.path == "/":
        return Response(http.HTTPStatus.OK, "OK", __import__("websockets").datastructures.Headers(), b"ok\n")
    return None


async def main(port: int) -> None:
    # Without permessage-deflate, as `echoel run` serves signaling: the same work on both sides.
    async with serve(handler, "127.0.0.1", port, process_request=ready, max_size=64 * 1024, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    # The event loop `echoel run` gets from uvicorn: the same on both sides.
    uvloop.run(main(int(sys.argv[1])))
