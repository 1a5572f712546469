"""Media made on the spot for the tests: a sine WAV with the ``wave`` module, images with Pillow."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import av


def sine_wav(path: Path, seconds: float = 2.0, rate: int = 44100, silent_tail: float = 0.0) -> Path:
    """A stereo 440 Hz sine at half scale, then ``silent_tail`` seconds of silence."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        v = int(16384 * math.sin(2 * math.pi * 440 * i / rate))
        frames += struct.pack("<hh", v, v)
    frames += bytes(4 * int(silent_tail * rate))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


def encode(src: Path, dst: Path, fmt: str, codec: str) -> Path:
    """Re-encode ``src`` with PyAV (FLAC, AIFF, MP3, Ogg Opus …) for the type detection tests."""
    with av.open(str(src)) as source, av.open(str(dst), "w", format=fmt) as out:
        rate = 48000 if codec == "libopus" else 44100
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="stereo", rate=rate)
        for frame in source.decode(audio=0):
            for converted in resampler.resample(frame):
                out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return dst
