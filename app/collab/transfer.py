"""File transfer over a data channel of its own, in the browser client's wire format.

The format (header with the sha256 up front, 16 KiB binary chunks, the receiver's verdict) is
described once, in the docstring of app/collab/peer.py. Files stream to and from disk, so their
size is not bounded by memory; hashing and disk I/O run off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import mimetypes
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from aiortc import RTCDataChannel, RTCPeerConnection

CHUNK = 16 * 1024
# Stop queueing above HIGH buffered bytes; resume when the channel drains below LOW.
HIGH, LOW = 1024 * 1024, 256 * 1024
# How long a receiver may take to answer once it has every byte (it hashes a browser's whole Blob).
VERDICT_SECONDS = 300


def _sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


async def _opened(channel: RTCDataChannel) -> None:
    if channel.readyState == "open":
        return
    event = asyncio.Event()
    channel.once("open", event.set)
    await event.wait()


async def _drained(channel: RTCDataChannel) -> None:
    if channel.bufferedAmount <= HIGH:
        return
    event = asyncio.Event()
    channel.bufferedAmountLowThreshold = LOW
    channel.once("bufferedamountlow", event.set)
    if channel.bufferedAmount > LOW:
        await event.wait()


async def send_file(pc: RTCPeerConnection, path: Path) -> str:
    """Send ``path`` on a new "file" channel; return its sha256 once the receiver confirmed it."""
    size = (await anyio.Path(path).stat()).st_size
    # The header carries the digest, so the file is read twice: once to hash, once to send.
    sha256 = await anyio.to_thread.run_sync(_sha256_file, path)
    channel = pc.createDataChannel("file", ordered=True)
    verdict: asyncio.Queue[Any] = asyncio.Queue()
    channel.on("message", verdict.put_nowait)
    await _opened(channel)
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    channel.send(json.dumps({"name": path.name, "size": size, "type": kind, "sha256": sha256}))
    async with await anyio.open_file(path, "rb") as f:
        while chunk := await f.read(CHUNK):
            await _drained(channel)
            channel.send(chunk)
    reply = json.loads(await asyncio.wait_for(verdict.get(), VERDICT_SECONDS))
    channel.close()
    if not reply.get("ok") or reply.get("sha256") != sha256:
        raise RuntimeError(f"the receiver got a different file: {reply}")
    return sha256


async def receive_file(channel: RTCDataChannel, inbox: asyncio.Queue[str | bytes], folder: Path) -> Path:
    """Receive one file from a "file" channel into ``folder``; return its path once its sha256 matched."""
    header = json.loads(await inbox.get())
    size = int(header["size"])
    # Only the base name: a sender cannot write outside the folder.
    target = folder / (Path(str(header["name"])).name or "received.bin")
    digest, got = hashlib.sha256(), 0
    async with await anyio.open_file(target, "wb") as f:
        while got < size:
            item = await inbox.get()
            if isinstance(item, str):
                raise RuntimeError("the sender stopped before the whole file arrived")
            digest.update(item)
            got += len(item)
            await f.write(item)
    ok = digest.hexdigest() == header.get("sha256") and got == size
    closed = asyncio.Event()
    channel.once("close", closed.set)
    channel.send(json.dumps({"ok": ok, "sha256": digest.hexdigest()}))
    # The sender closes the channel once it has read our answer; closing first could drop it.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(closed.wait(), 15)
    if not ok:
        target.unlink(missing_ok=True)
        raise RuntimeError("the file arrived damaged (checksum or size mismatch); it was deleted")
    return target
