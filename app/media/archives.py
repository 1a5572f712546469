"""Zip archives of packs, expanded safely or refused with a reason a user understands.

Guards: names that climb out (``../``), absolute names (``/x``, ``C:\\x``, backslashes), symlink
entries, duplicate names (also when they differ only in case or Unicode form), encrypted
entries, too many entries, too many bytes in total, and compression-ratio bombs. Sizes are
measured on the bytes actually decompressed, never taken from the headers, which an attacker
writes. Every name is checked before the first byte is written; a refusal met while streaming
(a bomb) removes what was already written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

CHUNK = 64 * 1024  # the size zipfile.extractall copies in; larger reads are slower in ZipExtFile


@dataclass(frozen=True)
class Limits:
    max_entries: int = 10_000
    max_total_bytes: int = 20 * 1024**3
    max_entry_bytes: int = 10 * 1024**3
    # Uncompressed / compressed. Real presets and samples stay well under 20; zeros reach 1000.
    max_entry_ratio: float = 200.0
    max_total_ratio: float = 100.0
    # Ratios are only judged past this many bytes: tiny files compress absurdly and are harmless.
    ratio_grace_bytes: int = 4 * 1024 * 1024


class ArchiveRefused(ValueError):
    """The archive cannot be expanded; ``reason`` is a stable code, the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    """One file of an archive: its checked name, its declared size and a guarded reader."""

    name: str
    declared_size: int
    info: zipfile.ZipInfo


@dataclass(frozen=True)
class ExpandedFile:
    name: str
    size: int
    path: Path


_DRIVE = re.compile(r"^[A-Za-z]:")
_SKIPPED_DIRS = ("__MACOSX/",)
_SKIPPED_FILES = frozenset({".DS_Store"})


