"""What the torrent domain needs from the catalog: a pack version's files and who may have them.

The catalog and payments domains implement these; torrents depend on nothing else of theirs.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

import httpx

from app.core.errors import InvalidInput


@dataclass(frozen=True)
class PackFile:
    """One file of a pack: its path inside the pack, where its bytes are now, and its size."""

    path: str
    source: str
    size: int


@dataclass(frozen=True)
class PackVersion:
    """A published pack version, as the builder sees it."""

    listing_id: uuid.UUID
    version_id: uuid.UUID
    name: str
    files: list[PackFile]
    # Paid packs become private torrents (BEP 27) reached only through per-buyer passkeys.
    private: bool


class Entitlements(Protocol):
    """Answers whether a user may download a listing (bought it and was not refunded)."""

    async def is_entitled(self, user_id: uuid.UUID, listing_id: uuid.UUID) -> bool: ...


class NoEntitlements:
    """Until payments exist: nobody holds a paid listing except through an explicit grant."""

    async def is_entitled(self, user_id: uuid.UUID, listing_id: uuid.UUID) -> bool:
        return False


def clean_relative_path(path: str) -> str:
    """``path`` as a safe relative POSIX path inside the pack, or InvalidInput."""
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts or any(p in {"", ".", ".."} or p.startswith("/") for p in parts):
        raise InvalidInput(f"unsafe file path in pack: {path!r}")
    return "/".join(parts)


def materialise(version: PackVersion, data_dir: Path) -> None:
    """Lay the pack out as ``data_dir/<name>/<path>``: what libtorrent hashes and seeds.

    Local files are hard-linked when on the same file system (no copy, no extra disk), copied
    otherwise. Sizes are checked, so a file that changed since publishing is refused.
    """
    root = data_dir / version.name
    for f in version.files:
        target = root / clean_relative_path(f.path)
        source = Path(f.source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        if f.source.startswith(("http://", "https://")):
            _fetch(f.source, target, f.size, f.path)
            continue
        if not source.is_file():
            raise InvalidInput(f"pack file {f.path!r} is missing from its source")
        if source.stat().st_size != f.size:
            raise InvalidInput(f"pack file {f.path!r} changed after publishing (size differs)")
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)


def _fetch(url: str, target: Path, size: int, name: str) -> None:
    """Download an object (presigned GET) into the seeder's folder, checking its size."""
    written = 0
    with httpx.stream("GET", url, timeout=60) as response, target.open("wb") as out:
        if response.status_code != 200:
            raise InvalidInput(f"pack file {name!r} could not be fetched ({response.status_code})")
        for chunk in response.iter_bytes(1024 * 1024):
            written += len(chunk)
            if written > size:
                break
            out.write(chunk)
    if written != size:
        target.unlink(missing_ok=True)
        raise InvalidInput(f"pack file {name!r} changed after publishing (size differs)")
