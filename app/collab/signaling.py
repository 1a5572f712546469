"""The signaling websocket ``/ws/sessions/{id}``: authenticate, then relay within the room.

Protocol: the client's first message, within ``AUTH_TIMEOUT`` seconds, is
``{"type": "auth", "token": "<access JWT>"}`` (never a token in the URL, where logs keep it).
The server answers ``welcome`` with the socket's peer id, announces ``join`` to the room, and
every present peer answers the newcomer with ``presence``. After that, offer / answer /
ice-candidate go to one peer (``to``), chat / panel-update / presence to everyone.

Close codes: 1008 policy violation (oversized, binary, flood), 4401 not authenticated,
4403 not a member (or removed, or a foreign Origin), 4408 silent too long.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from typing import Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath

from app.accounts.auth import user_for_token
from app.accounts.tables import User
from app.collab import messages as m
from app.collab import tickets
from app.collab.limits import TokenBucket, origin_ok
from app.collab.rooms import Outbox, Rooms
from app.collab.services import SessionService
from app.core.errors import NotFound
from app.ops.metrics import WEBSOCKET_CONNECTIONS

log = logging.getLogger("echoel.collab.signaling")

AUTH_TIMEOUT = 5.0
# Each room pings its sockets every heartbeat (settings) and closes those silent too long, as it
# re-checks membership and expiry (app.collab.rooms): no timer task per socket.
RATE, BURST = 50.0, 100.0
# Messages refused by the rate limit before the socket is closed as a flood.
FLOOD_STRIKES = 200

DIRECT = (m.Offer, m.Answer, m.IceCandidate)
SOCKETS = WEBSOCKET_CONNECTIONS.labels(kind="signaling")
# Put in a socket's outbox by the room's heartbeat; its writer sends the ping.
PING = m.Envelope(kind="ping", sender="", user_id="", to="")


class Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


async def authenticate(socket: WebSocket[Any, Any, Any], token: str) -> User | None:
    """The same checks as the HTTP JWT backend: signature, claims, typ == access, live generation."""
    return await user_for_token(socket.app.state.accounts.jwt, token, socket)


class Connection:
    """One authenticated socket in one room."""

    def __init__(self, socket: WebSocket[Any, Any, Any], rooms: Rooms, room: uuid.UUID, user: User) -> None:
        self.socket, self.rooms, self.room = socket, rooms, room
        self.peer = secrets.token_hex(8)
        # Only what the socket shows others: a whole User row stays in memory per socket otherwise.
        self.user_id, self.handle = str(user.id), user.handle
        # Filled by the room (app.collab.rooms), drained by this socket's writer.
        self.outbox = Outbox()
        self.bucket = TokenBucket(RATE, BURST)
        self.strikes = 0
        self.last_seen = time.monotonic()
        self.send_lock = asyncio.Lock()
        self.closed = False

    async def send(self, data: bytes) -> None:
        async with self.send_lock:
            if not self.closed:
                await self.socket.send_text(data.decode())

    async def publish(self, kind: str, body: bytes = b"null", to: str = "") -> None:
        envelope = m.Envelope(kind=kind, sender=self.peer, user_id=self.user_id, to=to, body=msgspec.Raw(body))
        await self.rooms.publish(self.room, envelope)

    # --- from the client ----------------------------------------------------------------

    async def on_text(self, text: str) -> None:
        if len(text.encode()) > m.MAX_MESSAGE_BYTES:
            raise Close(1008, "message too big")
        self.last_seen = time.monotonic()
        if not self.bucket.take():
            self.strikes += 1
            if self.strikes >= FLOOD_STRIKES:
                raise Close(1008, "too many messages")
            if self.strikes == 1 or self.strikes % 50 == 0:
                await self.send(m.error("rate-limited", "Slow down: messages are being dropped."))
            return
        self.strikes = 0
        try:
            msg = m.decode_inbound(text)
        except msgspec.DecodeError as exc:
            await self.send(m.error("bad-message", f"Not a valid message: {exc}"[:300]))
            return
        await self.route(msg)

    async def route(self, msg: Any) -> None:
        if isinstance(msg, m.Ping):
            await self.send(m.encode(m.Pong(t=msg.t)))
        elif isinstance(msg, m.Pong):
            pass
        elif isinstance(msg, m.Auth):
            await self.send(m.error("bad-message", "Already authenticated."))
        elif isinstance(msg, m.Leave):
            raise Close(1000, "left")
        elif isinstance(msg, DIRECT) or (isinstance(msg, m.Presence) and msg.to):
            if not msg.to or msg.to == self.peer:
                await self.send(m.error("bad-message", "Say which peer (`to`) this is for."))
                return
            msg.from_ = self.peer
            await self.publish("msg", m.encode(msg), to=msg.to)
        else:  # chat, panel-update, presence to everyone
            msg.from_ = self.peer
            if isinstance(msg, m.Chat):
                msg.handle = self.handle
            if isinstance(msg, m.Presence):
                msg.user_id, msg.handle = self.user_id, self.handle
            await self.publish("msg", m.encode(msg))

    # --- from the room ------------------------------------------------------------------

    async def on_event(self, env: m.Envelope) -> None:
        """One envelope the room addressed to this socket (kicks the room handles itself)."""
        if env.kind == "msg":
            await self.send(bytes(env.body))
        elif env.kind == "join":
            await self.send(bytes(env.body))
            me = m.Presence(to=env.sender, from_=self.peer, user_id=self.user_id, handle=self.handle)
            await self.publish("msg", m.encode(me), to=env.sender)
        elif env.kind == "leave":
            await self.send(m.encode(m.Leave(from_=env.sender, user_id=env.user_id)))
        elif env.kind == "ping":
            await self.send(m.encode(m.Ping(t=time.time())))

    async def beat(self, silent_limit: float) -> None:
        """The room's heartbeat: a ping through the outbox, or the end of a silent socket."""
        if time.monotonic() - self.last_seen > silent_limit:
            await self.close(4408, "silent too long")
        else:
            self.outbox.post(PING)

    async def close(self, code: int, reason: str) -> None:
        async with self.send_lock:
            if not self.closed:
                self.closed = True
                try:
                    await self.socket.close(code=code, reason=reason)
                except Exception:
                    log.debug("close failed", exc_info=True)


