"""A terminal peer built on aiortc: signaling client, connection set-up and file transfer.

It speaks the peer protocol of the browser client (static/js/session/mesh.js and files.js), so a
terminal and a browser can meet in one session. This docstring is that protocol's reference.

Negotiation ("perfect negotiation"): when two peers meet (``join`` or ``presence``), the side
with the greater peer id is *polite* and the other, impolite, makes the first offer; after that
either may offer (a browser adding audio). On glare the impolite side ignores the other's offer,
and the polite side drops its own (browsers roll back) and answers. A first offer is never
rolled back: that left headless Chromium answering without ever gathering candidates. aiortc
cannot roll back, so the terminal peer never offers when it is the polite side: it answers
whatever offer comes, renegotiations included. An offer of its own left unanswered is made
again after 8 s, and a peer that leaves before connecting is given up for the next one in the
room. Candidates trickle as ``ice-candidate`` messages (``candidate`` is an RTCIceCandidateInit,
``null`` marks the end); aiortc gathers before it describes itself, so its own SDP carries all
of its candidates and it sends none.

Data channels: every connection has a negotiated channel "meta" (id 0, ordered) for JSON
messages such as the shared panel; it opening means the peers are connected. Each file goes over
a channel of its own labelled "file", opened in-band by the sender:

1. the sender sends a JSON text header ``{"name", "size", "type", "sha256"}`` (hex digest of
   the whole file, known before the first byte is sent);
2. then the bytes as binary messages of at most 16 KiB (what every browser delivers reliably),
   with backpressure on ``bufferedAmount``;
3. the receiver, once it holds ``size`` bytes, answers ``{"ok", "sha256"}`` with the digest it
   computed (``ok`` when both digest and size match), and the sender closes the channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceCandidate,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.exceptions import InvalidAccessError, InvalidStateError, OperationError
from aiortc.sdp import candidate_from_sdp

log = logging.getLogger(__name__)

# Seconds without a signaling message before an unanswered offer is made again (mesh.js: 8 s).
RETRY_SECONDS = 8.0


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


def parse_candidate(init: dict[str, Any] | None) -> RTCIceCandidate | None:
    """An aiortc candidate from a browser's RTCIceCandidateInit; None for end-of-candidates."""
    text = str((init or {}).get("candidate") or "")
    if not text:
        return None
    candidate = candidate_from_sdp(text.removeprefix("candidate:"))
    candidate.sdpMid = (init or {}).get("sdpMid")
    candidate.sdpMLineIndex = (init or {}).get("sdpMLineIndex")
    return candidate


def _ufrag(sdp: str) -> str | None:
    for line in sdp.splitlines():
        if line.startswith("a=ice-ufrag:"):
            return line.removeprefix("a=ice-ufrag:").strip()
    return None


