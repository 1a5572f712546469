"""Type detection from the first bytes, on real files of each type where we can make one."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app.media import magic
from tests.unit.media.helpers import encode, sine_wav


def head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(magic.HEAD_BYTES)


@pytest.mark.parametrize(
    ("fmt", "expected"), [("PNG", magic.PNG), ("JPEG", magic.JPEG), ("WEBP", magic.WEBP), ("GIF", magic.GIF)]
)
def test_images(tmp_path: Path, fmt: str, expected: magic.FileType) -> None:
    path = tmp_path / "x"
    Image.new("RGB", (16, 16)).save(path, fmt)
    assert magic.detect(head(path)) == expected


@pytest.mark.parametrize(
    ("fmt", "codec", "expected"),
    [
        ("flac", "flac", magic.FLAC),
        ("aiff", "pcm_s16be", magic.AIFF),
        ("mp3", "libmp3lame", magic.MP3),
        ("ogg", "libopus", magic.OGG),
        ("ipod", "aac", magic.M4A),
    ],
)
def test_audio(tmp_path: Path, fmt: str, codec: str, expected: magic.FileType) -> None:
    wav = sine_wav(tmp_path / "a.wav", seconds=0.2)
    assert magic.detect(head(wav)) == magic.WAV
    assert magic.detect(head(encode(wav, tmp_path / "out", fmt, codec))) == expected


def test_mp3_without_id3_is_found_by_its_frame_sync(tmp_path: Path) -> None:
    wav = sine_wav(tmp_path / "a.wav", seconds=0.2)
    mp3 = encode(wav, tmp_path / "out.mp3", "mp3", "libmp3lame").read_bytes()
    if mp3.startswith(b"ID3"):  # skip the tag: size is a 28-bit "syncsafe" integer
        size = (mp3[6] << 21) | (mp3[7] << 14) | (mp3[8] << 7) | mp3[9]
        mp3 = mp3[10 + size :]
    assert magic.detect(mp3[:512]) == magic.MP3


def test_archives_and_others(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a.txt", "x")
    assert magic.detect(head(path)) == magic.ZIP
    assert magic.detect(b"7z\xbc\xaf\x27\x1c\x00\x04") == magic.SEVEN_Z
    assert magic.detect(b"Rar!\x1a\x07\x01\x00") == magic.RAR
    assert magic.detect(b"MThd\x00\x00\x00\x06") == magic.MIDI
    assert magic.detect(b"CcnK\x00\x00\x01\x00FPChSerum") == magic.FXP


def test_text_presets() -> None:
    assert magic.detect(b'{"preset_name": "Wobble", "settings": {}}') == magic.JSON_TEXT
    assert magic.detect(b'\xef\xbb\xbf<?xml version="1.0"?><preset/>') == magic.XML_TEXT
    assert magic.detect("#cm=Diva\nVCO1: Tune=0 — Ω\n".encode()) == magic.TEXT
    # A head cut in the middle of a multi-byte character is still text.
    assert magic.detect("é".encode() * 10 + "é".encode()[:1]) == magic.TEXT


def test_unknown_and_binary() -> None:
    assert magic.detect(b"") is None
    assert magic.detect(bytes(range(256))) is None
    assert magic.detect(b"\xff\xd9 not a jpeg") is None
    assert magic.detect(b"\xff\xff\xff\xff") is None  # sync bits but a reserved layout
