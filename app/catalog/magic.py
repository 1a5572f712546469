"""Magic-byte checks: is this object really the image, audio file or archive it claims to be?"""

from __future__ import annotations

HEAD_BYTES = 64

IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp"}
AUDIO_TYPES = {
    "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac",
    "audio/mpeg", "audio/mp3", "audio/ogg", "application/ogg",
}  # fmt: skip
ARCHIVE_TYPES = {"application/zip", "application/x-zip-compressed"}


# (offset, signature, format): the first match wins.
_SIGNATURES = [
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (8, b"WEBP", "image/webp"),
    (8, b"WAVE", "audio/wav"),
    (0, b"fLaC", "audio/flac"),
    (0, b"OggS", "audio/ogg"),
    (0, b"ID3", "audio/mpeg"),
    # A zip starts with a local file header, or is empty (end of central directory only).
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),
]


def sniff(head: bytes) -> str | None:
    """The format the first bytes show, like "image/png", or None."""
    for offset, signature, found in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature and (offset == 0 or head[:4] == b"RIFF"):
            return found
    # MP3 without an ID3 tag: an MPEG audio frame sync (11 set bits) with a valid layer.
    if len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and head[1] & 0x06:
        return "audio/mpeg"
    return None


def expected_family(content_type: str, role: str) -> set[str] | None:
    """What a file declared as ``content_type`` in ``role`` must sniff as; None: no check applies."""
    if role == "cover" or content_type in IMAGE_TYPES:
        return {"image/png", "image/jpeg", "image/webp"} if role == "cover" else {_canon(content_type)}
    if role == "demo" or content_type in AUDIO_TYPES:
        return {"audio/wav", "audio/flac", "audio/ogg", "audio/mpeg"} if role == "demo" else {_canon(content_type)}
    if content_type in ARCHIVE_TYPES:
        return {"application/zip"}
    return None


def allowed_for_role(content_type: str, role: str) -> bool:
    if role == "cover":
        return content_type in IMAGE_TYPES
    if role == "demo":
        return content_type in AUDIO_TYPES
    return True


def _canon(content_type: str) -> str:
    aliases = {
        "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/vnd.wave": "audio/wav",
        "audio/x-flac": "audio/flac", "audio/mp3": "audio/mpeg", "application/ogg": "audio/ogg",
    }  # fmt: skip
    return aliases.get(content_type, content_type)


# Covers are decoded in full at completion (and made into thumbnails): keep them small.
COVER_MAX_BYTES = 20 * 1024 * 1024
