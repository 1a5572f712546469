"""Torrent tables: built torrents, buyers' passkeys and the tracker's peers.

Listing and version ids are plain UUID columns until the catalog's tables exist; they become
foreign keys in a later migration.
"""

from __future__ import annotations

import uuid
from typing import Any

from piccolo.columns import UUID, BigInt, Boolean, Bytea, ForeignKey, Integer, Real, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from app.accounts.tables import User


class Torrent(Table, tablename="torrents"):
    """The torrent of one published pack version."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    listing_id = UUID(index=True)
    # One torrent per pack version: publishing the same version twice is a no-op.
    version_id = UUID(unique=True)
    name = Varchar(length=200)
    # building -> ready, or failed (with ``error``).
    status = Varchar(length=16, default="building")
    progress = Real(default=0.0)
    error = Text(default="")
    # Unique, so two versions can never share a swarm; null while building.
    info_hash_v1 = Varchar(length=40, unique=True, null=True, default=None)
    info_hash_v2 = Varchar(length=64, unique=True, null=True, default=None)
    private = Boolean(default=False)
    piece_size = Integer(default=0)
    total_size = BigInt(default=0)
    file_count = Integer(default=0)
    # Unused: neither written nor read (a pack's folder is PackCache.dir_of(id), as the cache may
    # evict and refill it). Dropped by a later release's migration, not this one's: old and new
    # code overlap during a deploy and the old one still selects it (see scripts/deploy).
    data_dir = Text(default="")
    # The .torrent without trackers or web seeds; those are added per requester.
    metainfo = Bytea(default=b"")
    # Swarm figures reported by the seeder (peers now, upload rate) and byte counters.
    peers = Integer(default=0)
    upload_rate = BigInt(default=0)
    p2p_bytes = BigInt(default=0)
    http_bytes = BigInt(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class Passkey(Table, tablename="torrent_passkeys"):
    """A buyer's key to one listing's private torrents; revoking it cuts tracker and seeder access."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    key = Varchar(length=32, unique=True)
    user = ForeignKey(references=User, null=False, index=True)
    listing_id = UUID(index=True)
    revoked_at = BigInt(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class TrackerPeer(Table, tablename="tracker_peers"):
    """A peer the tracker has seen announce; forgotten after ``expires_at``."""

    # "<torrent id>:<peer id hex>": one row per peer per swarm, updated on each announce.
    key = Varchar(length=120, primary_key=True)
    torrent_id = UUID(index=True)
    ip = Varchar(length=45)
    port = Integer()
    # Null for free packs and for the seeder itself.
    passkey = Varchar(length=32, null=True, default=None, index=True)
    complete = Boolean(default=False)
    last_seen = BigInt()
    expires_at = BigInt(index=True)


async def without_metainfo(where: Any) -> list[Torrent]:
    """Torrents matching ``where`` with their .torrent bytes left unread.

    The metainfo of a big hybrid pack is tens to hundreds of KB; announces, scrapes, web-seed
    requests, listings and the seeder's refresh read only the other columns.
    """
    rows = await Torrent.select(*Torrent.all_columns(exclude=[Torrent.metainfo])).where(where)
    return [Torrent(_exists_in_db=True, **row) for row in rows]
