"""The seeder: libtorrent sessions seeding every ready torrent, tuned for TCP throughput.

Free packs share one session (DHT on). Each paid pack gets its own small session, because
libtorrent's IP filter is per session, and only while buyers are active (a paid pack with no
buyer announcing for ``PRIVATE_IDLE_SECONDS`` is dropped, its resume data saved; the web seed
serves buyers whose client cannot be dialled meanwhile). That session's filter blocks every
address except those the tracker saw announce this torrent with a valid passkey within the last
two announce intervals, refreshed every ``seeder_refresh_seconds``; newly allowed buyers are
dialled at once. A blocked address is refused at connect time and a
peer that becomes blocked is disconnected, so it receives no further payload.

Limits of the address filter: buyers behind one NAT share an address, so a non-buyer (or a
revoked buyer) behind the same address as a valid buyer of the same pack is let through while
that buyer is active; and a revoked buyer keeps any bytes already received.

Packs live in a disk-bounded cache (``cache.py``): a pack is seeded only while its files are
there. Past the budget the least-recently-used packs without peers are evicted (their torrent
removed first); an evicted pack is fetched back from object storage, in the background, once a
peer announces it with bytes left (or a buyer announces a paid one), and seeded once verified.
Meanwhile the web seed covers it. So memory and disk stay bounded with many packs.

All libtorrent calls run in a worker thread; the loop itself only talks to the database.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio
import anyio.abc
import anyio.to_thread
import libtorrent as lt
from piccolo.columns import Column

from app.core.settings import Settings
from app.torrents.cache import FillFailed, PackCache
from app.torrents.catalog import revoke_refunded
from app.torrents.jobs import enqueue_builds
from app.torrents.sessions import peer_filter, session_settings
from app.torrents.tables import Torrent, without_metainfo
from app.torrents.tokens import seeder_key
from app.torrents.tracker import allowed_peers, forget_expired, wanting_peers

log = logging.getLogger("echoel.seeder")
# A paid pack's session is closed after this long without an authorised peer (memory bound).
PRIVATE_IDLE_SECONDS = 120


@dataclass
class Seeded:
    torrent_id: uuid.UUID
    private: bool
    handle: Any
    session: Any
    allowed: frozenset[tuple[str, int]] = frozenset()
    uploaded: int = 0  # total_payload_upload at the last reading
    resumed: bool = False
    idle_since: float | None = None
    peers: int = 0


@dataclass
class Stats:
    """What the seeder reports (also written to ``seeder-stats.json`` for the app and metrics)."""

    torrents: int = 0
    # Paid packs without an active buyer: no session until one announces.
    dormant: int = 0
    peers: int = 0
    upload_rate: int = 0
    payload_uploaded: int = 0
    seeding: int = 0
    # Torrents added from saved resume data, and torrents libtorrent had to re-check (hash).
    resumed: int = 0
    checked: int = 0
    # The pack cache: fills under way, packs fetched back and packs evicted since the start.
    filling: int = 0
    fetched: int = 0
    evicted: int = 0
    listen: dict[str, int] = field(default_factory=dict)


class Seeder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = settings.var_path / "torrents"
        self.resume_dir = self.state_dir / "resume"
        self.resume_dir.mkdir(parents=True, exist_ok=True)
        tracker = (settings.tracker_url or settings.public_url).rstrip("/")
        self.public_announce = f"{tracker}/announce"
        self.private_announce = f"{tracker}/announce/{seeder_key(settings.secret_key)}"
        listen = f"{settings.seeder_host}:{settings.seeder_port}"
        self.public = lt.session(cast(Any, session_settings(listen, dht=True)))
        self.seeded: dict[uuid.UUID, Seeded] = {}
        self.stats = Stats()
        self.cache = PackCache(settings)
        self.cache.sweep()
        self._filling: set[uuid.UUID] = set()
        # Bytes uploaded per torrent that no row has taken yet (Torrent.p2p_bytes): kept until a
        # write succeeds, so a busy database or a torrent removed between readings loses none.
        self._unsaved: dict[uuid.UUID, int] = {}
        self._fills: anyio.abc.TaskGroup | None = None
        self._last_save = time.monotonic()

    # --- one refresh --------------------------------------------------------------------

    async def refresh(self) -> Stats:
        """Pick up new torrents, rebuild private filters, handle alerts, report stats."""
        rows = await without_metainfo(Torrent.status == "ready")
        wanted = {r.id: r for r in rows}
        allowed = {r.id: frozenset(await allowed_peers(r.id)) for r in rows if r.private}
        demand = await wanting_peers()
        # The .torrent bytes only for packs not seeded yet whose folder is there (cached, or from
        # before the cache: adopted if intact) or that someone wants (what _add reads): an
        # evicted pack nobody asks for costs nothing.
        unseeded = [
            i
            for i, r in wanted.items()
            if i not in self.seeded
            and i not in self._filling
            and (allowed.get(i) if r.private else i in demand or self.cache.dir_of(i).is_dir())
        ]
        if unseeded:
            for row in await Torrent.select(Torrent.id, Torrent.metainfo).where(Torrent.id.is_in(unseeded)):
                wanted[row["id"]].metainfo = row["metainfo"]
        swarms, missing = await anyio.to_thread.run_sync(self._sync, wanted, allowed)
        # The stats file needs no database: written first, a busy database cannot leave it stale.
        self._write_stats()
        for pack in missing:
            await self._start_fill(pack)
        await self._save_counts(swarms, wanted)
        await forget_expired()
        await revoke_refunded()
        await enqueue_builds()
        return self.stats

    def _sync(
        self, wanted: dict[uuid.UUID, Torrent], allowed: dict[uuid.UUID, frozenset[tuple[str, int]]]
    ) -> tuple[dict[uuid.UUID, tuple[int, int]], list[Torrent]]:
        """Apply one refresh to the sessions; returns swarm figures and the packs to fetch back."""
        for torrent_id in list(self.seeded):
            if torrent_id not in wanted:
                self._remove(torrent_id)
        self._retire_idle(allowed)
        active = {i for i, item in self.seeded.items() if item.peers}
        evicted = set(self.cache.evict(active, release=self._forget))
        self.stats.evicted += len(evicted)
        missing = []
        for torrent_id, row in wanted.items():
            # A paid pack wakes up when a buyer announces it (and is dialled at once below);
            # only packs whose .torrent refresh() read (cached, wanted or woken) are candidates.
            if torrent_id not in self.seeded and torrent_id not in evicted and row.metainfo:
                try:
                    if not self._add(row) and self.cache.fill_failed(torrent_id) is None:
                        missing.append(row)
                except Exception:
                    # A broken pack (a corrupt .torrent) must not stop the others.
                    log.exception("cannot seed torrent %s", torrent_id)
                    continue
        for torrent_id, peers in allowed.items():
            item = self.seeded.get(torrent_id)
            if item is None or item.allowed == peers:
                continue
            item.session.set_ip_filter(peer_filter(frozenset(ip for ip, _ in peers)))
            # Reach out to new buyers at once: their own first attempt may have been refused
            # before this refresh allowed them, and clients back off before retrying.
            for peer in peers - item.allowed:
                item.handle.connect_peer(peer)
            item.allowed = peers
        self._alerts()
        if time.monotonic() - self._last_save > 60:
            self.save_resume_data()
        self.stats.dormant = sum(1 for t in wanted if t not in self.seeded)
        return self._collect(), missing

    def _add(self, row: Torrent) -> bool:
        """Seed a pack if its files are in the cache (False: it must be fetched first)."""
        ti = lt.torrent_info(row.metainfo)
        if not self.cache.check(row.id, ti):
            return False
        resume = self.resume_dir / f"{row.id}.resume"
        if resume.exists():
            params = lt.read_resume_data(resume.read_bytes())
            params.ti = ti
            resumed = True
        else:
            params = lt.add_torrent_params()
            params.ti = ti
            # We hashed these files ourselves when building: no need to check them again.
            params.flags |= lt.torrent_flags.seed_mode
            resumed = False
        params.save_path = str(self.cache.dir_of(row.id))
        params.flags &= ~lt.torrent_flags.auto_managed
        params.flags &= ~lt.torrent_flags.paused
        params.flags |= lt.torrent_flags.apply_ip_filter if row.private else 0
        params.trackers = [self.private_announce if row.private else self.public_announce]
        params.url_seeds = []
        if row.private:
            session = lt.session(cast(Any, session_settings(f"{self.settings.seeder_host}:0", dht=False)))
            session.set_ip_filter(peer_filter(frozenset()))
        else:
            session = self.public
            params.flags &= ~lt.torrent_flags.apply_ip_filter
        handle = session.add_torrent(params)
        self.seeded[row.id] = Seeded(row.id, row.private, handle, session, resumed=resumed)
        self.stats.resumed += int(resumed)
        return True

    async def _start_fill(self, row: Torrent) -> None:
        self._filling.add(row.id)
        if self._fills is not None:
            self._fills.start_soon(self._fill, row)
        else:  # refresh() called on its own, outside run()
            await self._fill(row)

    async def _fill(self, row: Torrent) -> None:
        """Fetch an evicted pack back (verified); the next refresh seeds it."""
        try:
            await self.cache.fill(row)
            self.stats.fetched += 1
        except FillFailed:
            log.exception("seeder: cannot fetch pack %s back into the cache", row.id)
        finally:
            self._filling.discard(row.id)

    def _forget(self, torrent_id: uuid.UUID) -> None:
        """Stop seeding a pack whose files are being evicted (its resume data goes with them)."""
        if torrent_id in self.seeded:
            self._remove(torrent_id)

    def _retire_idle(self, allowed: dict[uuid.UUID, frozenset[tuple[str, int]]]) -> None:
        now = time.monotonic()
        for torrent_id, item in list(self.seeded.items()):
            if not item.private or allowed.get(torrent_id):
                item.idle_since = None
            elif item.idle_since is None:
                item.idle_since = now
            elif now - item.idle_since > PRIVATE_IDLE_SECONDS:
                self._retire(torrent_id)

    def _retire(self, torrent_id: uuid.UUID) -> None:
        """Save a paid pack's resume data, then close its session."""
        item = self.seeded[torrent_id]
        item.handle.save_resume_data(lt.torrent_handle.save_info_dict)
        deadline = time.monotonic() + 5
        saved = False
        while not saved and time.monotonic() < deadline:
            item.session.wait_for_alert(200)
            for alert in item.session.pop_alerts():
                self._on_alert(alert)
                saved = saved or isinstance(alert, lt.save_resume_data_alert | lt.save_resume_data_failed_alert)
        self._remove(torrent_id)

    def _remove(self, torrent_id: uuid.UUID) -> None:
        item = self.seeded.pop(torrent_id)
        # A last reading: what it uploaded since the previous one would go with the handle.
        self.stats.payload_uploaded += self._count_upload(item, item.handle.status())
        item.session.remove_torrent(item.handle)
        if item.session is not self.public:
            del item.session

    def _alerts(self) -> None:
        for session in self._sessions():
            for alert in session.pop_alerts():
                self._on_alert(alert)

    def _sessions(self) -> list[Any]:
        sessions = {id(s.session): s.session for s in self.seeded.values()}
        sessions[id(self.public)] = self.public
        return list(sessions.values())

    def _on_alert(self, alert: Any) -> None:
        if isinstance(alert, lt.save_resume_data_alert):
            torrent_id = self._id_of(alert.handle)
            if torrent_id is not None:
                path = self.resume_dir / f"{torrent_id}.resume"
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(lt.write_resume_data_buf(alert.params))
                os.replace(tmp, path)
        elif isinstance(alert, lt.state_changed_alert) and alert.state == lt.torrent_status.checking_files:
            self.stats.checked += 1
        elif isinstance(alert, lt.torrent_error_alert | lt.file_error_alert):
            log.warning("seeder: %s", alert.message())

    def _id_of(self, handle: Any) -> uuid.UUID | None:
        for item in self.seeded.values():
            if item.handle == handle:
                return item.torrent_id
        return None

    def _collect(self) -> dict[uuid.UUID, tuple[int, int]]:
        """Read every torrent: new stats, and each one's peers and upload rate."""
        out: dict[uuid.UUID, tuple[int, int]] = {}
        stats = Stats(
            resumed=self.stats.resumed,
            checked=self.stats.checked,
            torrents=len(self.seeded),
            dormant=self.stats.dormant,
            filling=len(self._filling),
            fetched=self.stats.fetched,
            evicted=self.stats.evicted,
        )
        for item in self.seeded.values():
            status = item.handle.status()
            stats.payload_uploaded += self._count_upload(item, status)
            item.peers = status.num_peers
            if status.num_peers:
                self.cache.touch(item.torrent_id)  # in use: evicted last
            out[item.torrent_id] = (status.num_peers, status.upload_payload_rate)
            stats.peers += status.num_peers
            stats.seeding += int(status.is_seeding)
            stats.upload_rate += status.upload_payload_rate
            stats.listen[str(item.torrent_id)] = item.session.listen_port()
        stats.payload_uploaded += self.stats.payload_uploaded
        self.stats = stats
        return out

    def _count_upload(self, item: Seeded, status: Any) -> int:
        """Bytes ``item`` uploaded since its last reading, also kept for its row until saved."""
        # total_payload_upload counts from 0 when the handle is added and is current at once
        # (all_time_upload lags up to a second, so a last reading before removal missed bytes).
        # It restarts from 0 if libtorrent pauses and resumes the torrent: then all of it is new.
        total: int = status.total_payload_upload
        delta = total - item.uploaded if total >= item.uploaded else total
        item.uploaded = total
        if delta:
            self._unsaved[item.torrent_id] = self._unsaved.get(item.torrent_id, 0) + delta
        return delta

    def _write_stats(self) -> None:
        path = self.state_dir / "seeder-stats.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.stats.__dict__))
        os.replace(tmp, path)

    # --- lifecycle ----------------------------------------------------------------------

    def save_resume_data(self) -> None:
        self._last_save = time.monotonic()
        for item in self.seeded.values():
            item.handle.save_resume_data(lt.torrent_handle.save_info_dict)

    def close(self, timeout: float = 10.0) -> None:
        """Save resume data for every torrent (waiting for it), then stop the sessions."""
        self.save_resume_data()
        pending = set(self.seeded)
        deadline = time.monotonic() + timeout
        sessions = self._sessions()
        while pending and time.monotonic() < deadline:
            for session in sessions:
                session.wait_for_alert(100)
                for alert in session.pop_alerts():
                    self._on_alert(alert)
                    if isinstance(alert, lt.save_resume_data_alert | lt.save_resume_data_failed_alert):
                        pending.discard(self._id_of(alert.handle))
        self.seeded.clear()

    async def run(self, stop: anyio.Event) -> None:
        """Refresh every ``seeder_refresh_seconds`` until ``stop`` is set, then save and close."""
        try:
            # Fills run beside the refreshes: a 50 GB pack must not hold up the paid packs'
            # filters. On stop, a fill under way finishes its current step in its thread.
            async with anyio.create_task_group() as fills:
                self._fills = fills
                while not stop.is_set():
                    try:
                        await self.refresh()
                    except Exception:
                        log.exception("seeder refresh failed")
                    with anyio.move_on_after(self.settings.seeder_refresh_seconds):
                        await stop.wait()
                fills.cancel_scope.cancel()
        finally:
            self._fills = None
            try:
                await self._save_last_counts()
            except Exception:
                log.exception("seeder: the last upload counts were not saved")
            await anyio.to_thread.run_sync(self.close)

    async def _save_counts(self, swarms: dict[uuid.UUID, tuple[int, int]], wanted: dict[uuid.UUID, Torrent]) -> None:
        """Write each torrent's swarm figures and the bytes no row has taken yet."""
        for torrent_id in set(swarms) | set(self._unsaved):
            delta = self._unsaved.get(torrent_id, 0)
            was = wanted.get(torrent_id)
            change: dict[Column | str, Any] = {Torrent.p2p_bytes: Torrent.p2p_bytes + delta}
            if was is not None:  # still seeded (not unpublished, not the stop): its swarm too
                peers, rate = swarms.get(torrent_id, (0, 0))
                if delta == 0 and peers == was.peers and rate == was.upload_rate:
                    continue  # nothing new: no write (on SQLite every write takes the lock)
                change.update({Torrent.peers: peers, Torrent.upload_rate: rate})
            await Torrent.update(change).where(Torrent.id == torrent_id)
            self._unsaved.pop(torrent_id, None)

    async def _save_last_counts(self) -> None:
        """On the way out, a last reading: bytes uploaded since the last refresh reach the rows."""
        await anyio.to_thread.run_sync(self._collect)
        self._write_stats()
        await self._save_counts({}, {})


def read_stats(var_dir: Path) -> dict[str, Any]:
    """The seeder's last stats (for the app), or empty when no seeder has run."""
    try:
        data: dict[str, Any] = json.loads((var_dir / "torrents" / "seeder-stats.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


async def run_seeder(settings: Settings) -> None:
    """``echoel seeder``: open the database, seed until SIGTERM or SIGINT, save resume data."""
    import signal

    from app.core import db

    engine = db.make_engine(settings.db_url)
    db.bind_tables(engine)
    await db.start(engine)
    stop = anyio.Event()
    try:
        async with anyio.create_task_group() as tg:

            async def on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        stop.set()
                        return

            tg.start_soon(on_signal)
            seeder = Seeder(settings)
            print(f"seeder listening on {settings.seeder_host}:{seeder.public.listen_port()}", flush=True)
            await seeder.run(stop)
            tg.cancel_scope.cancel()
    finally:
        await db.stop(engine)
