"""Files served by the app with HTTP Range: one ``bytes=`` range, read off the event loop.

The embedded default's local-storage downloads and the packs' web seed (BEP 19) use these; in
production MinIO and nginx answer the same requests themselves.
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

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(detail, size=size)
        self.headers = {"Content-Range": f"bytes */{size}"}  # RFC 9110: the size to retry with


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


def answer_range(header: str | None, size: int) -> tuple[int, int, int, dict[str, str]]:
    """(start, end inclusive, status, headers) of the answer to ``Range: header`` for ``size`` bytes."""
    span = parse_range(header, size)
    start, end = span if span is not None else (0, size - 1)
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    if span is None:
        return start, end, 200, headers
    return start, end, 206, headers | {"Content-Range": f"bytes {start}-{end}/{size}"}


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