async def _reader(conn: Connection) -> None:
    while True:
        event = await conn.socket.receive()
        if event["type"] == "websocket.disconnect":
            return
        text = event.get("text")
        if not isinstance(text, str):
            raise Close(1008, "binary frames are not accepted")
        await conn.on_text(text)


async def _writer(conn: Connection) -> None:
    while not conn.closed:
        await conn.on_event(await conn.outbox.get())


async def _from_ticket(ticket: str, session_id: uuid.UUID, key: str) -> User | None:
    found = tickets.verify(key, ticket, session_id)
    if found is None:
        return None
    user = await User.objects().where(User.id == found[0]).first()
    return user if user is not None and user.token_generation == found[1] else None


async def _first_message(socket: WebSocket[Any, Any, Any]) -> str:
    event = await asyncio.wait_for(socket.receive(), AUTH_TIMEOUT)
    if event["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(detail="gone", code=1000)
    text = event.get("text")
    if not isinstance(text, str) or len(text) > m.MAX_MESSAGE_BYTES:
        raise Close(1008, "expected an auth message")
    return text


async def _login(socket: WebSocket[Any, Any, Any], session_id: uuid.UUID, sessions: SessionService) -> User:
    try:
        text = await _first_message(socket)
    except TimeoutError:
        raise Close(4401, "authenticate within 5 seconds") from None
    try:
        msg = m.decode_inbound(text)
    except msgspec.DecodeError:
        msg = None
    if not isinstance(msg, m.Auth):
        raise Close(4401, "the first message must be auth")
    user = (
        await authenticate(socket, msg.token)
        if msg.token
        else await _from_ticket(msg.ticket, session_id, sessions.ticket_key)
    )
    if user is None:
        raise Close(4401, "invalid or expired token")
    try:
        await sessions.membership(session_id, user.id)
    except NotFound:
        raise Close(4403, "not a member of this session") from None
    return user


@websocket("/ws/sessions/{session_id:uuid}", opt={"public": True})
async def signaling(socket: WebSocket[Any, Any, Any], session_id: FromPath[uuid.UUID]) -> None:
    """One participant's signaling socket; see the module docstring for the protocol."""
    sessions: SessionService = socket.app.state.sessions
    if not origin_ok(socket.headers.get("origin"), socket.app.state.collab_origins):
        await socket.close(code=4403, reason="origin not allowed")  # before accept: an HTTP 403
        return
    await socket.accept()
    conn: Connection | None = None
    try:
        user = await _login(socket, session_id, sessions)
        rooms: Rooms = socket.app.state.rooms
        conn = Connection(socket, rooms, session_id, user)
        await rooms.enter(session_id, conn)
        SOCKETS.inc()
        try:
            welcome = m.Welcome(peer=conn.peer, user_id=conn.user_id, handle=user.handle, session=str(session_id))
            await conn.send(m.encode(welcome))
            join = m.Join(from_=conn.peer, user_id=conn.user_id, handle=user.handle)
            await conn.publish("join", m.encode(join))
            await _run(conn)
        finally:
            SOCKETS.dec()
            await rooms.leave(session_id, conn)
    except Close as exc:
        if conn is None:
            await socket.close(code=exc.code, reason=exc.reason)
        else:
            await conn.close(exc.code, exc.reason)
    except WebSocketDisconnect:
        pass
    finally:
        if conn is not None:
            conn.closed = True
            try:
                await conn.publish("leave")
            except Exception:
                log.warning("could not announce a leave", exc_info=True)


async def _run(conn: Connection) -> None:
    tasks = [asyncio.create_task(t) for t in (_reader(conn), _writer(conn))]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        exc = task.exception()
        if exc is not None:
            raise exc
