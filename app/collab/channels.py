"""Fan-out of signaling between worker processes through Litestar's channels plugin.

SQLite (the embedded default, one process): no plugin; rooms deliver within the process.
PostgreSQL (several workers): Litestar's ``AsyncPgChannelsBackend`` (LISTEN/NOTIFY) with two adjustments:

* one long-lived publishing connection per worker instead of a new connection per message
  (connecting costs milliseconds; the lock also keeps one worker's messages in order);
* NOTIFY refuses payloads of 8000 bytes or more, and a signaling message may be 64 KiB, so a
  payload over ``NOTIFY_CHUNK_CHARS`` is split into numbered parts and put back together by
  every listening worker before the plugin sees it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

from app.core.settings import Settings

# ASCII payloads go out in parts of this many characters (bytes); others in parts a quarter the
# size, as one character may take four bytes in UTF-8. Both stay under NOTIFY's 8000 bytes.
NOTIFY_CHUNK_CHARS = 7000
# Half-assembled messages older than this are dropped (their sender went away mid-message).
PARTIAL_TTL_SECONDS = 30.0


class ChunkingAsyncPgBackend(AsyncPgChannelsBackend):
    """AsyncPgChannelsBackend with a persistent publisher and payloads split to fit NOTIFY."""

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn=dsn)
        self._dsn = dsn
        self._pub_conn: asyncpg.Connection | None = None
        self._pub_lock = asyncio.Lock()
        self._partial: dict[str, tuple[float, list[str | None]]] = {}

    async def on_shutdown(self) -> None:
        if self._pub_conn is not None:
            await self._pub_conn.close()
            self._pub_conn = None
        await super().on_shutdown()

    async def publish(self, data: bytes, channels: Any) -> None:
        text = data.decode()
        size = NOTIFY_CHUNK_CHARS if text.isascii() else NOTIFY_CHUNK_CHARS // 4
        if len(text) <= size:
            parts = ["-" + text]
        else:
            mid, pieces = uuid.uuid4().hex, [text[i : i + size] for i in range(0, len(text), size)]
            parts = [f"{mid}:{i}:{len(pieces)}:{piece}" for i, piece in enumerate(pieces)]
        async with self._pub_lock:
            for attempt in (1, 2):
                try:
                    if self._pub_conn is None or self._pub_conn.is_closed():
                        self._pub_conn = await asyncpg.connect(dsn=self._dsn)
                    for channel in channels:
                        await self._pub_conn.executemany("SELECT pg_notify($1, $2)", [(channel, p) for p in parts])
                    return
                except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
                    # The connection died (database restart): reconnect once, then give up.
                    self._pub_conn = None
                    if attempt == 2:
                        raise

    def _listener(self, /, connection: Any, pid: int, channel: str, payload: object) -> None:
        if not isinstance(payload, str) or self._queue is None:
            return
        if payload.startswith("-"):
            self._queue.put_nowait((channel, payload[1:].encode()))
            return
        whole = self._assemble(payload)
        if whole is not None:
            self._queue.put_nowait((channel, whole.encode()))

    def _assemble(self, payload: str) -> str | None:
        try:
            mid, index, count, piece = payload.split(":", 3)
            i, n = int(index), int(count)
        except ValueError:
            return None
        now = time.monotonic()
        for key in [k for k, (t, _) in self._partial.items() if now - t > PARTIAL_TTL_SECONDS]:
            del self._partial[key]
        _started, parts = self._partial.setdefault(mid, (now, [None] * n))
        if not (0 <= i < len(parts)):
            return None
        parts[i] = piece
        if any(p is None for p in parts):
            return None
        del self._partial[mid]
        return "".join(p or "" for p in parts)


def make_channels(settings: Settings) -> ChannelsPlugin | None:
    """The channels plugin for signaling between workers; None on SQLite, which runs one process
    and whose rooms deliver within it (app.collab.rooms)."""
    if settings.is_sqlite:
        return None
    backend = ChunkingAsyncPgBackend(settings.db_url)
    # A room's subscription (one per room per worker, app.collab.rooms) that falls behind holds at
    # most this many events, then drops new ones ("backoff"); each socket's own limit is its Outbox.
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="backoff",
    )


def room_channel(session_id: uuid.UUID) -> str:
    # LISTEN channel names are identifiers of at most 63 bytes: "collab_" + 32 hex digits.
    return f"collab_{session_id.hex}"
