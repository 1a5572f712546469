"""Server-side checks of an uploaded object before it joins a version."""

from __future__ import annotations

import anyio.to_thread

from app.catalog.tables import Upload
from app.media import images, magic
from app.storage import ObjectStorage

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}
AUDIO_TYPES = {
    "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac",
    "audio/mpeg", "audio/mp3", "audio/ogg", "application/ogg",
}  # fmt: skip
ARCHIVE_TYPES = {"application/zip", "application/x-zip-compressed"}
# Declared types that name the same format under another name.
_ALIASES = {
    "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
    "audio/x-flac": "audio/flac", "audio/mp3": "audio/mpeg", "application/ogg": "audio/ogg",
    "application/x-zip-compressed": "application/zip",
}  # fmt: skip
_CANONICAL_AUDIO = {"audio/wav", "audio/flac", "audio/ogg", "audio/mpeg"}

# Covers are decoded in full at completion (and made into thumbnails): keep them small.
COVER_MAX_BYTES = 20 * 1024 * 1024


class Rejected(Exception):
    """The object is not what the upload promised; the message says why."""


async def verify_object(storage: ObjectStorage, row: Upload, size: int) -> None:
    """Size, then SHA-256 when the client gave one, then magic bytes, then covers decode."""
    if size != row.size:
        raise Rejected(f"The file is {size} bytes; {row.size} were declared.")
    expected = expected_mimes(row.content_type, row.role)
    if expected is not None:
        found = magic.detect(await storage.read_head(row.object_key, magic.HEAD_BYTES))
        if found is None or found.mime not in expected:
            looks = found.mime if found else "unknown data"
            raise Rejected(f"The file's content is not {row.content_type} (it looks like {looks}).")
    if row.sha256:
        digest = await storage.sha256(row.object_key)
        if digest != row.sha256:
            raise Rejected("The SHA-256 checksum does not match the file's content.")
    if row.role == "cover":
        await decode_image(storage, row.object_key, row.size, "cover image")


def allowed_for_role(content_type: str, role: str) -> bool:
    """Whether a file declared as ``content_type`` may be uploaded as ``role``."""
    if role == "cover":
        return content_type in IMAGE_TYPES
    if role == "demo":
        return content_type in AUDIO_TYPES
    return True


def expected_mimes(content_type: str, role: str) -> set[str] | None:
    """The MIME types a file declared as ``content_type`` in ``role`` may be detected as; None: no check."""
    if role == "cover":
        return IMAGE_TYPES
    if role == "demo":
        return _CANONICAL_AUDIO
    if content_type in IMAGE_TYPES | AUDIO_TYPES | ARCHIVE_TYPES:
        return {_ALIASES.get(content_type, content_type)}
    return None


async def check_image(storage: ObjectStorage, key: str, size: int, what: str) -> None:
    """A PNG, JPEG or WebP image by its bytes (whatever was declared) that decodes in full."""
    found = magic.detect(await storage.read_head(key, magic.HEAD_BYTES))
    if found is None or found.mime not in IMAGE_TYPES:
        looks = found.mime if found else "unknown data"
        raise Rejected(f"The {what} is not a PNG, JPEG or WebP image (it looks like {looks}).")
    await decode_image(storage, key, size, what)


async def decode_image(storage: ObjectStorage, key: str, size: int, what: str) -> None:
    data = await storage.read_head(key, size)  # callers bound the size (COVER_MAX_BYTES or less)
    try:
        await anyio.to_thread.run_sync(images.verify_image, data)
    except images.ImageRefused as exc:
        raise Rejected(f"The {what} is refused: {exc}.") from None
