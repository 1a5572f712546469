"""Zip expansion: a corpus of malicious archives, each refused with its reason, nothing written."""

from __future__ import annotations

import io
import stat
import struct
import unicodedata
import warnings
import zipfile
from pathlib import Path

import pytest

from app.media.archives import ArchiveRefused, Limits, expand_zip, iter_entries


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we mean to write
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return path


def zeros_zip(path: Path, megabytes: int, name: str = "zeros.bin") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w", force_zip64=True) as out:
        chunk = bytes(1024 * 1024)
        for _ in range(megabytes):
            out.write(chunk)
    return path


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


CORPUS: dict[str, tuple[str, list[tuple[str | zipfile.ZipInfo, bytes]]]] = {
    "dot-dot": ("path_traversal", [("ok.txt", b"x"), ("../evil.txt", b"pwned")]),
    "dot-dot-deep": ("path_traversal", [("a/b/../../../evil.txt", b"pwned")]),
    "absolute": ("absolute_path", [("/tmp/evil.txt", b"pwned")]),
    "drive-letter": ("absolute_path", [("C:/Windows/evil.txt", b"pwned")]),
    "backslash": ("absolute_path", [("..\\..\\evil.txt", b"pwned")]),
    "symlink": ("symlink", [("ok.txt", b"x"), (symlink("link"), b"/etc/passwd")]),
    "duplicate": ("duplicate_name", [("a.txt", b"1"), ("a.txt", b"2")]),
    "duplicate-case": ("duplicate_name", [("Presets/Bass.fxp", b"1"), ("presets/BASS.FXP", b"2")]),
    "duplicate-unicode": (
        "duplicate_name",
        [(unicodedata.normalize("NFC", "café.txt"), b"1"), (unicodedata.normalize("NFD", "café.txt"), b"2")],
    ),
    "file-and-folder": ("duplicate_name", [("kit", b"1"), ("kit/kick.wav", b"2")]),
    "control-char": ("bad_name", [("evil\nname.txt", b"1")]),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_malicious_names_are_refused_before_anything_is_written(tmp_path: Path, case: str) -> None:
    reason, entries = CORPUS[case]
    archive = make_zip(tmp_path / "pack.zip", entries)
    target = tmp_path / "out" / "pack"
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(archive, target)
    assert refused.value.reason == reason
    assert str(refused.value)  # a message for the user
    assert files_under(tmp_path) == {"pack.zip", "out", "out/pack"}


def test_a_ratio_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    archive = zeros_zip(tmp_path / "bomb.zip", 100)
    assert archive.stat().st_size < 200_000  # 100 MB of zeros in ~100 KB
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(archive, tmp_path / "out")
    assert refused.value.reason == "zip_bomb"
    assert files_under(tmp_path) == {"bomb.zip", "out"}


def test_many_small_bombs_trip_the_total_ratio(tmp_path: Path) -> None:
    # Each entry stays under the per-entry grace; together they expand far too much.
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [(f"part{i}.bin", bytes(3 * 1024 * 1024)) for i in range(20)]
    archive = make_zip(tmp_path / "bombs.zip", entries)
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(archive, tmp_path / "out")
    assert refused.value.reason == "zip_bomb"
    assert files_under(tmp_path) == {"bombs.zip", "out"}


def test_total_size_limit(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "big.zip", [(f"{i}.bin", bytes(range(256)) * 4096) for i in range(4)])
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(archive, tmp_path / "out", Limits(max_total_bytes=3 * 1024 * 1024))
    assert refused.value.reason == "too_large"
    assert files_under(tmp_path) == {"big.zip", "out"}


def test_thousands_of_entries_are_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "many.zip", [(f"f{i}.txt", b"") for i in range(10_001)])
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(archive, tmp_path / "out")
    assert refused.value.reason == "too_many_entries"
    assert "10001" in str(refused.value)
    assert files_under(tmp_path) == {"many.zip", "out"}


def _patch_sizes(path: Path, declared: int) -> None:
    """Rewrite the uncompressed size in the local header and the central directory."""
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))


def test_a_bomb_whose_headers_understate_its_size_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("innocent.txt", bytes(50 * 1024 * 1024))
    _patch_sizes(archive, 1000)  # "1 KB", says the header
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(archive, tmp_path / "out")
    assert refused.value.reason == "corrupt"
    assert files_under(tmp_path) == {"liar.zip", "out"}


def test_headers_that_overstate_the_size_are_refused_up_front(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "huge.zip", [("a.bin", b"abc")])
    _patch_sizes(archive, 0xFFFF_FFF0)
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(archive, tmp_path / "out", Limits(max_total_bytes=1024**3))
    assert refused.value.reason == "too_large"


def test_not_a_zip(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 but nothing else")
    with pytest.raises(ArchiveRefused) as refused:
        expand_zip(junk, tmp_path / "out")
    assert refused.value.reason == "corrupt"


def test_a_good_pack_expands(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Préset/Lead é.fxp")
    archive = make_zip(
        tmp_path / "good.zip",
        [
            ("Pack/", b""),
            ("Pack/README.txt", b"hello"),
            ("Pack/Bass/Sub.fxp", b"CcnK" + bytes(100)),
            ("./Pack/Drums//kick.wav", b"RIFF"),
            (decomposed, b"lead"),
            ("__MACOSX/Pack/._README.txt", b"resource fork"),
            ("Pack/.DS_Store", b"finder"),
        ],
    )
    target = tmp_path / "out"
    expanded = expand_zip(archive, target)
    names = sorted(f.name for f in expanded)
    assert names == sorted(
        [
            "Pack/README.txt",
            "Pack/Bass/Sub.fxp",
            "Pack/Drums/kick.wav",
            unicodedata.normalize("NFC", "Préset/Lead é.fxp"),
        ]
    )
    assert (target / "Pack" / "README.txt").read_bytes() == b"hello"
    assert (target / "Pack" / "Bass" / "Sub.fxp").stat().st_size == 104
    assert {f.size for f in expanded if f.name.endswith("kick.wav")} == {4}
    assert not (target / "__MACOSX").exists()
    assert not (target / "Pack" / ".DS_Store").exists()


def test_entries_stream_from_memory(tmp_path: Path) -> None:
    buffer = io.BytesIO(make_zip(tmp_path / "s.zip", [("a.txt", b"A" * 10), ("b/c.txt", b"C")]).read_bytes())
    seen = {entry.name: b"".join(chunks) for entry, chunks in iter_entries(buffer)}
    assert seen == {"a.txt": b"A" * 10, "b/c.txt": b"C"}
