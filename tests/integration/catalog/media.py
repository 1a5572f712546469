"""Small, real media files made on the fly for upload tests."""

from __future__ import annotations

import io
import wave

from PIL import Image


def png(size: tuple[int, int] = (64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buf, "PNG")
    return buf.getvalue()


def wav(frames: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10" * frames)
    return buf.getvalue()