class PeerLink:
    """A connection to the first other peer met in the room, negotiated as the module says.

    ``files`` receives each "file" channel the other side opens, with an inbox that collects its
    messages from the moment the channel exists (nothing sent right after opening is lost).
    """

    def __init__(self, signaling: Signaling, servers: list[RTCIceServer], *, relay_only: bool = False) -> None:
        policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
        self.signaling = signaling
        self._config = RTCConfiguration(iceServers=servers, iceTransportPolicy=policy)
        self.files: asyncio.Queue[tuple[RTCDataChannel, asyncio.Queue[str | bytes]]] = asyncio.Queue()
        self._opened = asyncio.Event()
        self._meet("")

    def _meet(self, other: str) -> None:
        """A fresh connection, to be negotiated with ``other`` (or the first peer heard from)."""
        self.pc = RTCPeerConnection(self._config)
        self.meta = self.pc.createDataChannel("meta", negotiated=True, id=0, ordered=True)
        self.meta.on("open", self._opened.set)
        self.pc.on("datachannel", self._incoming)
        self.other = other
        self.polite = False
        self._ignore_offer = False
        self._pending: list[dict[str, Any] | None] = []  # candidates that came before their description

    def _incoming(self, channel: RTCDataChannel) -> None:
        if channel.label != "file":
            return
        inbox: asyncio.Queue[str | bytes] = asyncio.Queue()
        channel.on("message", inbox.put_nowait)
        self.files.put_nowait((channel, inbox))

    async def run(self) -> None:
        """Handle signaling for this link until cancelled (answers, candidates, renegotiations)."""
        present: dict[str, None] = {}  # the other peers in the room, in the order we heard of them
        while True:
            try:
                msg = await asyncio.wait_for(
                    self.signaling.recv("presence", "join", "leave", "offer", "answer", "ice-candidate"), RETRY_SECONDS
                )
            except TimeoutError:
                await self._retry()
                continue
            sender = str(msg.get("from") or "")
            if msg["type"] == "leave":
                present.pop(sender, None)
                if sender == self.other and not self._opened.is_set():
                    # The peer we were meeting left before we connected (a socket of theirs
                    # closing as we joined, say): start over with the next one in the room.
                    await self.pc.close()
                    self._meet("")
                    if present:
                        await self._greet(next(iter(present)), offering=True)
                continue
            present.setdefault(sender, None)
            if not self.other:
                await self._greet(sender, offering=msg["type"] != "offer")
            if sender != self.other or msg["type"] in ("presence", "join"):
                continue  # one link per terminal peer: other participants are not ours to meet
            try:
                if msg["type"] == "ice-candidate":
                    await self._candidate(msg.get("candidate"))
                else:
                    await self._description(msg)
            except (ValueError, AssertionError, InvalidAccessError, InvalidStateError, OperationError) as exc:
                # One bad description or candidate (say, an ICE restart aiortc cannot follow)
                # must not end the link: the peer may still renegotiate or retry.
                log.warning("ignored %s from %s: %r", msg["type"], self.other, exc)

    async def _retry(self) -> None:
        """When our offer went unanswered (lost, or ignored while the other met someone else),
        offer again on a fresh connection, as the browser's watchdog does."""
        unanswered = self.pc.signalingState == "have-local-offer"
        if self.other and not self.polite and not self._opened.is_set() and unanswered:
            await self.pc.close()
            self._meet(self.other)
            await self._greet(self.other, offering=True)

    async def _greet(self, other: str, *, offering: bool) -> None:
        """Meet ``other``; the impolite side offers unless an offer of theirs is what came."""
        self.other = other
        # The same rule as the browser's mesh, so both ends agree on who is polite.
        self.polite = self.signaling.peer > other
        if offering and not self.polite:
            await self._offer()

    async def _offer(self) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.signaling.send(type="offer", to=self.other, sdp=self.pc.localDescription.sdp)

    async def _description(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "answer":
            if self.pc.signalingState == "have-local-offer":
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="answer"))
                await self._flush()
            return
        # Only the impolite side ever has an offer out when one arrives: glare, ignore theirs.
        self._ignore_offer = self.pc.signalingState != "stable"
        if self._ignore_offer:
            self._pending.clear()
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.signaling.send(type="answer", to=self.other, sdp=self.pc.localDescription.sdp)
        await self._flush()

    async def _candidate(self, init: dict[str, Any] | None) -> None:
        if self._ignore_offer:
            return  # they belong to the offer we ignored
        if self.pc.remoteDescription is None:
            self._pending.append(init)
            return
        ufrag = (init or {}).get("usernameFragment")
        # Candidates of a description since replaced (a browser's rolled-back offer) would only
        # add checks that can never succeed.
        if ufrag and ufrag != _ufrag(self.pc.remoteDescription.sdp):
            return
        await self.pc.addIceCandidate(parse_candidate(init))

    async def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for init in pending:
            await self._candidate(init)

    async def connected(self, wait: float) -> None:
        """Wait until the "meta" channel is open: the connection is up."""
        await asyncio.wait_for(self._opened.wait(), wait)

    async def close(self) -> None:
        await self.pc.close()


@contextlib.asynccontextmanager
async def linked(
    signaling: Signaling, servers: list[RTCIceServer], *, relay_only: bool = False, wait: float = 60
) -> AsyncIterator[PeerLink]:
    """A connected PeerLink whose signaling runs in the background for as long as it is in use."""
    link = PeerLink(signaling, servers, relay_only=relay_only)
    task = asyncio.create_task(link.run())
    try:
        opened = asyncio.create_task(link.connected(wait))
        await asyncio.wait({task, opened}, return_when=asyncio.FIRST_COMPLETED)
        if not opened.done():
            opened.cancel()
            task.result()  # the signaling loop ended first: its error, if it had one
            raise ConnectionError("signaling closed before the peers connected")
        if opened.exception() is not None:
            raise TimeoutError(f"no peer connected within {wait:.0f} s (is anyone else in the session?)")
        yield link
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task
        await link.close()


def route(pc: RTCPeerConnection) -> str:
    """The local candidate type of the pair ICE chose: "host", "srflx" or "relay" ("?" if unknown)."""
    # aiortc exposes no getStats() candidate-pair entry yet; read aioice's nominated pair.
    try:
        connection = pc.sctp.transport.transport._connection
        pair = next(iter(connection._nominated.values()))
        return str(pair.local_candidate.type)
    except (AttributeError, StopIteration):
        return "?"
