"""File transfer over an RTCDataChannel: 16 KiB chunks, backpressure, sha256 checked at the end.

Wire format on the channel: a JSON text header ``{"name", "size"}``, binary chunks, then a
JSON text trailer ``{"sha256"}``; the receiver answers ``{"ok": true|false, "sha256"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from pathlib import Path

import anyio
from aiortc import RTCDataChannel

CHUNK = 16 * 1024
# Stop queueing above HIGH buffered bytes; resume when the channel drains below LOW.
HIGH, LOW = 1024 * 1024, 256 * 1024


async def _drained(channel: RTCDataChannel) -> None:
    if channel.bufferedAmount <= HIGH:
        return
    event = asyncio.Event()
    channel.bufferedAmountLowThreshold = LOW
    channel.once("bufferedamountlow", event.set)
    if channel.bufferedAmount > LOW:
        await event.wait()


async def send_file(channel: RTCDataChannel, inbox: asyncio.Queue[str | bytes], path: Path) -> str:
    """Send ``path``; return its sha256 once the receiver confirmed the same digest."""
    size = (await anyio.Path(path).stat()).st_size
    channel.send(json.dumps({"name": path.name, "size": size}))
    digest = hashlib.sha256()
    async with await anyio.open_file(path, "rb") as f:
        while chunk := await f.read(CHUNK):
            digest.update(chunk)
            await _drained(channel)
            channel.send(chunk)
    channel.send(json.dumps({"sha256": digest.hexdigest()}))
    reply = json.loads(await inbox.get())
    if not reply.get("ok") or reply.get("sha256") != digest.hexdigest():
        raise RuntimeError(f"the receiver got a different file: {reply}")
    return digest.hexdigest()


async def receive_file(channel: RTCDataChannel, queue: asyncio.Queue[str | bytes], folder: Path) -> Path:
    """Receive one file into ``folder``; return its path once its sha256 matched the sender's."""
    header = json.loads(await queue.get())
    # Only the base name: a sender cannot write outside the folder.
    name = Path(str(header["name"])).name or "received.bin"
    target = folder / name
    digest, got = hashlib.sha256(), 0
    async with await anyio.open_file(target, "wb") as f:
        while True:
            item = await queue.get()
            if isinstance(item, str):
                trailer = json.loads(item)
                break
            digest.update(item)
            got += len(item)
            await f.write(item)
    ok = trailer.get("sha256") == digest.hexdigest() and got == header["size"]
    closed = asyncio.Event()
    channel.once("close", closed.set)
    channel.send(json.dumps({"ok": ok, "sha256": digest.hexdigest()}))
    # The sender hangs up once it has read our answer; closing first could drop the answer.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(closed.wait(), 15)
    if not ok:
        target.unlink(missing_ok=True)
        raise RuntimeError("the file arrived damaged (checksum or size mismatch); it was deleted")
    return target
