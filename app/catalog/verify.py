"""Server-side checks of an uploaded object before it joins a version."""

from __future__ import annotations

import io

import anyio.to_thread

from app.catalog import magic
from app.catalog.tables import Upload
from app.storage import ObjectStorage


class Rejected(Exception):
    """The object is not what the upload promised; the message says why."""


async def verify_object(storage: ObjectStorage, row: Upload, size: int) -> None:
    """Size, then SHA-256 when the client gave one, then magic bytes, then covers decode."""
    if size != row.size:
        raise Rejected(f"The file is {size} bytes; {row.size} were declared.")
    expected = magic.expected_family(row.content_type, row.role)
    if expected is not None:
        found = magic.sniff(await storage.read_head(row.object_key, magic.HEAD_BYTES))
        if found not in expected:
            raise Rejected(f"The file's content is not {row.content_type} (it looks like {found or 'unknown data'}).")
    if row.sha256:
        digest = await storage.sha256(row.object_key)
        if digest != row.sha256:
            raise Rejected("The SHA-256 checksum does not match the file's content.")
    if row.role == "cover":
        await _decode_image(storage, row.object_key, row.size)


async def _decode_image(storage: ObjectStorage, key: str, size: int) -> None:
    from PIL import Image, UnidentifiedImageError

    data = await storage.read_head(key, size)

    def check() -> None:
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # verify() misses truncated pixel data; a full decode does not
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise Rejected(f"The cover image is corrupt or unreadable ({exc}).") from None

    await anyio.to_thread.run_sync(check)
