"""Building hybrid (v1 + v2) torrents with libtorrent.

Blocking and CPU-heavy: call ``build`` from a worker thread (libtorrent hashes on all cores).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import libtorrent as lt

MIN_PIECE = 256 * 1024
MAX_PIECE = 16 * 1024 * 1024
# 375-750 pieces (the piece size is a power of two): requests and hash checks cost a fixed
# amount per piece, and the .torrent stays small; partial downloaders lose little. 1 MiB
# pieces from 512 MiB up, as common torrent creators choose.
TARGET_PIECES = 500


@dataclass(frozen=True)
class BuiltTorrent:
    metainfo: bytes
    info_hash_v1: str
    info_hash_v2: str
    piece_size: int
    total_size: int
    file_count: int


def piece_size_for(total: int) -> int:
    """A power of two giving about TARGET_PIECES pieces, clamped to 256 KiB..16 MiB.

    Fewer, larger pieces keep the .torrent and the v1 piece list small for 50 GB packs; the
    lower bound keeps per-piece overhead (requests, hash checks) negligible for small packs.
    """
    size = MIN_PIECE
    while size < MAX_PIECE and total / size > TARGET_PIECES * 1.5:
        size *= 2
    return size


def build(
    data_dir: Path,
    name: str,
    files: list[tuple[str, int]],
    *,
    private: bool,
    progress: Callable[[float], None] | None = None,
    piece_size: int | None = None,
    v1_only: bool = False,
) -> BuiltTorrent:
    """Hash ``data_dir/name/<path>`` for each (path, size) of ``files`` into a .torrent.

    The result has no tracker and no web seed: those are added per requester (they sit outside
    the info dictionary, so they never change the info-hashes).
    """
    if not files:
        raise ValueError("a torrent needs at least one file")
    total = sum(size for _, size in files)
    piece = piece_size or piece_size_for(total)
    entries = [lt.create_file_entry(f"{name}/{path}", size) for path, size in sorted(files)]
    flags = lt.create_torrent.v1_only if v1_only else 0
    ct = lt.create_torrent(entries, piece, flags)
    ct.set_priv(private)
    ct.set_creator("echoel")
    pieces = ct.num_pieces()
    done = 0

    def on_piece(_: int) -> None:
        nonlocal done
        done += 1
        # Every ~1 %: the callback crosses into Python for each piece.
        if progress is not None and (done % max(1, pieces // 100) == 0 or done == pieces):
            progress(done / pieces)

    lt.set_piece_hashes(ct, str(data_dir), on_piece)
    metainfo: bytes = lt.bencode(ct.generate())
    hashes = lt.torrent_info(metainfo).info_hashes()
    return BuiltTorrent(
        metainfo=metainfo,
        info_hash_v1=str(hashes.v1),
        info_hash_v2="" if v1_only else str(hashes.v2),
        piece_size=piece,
        total_size=total,
        file_count=len(files),
    )


def with_sources(metainfo: bytes, announce: str | None, web_seeds: list[str]) -> bytes:
    """``metainfo`` with its tracker and web seeds (BEP 19 ``url-list``) set; info-hash unchanged."""
    decoded = lt.bdecode(metainfo)
    if not isinstance(decoded, dict):
        raise ValueError("not a .torrent")
    data = cast(dict[bytes, Any], decoded)
    data.pop(b"announce", None)
    data.pop(b"announce-list", None)
    if announce:
        data[b"announce"] = announce.encode()
    if web_seeds:
        data[b"url-list"] = [u.encode() for u in web_seeds]
    else:
        data.pop(b"url-list", None)
    out: bytes = lt.bencode(data)
    return out
