"""A terminal peer built on aiortc: signaling client, connection set-up and file transfer.

The newcomer in a room offers (it learns about present peers from their ``presence``
answers); a peer that sees someone ``join`` waits for that peer's offer. The offerer opens
the "file" data channel. aiortc gathers every candidate before it answers, so offers and
answers carry complete SDP and no trickled candidates are needed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)


@dataclass
class Login:
    base_url: str
    access_token: str
    user_id: str


async def login(base_url: str, email: str, password: str) -> Login:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        r = await http.post("/api/v1/auth/login", json={"email": email, "password": password, "refresh_in_body": True})
        if r.status_code != 200:
            raise RuntimeError(f"log-in failed ({r.status_code}): {r.text[:200]}")
        body = r.json()
        return Login(base_url, body["access_token"], body["account"]["id"])


async def ice_servers(auth: Login, session_id: str) -> list[RTCIceServer]:
    async with httpx.AsyncClient(base_url=auth.base_url, timeout=30) as http:
        r = await http.get(
            f"/api/v1/sessions/{session_id}/ice", headers={"Authorization": f"Bearer {auth.access_token}"}
        )
        r.raise_for_status()
        return [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in r.json()["iceServers"]
        ]


def ws_url(base_url: str, session_id: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/ws/sessions/{session_id}"


@dataclass
class Signaling:
    """An authenticated signaling socket."""

    ws: Any
    peer: str = ""  # our peer id in the room

    @classmethod
    async def connect(cls, auth: Login, session_id: str) -> Signaling:
        ws = await websockets.connect(ws_url(auth.base_url, session_id), max_size=2**20)
        await ws.send(json.dumps({"type": "auth", "token": auth.access_token}))
        welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"signaling refused us: {welcome}")
        return cls(ws=ws, peer=welcome["peer"])

    async def send(self, **msg: Any) -> None:
        await self.ws.send(json.dumps(msg))

    async def recv(self, *types: str) -> dict[str, Any]:
        """The next message of one of ``types`` (pings are answered on the way)."""
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("type") == "ping":
                await self.send(type="pong", t=msg.get("t", 0))
            elif msg.get("type") in types:
                return msg  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.ws.close()


async def connect_peer(
    signaling: Signaling, servers: list[RTCIceServer], *, relay_only: bool = False, wait: float = 60
) -> tuple[RTCPeerConnection, RTCDataChannel, asyncio.Queue[str | bytes]]:
    """Meet the first other peer in the room; return the open "file" data channel and its inbox.

    The inbox collects the channel's messages from the moment the channel exists, so nothing
    the other side sends right after opening is lost before the caller starts reading.
    """
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=policy))
    opened: asyncio.Future[RTCDataChannel] = asyncio.get_running_loop().create_future()
    inbox: asyncio.Queue[str | bytes] = asyncio.Queue()

    def ready(channel: RTCDataChannel) -> None:
        channel.on("message", inbox.put_nowait)
        if channel.readyState == "open":
            if not opened.done():
                opened.set_result(channel)
        else:
            channel.on("open", lambda: None if opened.done() else opened.set_result(channel))

    pc.on("datachannel", ready)

    async def negotiate() -> None:
        first = await signaling.recv("presence", "join", "offer")
        # The lower peer id offers. Deciding by who arrived first (presence vs join) failed when
        # both joined at once: each saw the other's join, and both waited for an offer.
        if first["type"] != "offer" and signaling.peer < first["from"]:
            ready(pc.createDataChannel("file"))
            await pc.setLocalDescription(await pc.createOffer())
            await signaling.send(type="offer", to=first["from"], sdp=pc.localDescription.sdp)
            answer = await signaling.recv("answer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        else:
            offer = first if first["type"] == "offer" else await signaling.recv("offer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            await signaling.send(type="answer", to=offer["from"], sdp=pc.localDescription.sdp)

    await asyncio.wait_for(negotiate(), wait)
    channel = await asyncio.wait_for(opened, wait)
    return pc, channel, inbox


def route(pc: RTCPeerConnection) -> str:
    """The local candidate type of the pair ICE chose: "host", "srflx" or "relay" ("?" if unknown)."""
    # aiortc exposes no getStats() candidate-pair entry yet; read aioice's nominated pair.
    try:
        connection = pc.sctp.transport.transport._connection
        pair = next(iter(connection._nominated.values()))
        return str(pair.local_candidate.type)
    except (AttributeError, StopIteration):
        return "?"
