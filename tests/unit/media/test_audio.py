"""Audio demos: a generated WAV gives peaks, a duration and a preview that decodes; junk is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.media.audio import AudioRefused, analyse, needs_preview, transcode_preview
from tests.unit.media.helpers import sine_wav


def test_wav_gives_duration_and_peaks_shaped_like_the_sound(tmp_path: Path) -> None:
    wav = sine_wav(tmp_path / "demo.wav", seconds=2.0, silent_tail=2.0)
    info = analyse(wav)
    assert info.duration == pytest.approx(4.0, abs=0.01)
    assert (info.container, info.codec, info.sample_rate, info.channels) == ("wav", "pcm_s16le", 44100, 2)
    assert len(info.peaks) == 1000
    loud, quiet = info.peaks[:490], info.peaks[510:]
    # Half scale in both channels: the mono mix peaks at ±0.5.
    assert all(lo == pytest.approx(-0.5, abs=0.02) and hi == pytest.approx(0.5, abs=0.02) for lo, hi in loud)
    assert all(lo == 0 and hi == 0 for lo, hi in quiet)


def test_a_wav_gets_a_compact_preview_that_decodes(tmp_path: Path) -> None:
    wav = sine_wav(tmp_path / "demo.wav", seconds=3.0)
    info = analyse(wav)
    assert needs_preview(info, wav.stat().st_size)
    preview = transcode_preview(wav, tmp_path / "preview.m4a")
    assert preview.mime == "audio/mp4"
    assert preview.size < wav.stat().st_size / 5  # 1411 kbit/s down to ~128
    again = analyse(preview.path)
    assert again.codec == "aac"
    assert "mp4" in again.container
    assert again.duration == pytest.approx(3.0, abs=0.1)
    assert max(hi for _, hi in again.peaks) == pytest.approx(0.5, abs=0.1)
    assert not needs_preview(again, preview.size)


@pytest.mark.parametrize(
    "content",
    [b"", b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10, bytes(range(256)) * 64, b"hello, I am not a song\n" * 100],
    ids=["empty", "broken-wav", "noise", "text"],
)
def test_corrupt_audio_is_refused(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "demo.wav"
    bad.write_bytes(content)
    with pytest.raises(AudioRefused):
        analyse(bad)
    with pytest.raises(AudioRefused):
        transcode_preview(bad, tmp_path / "preview.m4a")


def test_an_image_is_not_audio(tmp_path: Path) -> None:
    from PIL import Image

    png = tmp_path / "cover.png"
    Image.new("RGB", (8, 8)).save(png)
    with pytest.raises(AudioRefused, match="audio"):
        analyse(png)