def _check_name(raw: str) -> str | None:
    """The safe, NFC-normalised relative name of an entry; None for entries we skip."""
    name = unicodedata.normalize("NFC", raw)
    if "\\" in name:
        raise ArchiveRefused("absolute_path", f"{raw!r} uses backslashes (a Windows path); the archive is refused")
    if name.startswith("/") or _DRIVE.match(name):
        raise ArchiveRefused("absolute_path", f"{raw!r} is an absolute path; entries must be relative")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise ArchiveRefused("bad_name", f"{raw!r} contains control characters")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRefused("path_traversal", f"{raw!r} points outside the archive's folder ('..')")
    if name.startswith(_SKIPPED_DIRS) or (parts and parts[-1] in _SKIPPED_FILES):
        return None
    if not parts:
        return None
    if any(len(p.encode()) > 255 for p in parts) or len(name.encode()) > 1024:
        raise ArchiveRefused("bad_name", f"{raw[:80]!r}… is too long a name")
    return "/".join(parts) + ("/" if name.endswith("/") else "")


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def plan(archive: zipfile.ZipFile, limits: Limits) -> list[Entry]:
    """Check every entry's name and kind before anything is decompressed; the files to expand."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise ArchiveRefused("too_many_entries", f"the archive has {len(infos)} entries; at most {limits.max_entries}")
    entries: list[Entry] = []
    files: set[str] = set()
    dirs: set[str] = set()
    for info in infos:
        name = _check_name(info.filename)
        if name is None:
            continue
        if _is_symlink(info):
            raise ArchiveRefused("symlink", f"{info.filename!r} is a symbolic link; links are not accepted")
        if info.flag_bits & 0x1:
            raise ArchiveRefused("encrypted", f"{info.filename!r} is encrypted; upload an archive without a password")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
            raise ArchiveRefused("unsupported", f"{info.filename!r} uses a compression method we cannot read")
        key = name.rstrip("/").casefold()
        parents = key.split("/")[:-1]
        # A name seen twice, or used both as a file and as a folder, is ambiguous: refuse.
        clash = key in files or (not name.endswith("/") and key in dirs)
        clash = clash or any("/".join(parents[: i + 1]) in files for i in range(len(parents)))
        if clash:
            raise ArchiveRefused("duplicate_name", f"{info.filename!r} appears more than once in the archive")
        dirs.update("/".join(parents[: i + 1]) for i in range(len(parents)))
        if name.endswith("/"):
            dirs.add(key)
            continue
        files.add(key)
        entries.append(Entry(name, info.file_size, info))
    declared = sum(e.declared_size for e in entries)
    if declared > limits.max_total_bytes:
        raise ArchiveRefused("too_large", f"the archive expands to {declared} bytes; at most {limits.max_total_bytes}")
    return entries


class _Meter:
    """Counts the bytes really decompressed, per entry and in total, and refuses past a limit."""

    def __init__(self, limits: Limits, archive_size: int) -> None:
        self.limits, self.archive_size, self.total = limits, max(archive_size, 1), 0

    def add(self, entry: Entry, entry_bytes: int, n: int) -> None:
        lim = self.limits
        self.total += n
        if entry_bytes > lim.max_entry_bytes:
            raise ArchiveRefused("too_large", f"{entry.name!r} is larger than {lim.max_entry_bytes} bytes")
        if self.total > lim.max_total_bytes:
            raise ArchiveRefused("too_large", f"the archive expands to more than {lim.max_total_bytes} bytes")
        # The compressed size in the header may lie too; it can never exceed the archive itself.
        packed = max(1, min(entry.info.compress_size, self.archive_size))
        if entry_bytes > lim.ratio_grace_bytes and entry_bytes / packed > lim.max_entry_ratio:
            raise ArchiveRefused("zip_bomb", f"{entry.name!r} expands over {lim.max_entry_ratio:.0f} times: a zip bomb")
        if self.total > lim.ratio_grace_bytes and self.total / self.archive_size > lim.max_total_ratio:
            raise ArchiveRefused("zip_bomb", f"the archive expands over {lim.max_total_ratio:.0f} times: a zip bomb")


def iter_entries(source: Path | BinaryIO, limits: Limits | None = None) -> Iterator[tuple[Entry, Iterator[bytes]]]:
    """Stream the files of an archive as (entry, chunks); every chunk has passed the limits.

    Consume each entry's chunks before taking the next entry. Raises ArchiveRefused.
    """
    limits = limits or Limits()
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ArchiveRefused("corrupt", "the file is not a readable zip archive") from None
    with archive:
        entries = plan(archive, limits)
        meter = _Meter(limits, _size_of(source))
        for entry in entries:
            yield entry, _chunks(archive, entry, meter)


def _size_of(source: Path | BinaryIO) -> int:
    if isinstance(source, Path):
        return source.stat().st_size
    here = source.tell()
    end = source.seek(0, os.SEEK_END)
    source.seek(here)
    return end


def _chunks(archive: zipfile.ZipFile, entry: Entry, meter: _Meter) -> Iterator[bytes]:
    done = 0
    try:
        with archive.open(entry.info) as stream:
            while chunk := stream.read(CHUNK):
                done += len(chunk)
                meter.add(entry, done, len(chunk))
                yield chunk
    except ArchiveRefused:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        # zipfile stops at the declared size and then the CRC fails: a header that lies lands here.
        raise ArchiveRefused("corrupt", f"{entry.name!r} is damaged or its sizes are misreported ({exc})") from None


def expand_zip(source: Path | BinaryIO, target: Path, limits: Limits | None = None) -> list[ExpandedFile]:
    """Expand into ``target`` (created, must be empty); on refusal ``target`` is left empty."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise ValueError(f"{target} must be empty")
    root = target.resolve()
    out: list[ExpandedFile] = []
    try:
        for entry, chunks in iter_entries(source, limits):
            path = root.joinpath(*entry.name.split("/"))
            # Belt and braces: the name checks already make this impossible.
            if not path.resolve().is_relative_to(root):
                raise ArchiveRefused("path_traversal", f"{entry.name!r} points outside the archive's folder")
            path.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL | O_NOFOLLOW: never write through a link or over a file already there.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, "wb") as handle:
                size = _copy(chunks, handle)
            out.append(ExpandedFile(entry.name, size, path))
    except BaseException:
        _empty(root)
        raise
    return out


def _copy(chunks: Iterator[bytes], handle: IO[bytes]) -> int:
    size = 0
    for chunk in chunks:
        handle.write(chunk)
        size += len(chunk)
    return size


def _empty(root: Path) -> None:
    for child in root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
