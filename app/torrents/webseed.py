"""Serving pack files over HTTP with Range (BEP 19 web seed) in the embedded default.

In production nginx serves the same paths from disk after asking the app (auth_request).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from app.core.errors import DomainError

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(DomainError):
    status, title = 416, "Range not satisfiable"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single ``bytes=`` range, None for the whole file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or (not match[1] and not match[2]):
        # Multiple ranges or another unit: serve the whole file, which RFC 9110 allows.
        return None
    if not match[1]:
        length = int(match[2])
        if length == 0:
            raise RangeNotSatisfiable("empty suffix range", size=size)
        return max(0, size - length), size - 1
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"range starts beyond the file ({size} bytes)", size=size)
    return start, end


async def read_span(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    """The bytes ``start..end`` (inclusive) of ``path``, in chunks, read off the event loop."""
    async with await anyio.open_file(path, "rb") as f:
        await f.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = await f.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
