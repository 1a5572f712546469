"""Audio demos: verify they decode, waveform peaks and duration, and a compact streaming preview.

PyAV (FFmpeg) does the decoding; it comes with aiortc. No numpy: samples are read into
``array('f')``, which keeps min/max at C speed.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from pathlib import Path

import av
import av.error

# Peaks are first taken over blocks of interleaved samples (sized from the expected length so there are
# a few per final peak), then merged into the requested count.
MIN_BLOCK, MAX_BLOCK = 16, 4096
PREVIEW_BITRATE = 128_000
# Lossless or bulky containers browsers may not play, or play only after downloading them whole.
NOT_FOR_STREAMING = frozenset({"wav", "aiff", "flac", "w64", "caf"})
STREAMABLE_CODECS = frozenset({"mp3", "mp3float", "aac", "opus", "libopus", "vorbis"})


class AudioRefused(ValueError):
    """The file is not audio we can decode; the message says why."""


@dataclass(frozen=True)
class AudioInfo:
    container: str  # FFmpeg's name: wav, flac, mp3, ogg, mov,mp4,m4a,3gp,3g2,mj2 …
    codec: str
    sample_rate: int
    channels: int
    duration: float  # seconds, from the samples actually decoded
    peaks: list[list[float]]  # [[min, max], …] in -1..1, for drawing the waveform


@dataclass(frozen=True)
class Preview:
    path: Path
    mime: str
    size: int
    duration: float


def analyse(path: Path, n_peaks: int = 1000, max_seconds: float = 3 * 3600) -> AudioInfo:
    """Decode the whole file (that is the verification) and measure duration and peaks."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError):
        raise AudioRefused("the file is not audio we can read") from None
    with container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioRefused("the file has no audio track")
        rate = stream.codec_context.sample_rate or 44100
        channels = stream.codec_context.channels or 1
        expected = (container.duration or 0) / 1_000_000 * rate * channels  # duration is in µs
        peaks = _Peaks(int(min(MAX_BLOCK, max(MIN_BLOCK, expected // (n_peaks * 4)))) if expected else 64)
        # Interleaved float samples of every channel: the waveform shows the true extremes of
        # any channel (a downmix would shrink them by 3 dB or cancel opposite phases).
        resampler = av.AudioResampler(format="flt", rate=rate)
        total = 0
        try:
            for frame in container.decode(stream):
                for part in resampler.resample(frame):
                    total += peaks.add(part, channels)
                    if total > max_seconds * rate:
                        raise AudioRefused(f"the audio is longer than {max_seconds / 3600:.0f} hours")
            for part in resampler.resample(None):
                total += peaks.add(part, channels)
        except av.error.FFmpegError as exc:
            raise AudioRefused(f"the audio is damaged and cannot be decoded ({exc})") from None
        if total == 0:
            raise AudioRefused("the file contains no audio samples")
        return AudioInfo(
            container=container.format.name,
            codec=stream.codec_context.name,
            sample_rate=rate,
            channels=channels,
            duration=round(total / rate, 3),
            peaks=peaks.merged(n_peaks),
        )


class _Peaks:
    """Min and max per block of samples, merged into the requested number of peaks at the end."""

    def __init__(self, block: int) -> None:
        self.block = block
        self.mins, self.maxs, self.pending = array("f"), array("f"), array("f")

    def add(self, frame: av.AudioFrame, channels: int) -> int:
        samples = array("f")
        # The plane may be padded past the last sample.
        samples.frombytes(bytes(frame.planes[0])[: frame.samples * channels * 4])
        pending = self.pending
        pending.extend(samples)
        full = len(pending) - len(pending) % self.block
        for start in range(0, full, self.block):
            part = pending[start : start + self.block]
            self.mins.append(min(part))
            self.maxs.append(max(part))
        del pending[:full]
        return int(frame.samples)

    def merged(self, n: int) -> list[list[float]]:
        mins, maxs = self.mins, self.maxs
        if self.pending:
            mins.append(min(self.pending))
            maxs.append(max(self.pending))
        blocks = len(mins)
        n = min(n, blocks)
        peaks = []
        for i in range(n):
            lo, hi = i * blocks // n, max(i * blocks // n + 1, (i + 1) * blocks // n)
            # Clamped: decoders may overshoot full scale slightly; 4 decimals keep the JSON small.
            peaks.append([round(max(-1.0, min(mins[lo:hi])), 4), round(min(1.0, max(maxs[lo:hi])), 4)])
        return peaks


def needs_preview(info: AudioInfo, file_size: int, max_bitrate: int = 256_000) -> bool:
    """True when the original is unfit to stream: lossless/bulky formats or a high bit rate."""
    containers = set(info.container.split(","))
    if containers & NOT_FOR_STREAMING or info.codec not in STREAMABLE_CODECS:
        return True
    return info.duration > 0 and file_size * 8 / info.duration > max_bitrate


def transcode_preview(src: Path, dst: Path, bitrate: int = PREVIEW_BITRATE) -> Preview:
    """AAC in MP4 (``.m4a``), stereo 44.1 kHz, with the index up front so playback starts at once.

    AAC/MP4 rather than Opus: every browser plays it, Safari included.
    """
    try:
        source = av.open(str(src))
    except av.error.FFmpegError:
        raise AudioRefused("the file is not audio we can read") from None
    samples = 0
    with source:
        stream = next((s for s in source.streams if s.type == "audio"), None)
        if stream is None:
            raise AudioRefused("the file has no audio track")
        # "ipod": the MP4 muxer with the M4A brand, what browsers and players expect of audio.
        with av.open(str(dst), "w", format="ipod", options={"movflags": "+faststart"}) as out:
            encoder = out.add_stream("aac", rate=44100, layout="stereo")
            encoder.bit_rate = bitrate
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44100)
            try:
                for frame in source.decode(stream):
                    for converted in resampler.resample(frame):
                        samples += converted.samples
                        out.mux(encoder.encode(converted))
                for converted in resampler.resample(None):
                    samples += converted.samples
                    out.mux(encoder.encode(converted))
                out.mux(encoder.encode(None))
            except av.error.FFmpegError as exc:
                raise AudioRefused(f"the audio is damaged and cannot be decoded ({exc})") from None
    if samples == 0:
        dst.unlink(missing_ok=True)
        raise AudioRefused("the file contains no audio samples")
    return Preview(dst, "audio/mp4", dst.stat().st_size, round(samples / 44100, 3))
