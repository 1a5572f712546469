"""The HTTP tracker (BEP 3, compact peer lists BEP 23/BEP 7): announce and scrape.

Paid packs are private torrents: every announce carries the buyer's passkey in the path, and
the peers the tracker records with a valid passkey are the only addresses the seeder serves.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from piccolo.columns.combination import Or
from piccolo.query.functions.aggregate import Count

from app.core import db
from app.core.settings import Settings
from app.torrents.bencode import bencode, failure
from app.torrents.catalog import entitlement_revoked
from app.torrents.tables import Passkey, Torrent, TrackerPeer, without_metainfo

MAX_NUMWANT = 200
DEFAULT_NUMWANT = 50


class TrackerError(Exception):
    """A refusal sent back as a bencoded ``failure reason``."""


@dataclass(frozen=True)
class Announce:
    info_hash: bytes
    peer_id: bytes
    port: int
    left: int
    event: str
    numwant: int


def parse_query(raw: bytes) -> dict[bytes, list[bytes]]:
    """Split a raw query string; values stay bytes because info_hash and peer_id are binary."""
    params: dict[bytes, list[bytes]] = {}
    for part in raw.split(b"&"):
        if not part:
            continue
        key, _, value = part.partition(b"=")
        # "+" is left alone: clients percent-encode binary values, and a "+" there is a byte.
        params.setdefault(unquote_to_bytes(key), []).append(unquote_to_bytes(value))
    return params


def _one(params: dict[bytes, list[bytes]], name: str, *, required: bool = True) -> bytes | None:
    values = params.get(name.encode())
    if not values:
        if required:
            raise TrackerError(f"missing {name}")
        return None
    if len(values) > 1:
        raise TrackerError(f"{name} given more than once")
    return values[0]


def _int(params: dict[bytes, list[bytes]], name: str, default: int | None, low: int, high: int) -> int:
    raw = _one(params, name, required=default is None)
    if raw is None:
        assert default is not None
        return default
    if not raw.isdigit() or len(raw) > 20:
        raise TrackerError(f"{name} must be a non-negative integer")
    value = int(raw)
    if not low <= value <= high:
        raise TrackerError(f"{name} out of range")
    return value


def parse_announce(raw: bytes) -> Announce:
    """Validate announce parameters; raise TrackerError naming the first bad one."""
    params = parse_query(raw)
    info_hash = _one(params, "info_hash")
    peer_id = _one(params, "peer_id")
    if info_hash is None or peer_id is None:  # _one raised already; this narrows the types
        raise TrackerError("missing info_hash or peer_id")
    if len(info_hash) != 20:
        raise TrackerError("info_hash must be 20 bytes")
    if len(peer_id) != 20:
        raise TrackerError("peer_id must be 20 bytes")
    event = (_one(params, "event", required=False) or b"").decode("ascii", "replace")
    if event not in {"", "started", "stopped", "completed", "paused"}:
        raise TrackerError("unknown event")
    return Announce(
        info_hash=info_hash,
        peer_id=peer_id,
        port=_int(params, "port", None, 1, 65535),
        left=_int(params, "left", 0, 0, 2**63 - 1),
        event=event,
        numwant=min(_int(params, "numwant", DEFAULT_NUMWANT, 0, 10**6), MAX_NUMWANT),
    )


def parse_scrape(raw: bytes) -> list[bytes]:
    hashes = parse_query(raw).get(b"info_hash", [])
    if any(len(h) != 20 for h in hashes):
        raise TrackerError("info_hash must be 20 bytes")
    if len(hashes) > 100:
        raise TrackerError("too many info_hash values")
    return hashes


def compact(peers: list[tuple[str, int]]) -> tuple[bytes, bytes]:
    """BEP 23 ``peers`` (IPv4, 6 bytes each) and BEP 7 ``peers6`` (18 bytes each)."""
    v4, v6 = bytearray(), bytearray()
    for ip, port in peers:
        address = ipaddress.ip_address(ip)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        target = v4 if address.version == 4 else v6
        target += address.packed + port.to_bytes(2, "big")
    return bytes(v4), bytes(v6)


class Tracker:
    """Announce and scrape against the torrents and passkeys tables."""

    def __init__(self, settings: Settings, seeder_key: str) -> None:
        self.interval = settings.tracker_interval_seconds
        self.seeder_key = seeder_key

    async def _torrent(self, info_hash: bytes) -> Torrent | None:
        # A hybrid torrent is announced under its v1 hash and its v2 hash truncated to 20 bytes.
        hexed = info_hash.hex()
        found = await without_metainfo(
            Or(Torrent.info_hash_v1 == hexed, Torrent.info_hash_v2.like(hexed + "%")) & (Torrent.status == "ready")
        )
        return found[0] if found else None

    async def _authorise(self, torrent: Torrent, passkey: str | None) -> str | None:
        """The passkey to record for this peer (None for the seeder and free packs), or refuse."""
        if passkey is not None and passkey == self.seeder_key:
            return None
        if passkey is None:
            if torrent.private:
                raise TrackerError("this torrent is private: download your .torrent from your library")
            return None
        row = await Passkey.objects().where(Passkey.key == passkey).first()
        if row is None:
            raise TrackerError("unknown passkey")
        if row.revoked_at is not None or await entitlement_revoked(row.user, row.listing_id):
            raise TrackerError("passkey revoked")
        if row.listing_id != torrent.listing_id:
            raise TrackerError("passkey not valid for this torrent")
        return passkey if torrent.private else None

    async def announce(self, passkey: str | None, raw_query: bytes, ip: str) -> bytes:
        try:
            request = parse_announce(raw_query)
            torrent = await self._torrent(request.info_hash)
            if torrent is None:
                raise TrackerError("unknown torrent")
            recorded = await self._authorise(torrent, passkey)
        except TrackerError as exc:
            return failure(str(exc))
        now = db.now()
        key = f"{torrent.id}:{request.peer_id.hex()}"
        if request.event == "stopped":
            await TrackerPeer.delete().where(TrackerPeer.key == key)
        else:
            await _upsert_peer(key, torrent.id, ip, request, passkey=recorded, now=now, ttl=2 * self.interval)
        # The most recently announced first: those are the likeliest to be there still.
        rows = (
            await TrackerPeer.select(TrackerPeer.ip, TrackerPeer.port)
            .where(TrackerPeer.torrent_id == torrent.id, TrackerPeer.expires_at > now)
            .order_by(TrackerPeer.expires_at, ascending=False)
            .limit(request.numwant + 1)
        )
        others = [(r["ip"], r["port"]) for r in rows if (r["ip"], r["port"]) != (ip, request.port)]
        peers, peers6 = compact(others[: request.numwant])
        seeds, leechers = await _swarm(torrent.id, now)
        return bencode(
            {
                "interval": self.interval,
                "min interval": max(1, self.interval // 4),
                "complete": seeds,
                "incomplete": leechers,
                "peers": peers,
                "peers6": peers6,
            }
        )

    async def scrape(self, passkey: str | None, raw_query: bytes) -> bytes:
        try:
            hashes = parse_scrape(raw_query)
        except TrackerError as exc:
            return failure(str(exc))
        files: dict[bytes, object] = {}
        now = db.now()
        for info_hash in hashes:
            torrent = await self._torrent(info_hash)
            if torrent is None:
                continue
            try:
                await self._authorise(torrent, passkey)
            except TrackerError:
                continue  # private swarms are not disclosed to outsiders
            seeds, leechers = await _swarm(torrent.id, now)
            files[info_hash] = {"complete": seeds, "incomplete": leechers, "downloaded": 0}
        return bencode({"files": files})


async def _swarm(torrent_id: uuid.UUID, now: int) -> tuple[int, int]:
    """Seeds and leechers of a swarm, counted by the database (the whole swarm, not a page)."""
    rows = (
        await TrackerPeer.select(TrackerPeer.complete, Count())
        .where(TrackerPeer.torrent_id == torrent_id, TrackerPeer.expires_at > now)
        .group_by(TrackerPeer.complete)
    )
    counts = {bool(r["complete"]): int(r["count"]) for r in rows}
    return counts.get(True, 0), counts.get(False, 0)


async def _upsert_peer(
    key: str, torrent_id: uuid.UUID, ip: str, a: Announce, *, passkey: str | None, now: int, ttl: int
) -> None:
    """Insert or refresh the peer's row (one statement, so concurrent announces cannot collide)."""
    row = TrackerPeer(
        key=key,
        torrent_id=torrent_id,
        ip=ip,
        port=a.port,
        passkey=passkey,
        complete=a.left == 0,
        last_seen=now,
        expires_at=now + ttl,
    )
    updated = [
        TrackerPeer.ip,
        TrackerPeer.port,
        TrackerPeer.passkey,
        TrackerPeer.complete,
        TrackerPeer.last_seen,
        TrackerPeer.expires_at,
    ]
    await TrackerPeer.insert(row).on_conflict(target=TrackerPeer.key, action="DO UPDATE", values=updated)


async def allowed_peers(torrent_id: uuid.UUID) -> set[tuple[str, int]]:
    """(address, port) of peers that announced this private torrent with a valid passkey lately.

    Revoking a passkey deletes its peers, so a revoked buyer drops out at the next refresh.
    """
    rows = await TrackerPeer.select(TrackerPeer.ip, TrackerPeer.port).where(
        TrackerPeer.torrent_id == torrent_id,
        TrackerPeer.passkey.is_not_null(),
        TrackerPeer.expires_at > db.now(),
    )
    return {(r["ip"], r["port"]) for r in rows}


async def forget_expired() -> None:
    await TrackerPeer.delete().where(TrackerPeer.expires_at <= db.now())


async def wanting_peers() -> set[uuid.UUID]:
    """Torrents some peer announced lately with bytes left: the seeder fetches those back if evicted."""
    rows = (
        await TrackerPeer.select(TrackerPeer.torrent_id)
        .where(TrackerPeer.complete == False, TrackerPeer.expires_at > db.now())  # noqa: E712 - Piccolo query
        .distinct()
    )
    return {r["torrent_id"] for r in rows}
