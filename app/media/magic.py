"""File type from the first bytes, not from the name or the uploader's word."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Enough for every signature below, and for a fair guess at whether a file is text.
HEAD_BYTES = 512

Category = Literal["image", "audio", "archive", "midi", "preset", "text"]


@dataclass(frozen=True)
class FileType:
    name: str  # short name: png, wav, zip …
    mime: str
    category: Category


PNG = FileType("png", "image/png", "image")
JPEG = FileType("jpeg", "image/jpeg", "image")
GIF = FileType("gif", "image/gif", "image")
WEBP = FileType("webp", "image/webp", "image")
WAV = FileType("wav", "audio/wav", "audio")
AIFF = FileType("aiff", "audio/aiff", "audio")
FLAC = FileType("flac", "audio/flac", "audio")
MP3 = FileType("mp3", "audio/mpeg", "audio")
OGG = FileType("ogg", "audio/ogg", "audio")
M4A = FileType("m4a", "audio/mp4", "audio")
MP4 = FileType("mp4", "video/mp4", "audio")  # a demo may come as video; we only take its sound
ZIP = FileType("zip", "application/zip", "archive")
SEVEN_Z = FileType("7z", "application/x-7z-compressed", "archive")
RAR = FileType("rar", "application/vnd.rar", "archive")
MIDI = FileType("midi", "audio/midi", "midi")
FXP = FileType("fxp", "application/octet-stream", "preset")  # VST2 preset/bank (Serum, Sylenth …)
JSON_TEXT = FileType("json", "application/json", "text")  # Vital and many other presets
XML_TEXT = FileType("xml", "application/xml", "text")  # Ableton (gunzipped), Bitwig, u-he …
TEXT = FileType("text", "text/plain", "text")  # u-he .h2p, Sylenth text presets, readmes

_PREFIXES: list[tuple[bytes, FileType]] = [
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"fLaC", FLAC),
    (b"OggS", OGG),
    (b"ID3", MP3),
    # A zip starts with a local file header, or is empty (end of central directory only).
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
    (b"7z\xbc\xaf\x27\x1c", SEVEN_Z),
    (b"Rar!\x1a\x07\x00", RAR),
    (b"Rar!\x1a\x07\x01\x00", RAR),
    (b"MThd", MIDI),
    (b"CcnK", FXP),
]


def detect(head: bytes) -> FileType | None:
    """The type of a file whose first bytes are ``head`` (pass ``HEAD_BYTES``); None if unknown."""
    for prefix, kind in _PREFIXES:
        if head.startswith(prefix):
            return kind
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"WEBP"):
        return WAV if head[8:12] == b"WAVE" else WEBP
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return AIFF
    if head[4:8] == b"ftyp":
        return M4A if head[8:11] == b"M4A" else MP4
    if _mpeg_frame(head):
        return MP3
    return _text(head)


def _mpeg_frame(head: bytes) -> bool:
    # An MPEG audio frame header: 11 sync bits, a valid version and layer, a bitrate index that
    # is neither free (0) nor bad (15), and a sample rate index that is not reserved (3).
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate not in (0, 15) and rate != 3


def _text(head: bytes) -> FileType | None:
    if not head or b"\x00" in head:
        return None
    text = head.removeprefix(b"\xef\xbb\xbf")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may end in the middle of a multi-byte character.
        if exc.start < len(text) - 3:
            return None
        decoded = text[: exc.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\r\n\f" for c in decoded):
        return None
    stripped = decoded.lstrip()
    if stripped.startswith(("{", "[")):
        return JSON_TEXT
    if stripped.startswith("<"):
        return XML_TEXT
    return TEXT
