"""Covers: verified with Pillow, thumbnailed to WebP without EXIF; corrupt files and bombs refused."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from app.media.images import ImageRefused, make_thumbnails, verify_image


def photo_with_exif(path: Path) -> Path:
    im = Image.new("RGB", (2000, 1000), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretPhoneMaker"
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0)}  # GPS info
    im.save(path, "JPEG", exif=exif.tobytes(), quality=90)
    return path


def test_thumbnails_are_webp_upright_and_without_exif(tmp_path: Path) -> None:
    src = photo_with_exif(tmp_path / "cover.jpg")
    assert b"SecretPhoneMaker" in src.read_bytes()
    thumbs = make_thumbnails(src, tmp_path / "thumbs")
    assert [(t.width, t.height) for t in thumbs] == [(640, 1280), (1000, 2000)]  # upright, never upscaled
    for thumb in thumbs:
        raw = thumb.path.read_bytes()
        assert b"SecretPhoneMaker" not in raw
        assert b"Exif" not in raw
        with Image.open(thumb.path) as im:
            assert im.format == "WEBP"
            assert (im.width, im.height) == (thumb.width, thumb.height)
            assert not im.getexif()
            assert im.getpixel((10, 10))[0] > 150  # still red


def test_transparency_survives(tmp_path: Path) -> None:
    src = tmp_path / "logo.png"
    Image.new("RGBA", (1500, 1500), (0, 0, 0, 0)).save(src)
    thumbs = make_thumbnails(src, tmp_path / "t", widths=(640,))
    with Image.open(thumbs[0].path) as im:
        assert im.mode == "RGBA"
        assert im.getpixel((5, 5))[3] == 0


def test_verify_reports_format_and_size(tmp_path: Path) -> None:
    src = tmp_path / "c.png"
    Image.new("RGB", (300, 200)).save(src)
    info = verify_image(src)
    assert (info.format, info.width, info.height) == ("PNG", 300, 200)


def test_a_truncated_image_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "c.png"
    Image.effect_noise((800, 800), 60).convert("RGB").save(src)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageRefused, match=r"damaged|not an image"):
        verify_image(src)
    with pytest.raises(ImageRefused):
        make_thumbnails(src, tmp_path / "thumbs")
    assert not (tmp_path / "thumbs").exists()  # refused before any output


def test_not_an_image_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "c.png"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + b"nonsense" * 100)
    with pytest.raises(ImageRefused):
        verify_image(src)


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    # A tiny PNG whose header claims 100,000 x 100,000 pixels (10 gigapixels).
    src = tmp_path / "bomb.png"
    Image.new("L", (1, 1)).save(src)
    data = bytearray(src.read_bytes())
    ihdr = data.index(b"IHDR")
    struct.pack_into(">II", data, ihdr + 4, 100_000, 100_000)
    struct.pack_into(">I", data, ihdr + 17, zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    src.write_bytes(bytes(data))
    with pytest.raises(ImageRefused, match=r"megapixels|not an image"):
        verify_image(src)


def test_other_formats_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "c.bmp"
    Image.new("RGB", (10, 10)).save(src, "BMP")
    with pytest.raises(ImageRefused, match="BMP"):
        verify_image(src)
