"""Torrent API schemas."""

from __future__ import annotations

import uuid

import msgspec

from app.torrents.tables import Torrent


class TorrentView(msgspec.Struct):
    id: uuid.UUID
    listing_id: uuid.UUID
    version_id: uuid.UUID
    name: str
    private: bool
    # building (with progress 0..1), ready or failed (with the reason in error).
    status: str
    progress: float
    error: str
    info_hash_v1: str
    info_hash_v2: str
    piece_size: int
    total_size: int
    file_count: int
    # Live swarm figures from the seeder and bytes served each way (the egress the swarm saved).
    peers: int
    upload_rate: int
    p2p_bytes: int
    http_bytes: int
    magnet: str | None
    # Ready torrents only: whether the seeder's cache holds the pack's files ("cached"), is
    # fetching them back from object storage ("fetching") or evicted them ("evicted": the web
    # seed fetches them again on the first request); empty while building or failed.
    cache: str = ""


def to_view(t: Torrent, magnet: str | None, cache: str = "") -> TorrentView:
    return TorrentView(
        id=t.id,
        listing_id=t.listing_id,
        version_id=t.version_id,
        name=t.name,
        private=t.private,
        status=t.status,
        progress=t.progress,
        error=t.error,
        info_hash_v1=t.info_hash_v1 or "",
        info_hash_v2=t.info_hash_v2 or "",
        piece_size=t.piece_size,
        total_size=t.total_size,
        file_count=t.file_count,
        peers=t.peers,
        upload_rate=t.upload_rate,
        p2p_bytes=t.p2p_bytes,
        http_bytes=t.http_bytes,
        magnet=magnet,
        cache=cache,
    )
