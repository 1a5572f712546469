"""The seeder's pack cache: pack files under ``var/torrents/data/<torrent id>/<name>/...``.

Object storage holds every pack; this folder holds the ones worth seeding now. A pack is in the
cache when its folder holds the marker file ``MARKER``, written last: by the builder after it
hashed the files, or by a fill after libtorrent checked every piece against the torrent. The
seeder and the web seed serve nothing else, so they never serve unverified bytes.

Crash safety: a fill writes into ``.fill-<id>`` and renames it into place in one step; eviction
renames the folder to ``.trash-<random>`` before deleting it. Builds, fills and evictions of one
pack hold its lock (``flock`` on ``.locks/<id>.lock``, shared by every process on the host),
so a leftover ``.fill-<id>`` whose lock is free is stale and is removed by the next fill or sweep.

Last use is the marker's mtime, not a database column: the web seed touches it from any app
worker (or the seeder for packs with peers) without a write on the database's hot path (on
SQLite every write takes the lock), and it vanishes with the folder. ``atime`` would be simpler
but ``noatime``/``relatime`` mounts make it unreliable.

Only the seeder evicts (it owns the libtorrent sessions that hold files open). A pack used in the
last ``IN_USE_SECONDS`` is kept; a download already streaming a file keeps reading it even if it
is evicted (an unlinked file lives on while open).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator
from pathlib import Path
from typing import Any, Literal, cast

import anyio
import anyio.to_thread
import libtorrent as lt

from app.core.errors import ServiceUnavailable
from app.core.settings import Settings
from app.torrents.packs import PackVersion, materialise
from app.torrents.tables import Torrent

log = logging.getLogger("echoel.torrents.cache")
MARKER = ".echoel-pack"
IN_USE_SECONDS = 600.0
# The marker's mtime is rewritten at most this often (one tiny metadata write per pack).
TOUCH_SECONDS = 60.0
# A failed fill (object missing, or bytes that fail the piece check) is not retried before this.
RETRY_SECONDS = 60.0
CacheState = Literal["cached", "fetching", "evicted"]
PackSource = Callable[[Torrent], Awaitable[PackVersion]]


class PackPreparing(ServiceUnavailable):
    """The pack is not in the cache yet: a fill is under way; retry after ``retry_after`` seconds."""

    title = "Pack being prepared"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after  # sent as Retry-After by the shared problem handler


class FillFailed(Exception):
    """A pack could not be fetched, or its bytes did not match the torrent."""


def catalog_source(settings: Settings) -> PackSource:
    """Where evicted packs come back from: the catalog's version files in object storage."""
    from app.storage import make_storage
    from app.torrents.catalog import pack_version

    storage = make_storage(settings)

    async def source(row: Torrent) -> PackVersion:
        version = await pack_version(storage, row.version_id)
        # The folder is named after the torrent, whatever the listing's slug became since.
        return dataclasses.replace(version, name=row.name)

    return source


class PackCache:
    def __init__(self, settings: Settings, source: PackSource | None = None) -> None:
        self.root = (settings.var_path / "torrents" / "data").resolve()
        self.resume_dir = settings.var_path / "torrents" / "resume"
        self.budget = settings.seeder_cache_bytes
        self._settings, self._source = settings, source
        self._limiter = anyio.CapacityLimiter(1)  # one fill at a time per process: 2 cores
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._failed: dict[uuid.UUID, tuple[float, str]] = {}

    def dir_of(self, torrent_id: uuid.UUID) -> Path:
        return self.root / str(torrent_id)

    def state(self, torrent_id: uuid.UUID) -> CacheState:
        if (self.dir_of(torrent_id) / MARKER).exists():
            return "cached"
        if not (self.root / f".fill-{torrent_id}").exists():
            return "evicted"
        # A fill holds the pack's lock while its folder exists; a folder whose lock is free was
        # left by a crash and would read "fetching" forever. The next fill or sweep removes it.
        with self._locked(torrent_id, wait=False) as free:
            return "evicted" if free else "fetching"

    def touch(self, torrent_id: uuid.UUID) -> None:
        """Record a use (throttled): recently used packs are evicted last."""
        marker = self.dir_of(torrent_id) / MARKER
        with contextlib.suppress(OSError):
            if time.time() - marker.stat().st_mtime > TOUCH_SECONDS:
                os.utime(marker)

    def check(self, torrent_id: uuid.UUID, ti: Any) -> bool:
        """The pack is cached with every file at its size; a truncated pack is discarded.

        A folder without a marker whose sizes all match is adopted: packs built before the
        cache existed were hashed by the builder, like any pack built since.
        """
        data_dir = self.dir_of(torrent_id)
        sizes_ok = _sizes_match(data_dir, ti)
        marked = (data_dir / MARKER).exists()
        if sizes_ok and not marked and data_dir.is_dir():
            with self._locked(torrent_id, wait=False) as mine:
                if mine:
                    self._mark(data_dir)
                    return True
        if marked and not sizes_ok:
            log.warning("pack %s: files differ from the torrent, fetching it again", torrent_id)
            self.discard(torrent_id)
        return marked and sizes_ok

    # --- builds and fills ---------------------------------------------------------------

    @contextlib.contextmanager
    def building(self, torrent_id: uuid.UUID) -> Iterator[Path]:
        """Hold the pack's lock while the builder lays it out; mark it cached if the build succeeds."""
        data_dir = self.dir_of(torrent_id)
        with self._locked(torrent_id):
            (data_dir / MARKER).unlink(missing_ok=True)
            yield data_dir
            self._mark(data_dir)

    def fill_failed(self, torrent_id: uuid.UUID) -> str | None:
        """Why the last fill of this pack failed, while it is not retried yet."""
        failed = self._failed.get(torrent_id)
        return failed[1] if failed and time.monotonic() - failed[0] < RETRY_SECONDS else None

    async def fill(self, row: Torrent) -> None:
        """Fetch a pack back from object storage and verify it (FillFailed if it does not verify)."""
        if self._source is None:
            self._source = catalog_source(self._settings)
        try:
            version = await self._source(row)
            metainfo = row.metainfo or (
                await Torrent.select(Torrent.metainfo).where(Torrent.id == row.id).first() or {}
            ).get("metainfo", b"")
            await anyio.to_thread.run_sync(self._fill, row.id, metainfo, version, limiter=self._limiter)
        except Exception as exc:
            self._failed[row.id] = (time.monotonic(), str(exc)[:300])
            raise FillFailed(f"pack {row.id} could not be fetched: {exc}") from exc
        self._failed.pop(row.id, None)

    def start_fill(self, row: Torrent) -> bool:
        """Start a fill in the background of this process unless one runs; False if it failed lately."""
        if self.fill_failed(row.id) is not None:
            return False
        if row.id not in self._tasks:

            async def run() -> None:
                try:
                    await self.fill(row)
                except FillFailed:
                    log.exception("filling the pack cache failed")
                finally:
                    self._tasks.pop(row.id, None)

            self._tasks[row.id] = asyncio.get_running_loop().create_task(run())
        return True

    def _fill(self, torrent_id: uuid.UUID, metainfo: bytes, version: PackVersion) -> None:
        data_dir, tmp = self.dir_of(torrent_id), self.root / f".fill-{torrent_id}"
        with self._locked(torrent_id):
            if (data_dir / MARKER).exists():
                return  # another process filled it while we waited for the lock
            _remove(tmp)  # what a crashed fill left behind: never seeded, never trusted
            try:
                materialise(version, tmp)
                resume = verify_pieces(metainfo, tmp)
                self._mark(tmp)
                self._discard_locked(torrent_id)
                tmp.rename(data_dir)
                _write(self.resume_dir / f"{torrent_id}.resume", resume)
            finally:
                _remove(tmp)

    # --- eviction -----------------------------------------------------------------------

    def evict(
        self, protect: Collection[uuid.UUID] = (), release: Callable[[uuid.UUID], None] | None = None
    ) -> list[uuid.UUID]:
        """Evict least-recently-used packs until the cache fits its budget; returns their ids.

        ``protect`` (packs seeded with peers now) and packs used within ``IN_USE_SECONDS`` stay;
        ``release`` is called for each evicted pack before its files go (to close its torrent).
        """
        if not self.budget:
            return []
        packs, total, now = [], 0, time.time()
        for torrent_id, mtime, size in self._cached():
            total += size
            if torrent_id not in protect and now - mtime >= IN_USE_SECONDS:
                packs.append((mtime, torrent_id, size))
        evicted = []
        for _, torrent_id, size in sorted(packs):
            if total <= self.budget:
                break
            with self._locked(torrent_id, wait=False) as mine:
                if not mine:
                    continue  # being built or filled right now
                if release is not None:
                    release(torrent_id)
                self._discard_locked(torrent_id)
            total -= size
            evicted.append(torrent_id)
        return evicted

    def discard(self, torrent_id: uuid.UUID) -> None:
        """Drop a pack's files and resume data (it is fetched again when next wanted)."""
        with self._locked(torrent_id):
            self._discard_locked(torrent_id)

    def sweep(self) -> None:
        """Remove what crashed fills and evictions left (run when the seeder starts)."""
        self.root.mkdir(parents=True, exist_ok=True)
        for entry in self.root.iterdir():
            if entry.name.startswith(".trash-"):
                _remove(entry)
            elif entry.name.startswith(".fill-"):
                with contextlib.suppress(ValueError), self._locked(uuid.UUID(entry.name[6:]), wait=False) as mine:
                    if mine:
                        _remove(entry)

    def _cached(self) -> Iterator[tuple[uuid.UUID, float, int]]:
        """(id, last use, bytes on disk) of every cached pack."""
        if not self.root.is_dir():
            return
        for entry in os.scandir(self.root):
            try:
                torrent_id = uuid.UUID(entry.name)
                marker = Path(entry.path) / MARKER
                mtime = marker.stat().st_mtime
                size = int(json.loads(marker.read_text())["bytes"])
            except (ValueError, OSError, KeyError, TypeError):
                continue  # not a pack, or one being built or adopted: not counted, never evicted
            yield torrent_id, mtime, size

    def _discard_locked(self, torrent_id: uuid.UUID) -> None:
        # Resume data first: it claims every piece, and must never outlive the files.
        (self.resume_dir / f"{torrent_id}.resume").unlink(missing_ok=True)
        _remove(self.dir_of(torrent_id))

    def _mark(self, data_dir: Path) -> None:
        # Bytes the pack really holds on disk: hard links into the local object store cost none.
        size = sum(
            st.st_size
            for folder, _, names in os.walk(data_dir)
            for st in (os.stat(os.path.join(folder, n)) for n in names)
            if st.st_nlink == 1
        )
        _write(data_dir / MARKER, json.dumps({"bytes": size}).encode())

    @contextlib.contextmanager
    def _locked(self, torrent_id: uuid.UUID, *, wait: bool = True) -> Iterator[bool]:
        path = self.root / ".locks" / f"{torrent_id}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def verify_pieces(metainfo: bytes, save_path: Path) -> bytes:
    """Have libtorrent hash every piece under ``save_path``; its resume data if all match.

    The resume data lets the seeder add the pack without hashing it a second time.
    """
    session = lt.session(
        cast(
            Any,
            {
                "listen_interfaces": "",
                "enable_dht": False,
                "enable_lsd": False,
                "enable_upnp": False,
                "enable_natpmp": False,
                "alert_mask": lt.alert_category.status | lt.alert_category.storage | lt.alert_category.error,
            },
        )
    )
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(metainfo)
    params.save_path = str(save_path)
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    handle = session.add_torrent(params)
    checked = False
    while not checked:
        for alert in _alerts(session):
            if isinstance(alert, lt.torrent_error_alert):
                raise FillFailed(alert.message())
            checked = checked or isinstance(alert, lt.torrent_checked_alert)
    status = handle.status()
    if status.num_pieces != params.ti.num_pieces():
        raise FillFailed(f"{params.ti.num_pieces() - status.num_pieces} pieces do not match the torrent")
    handle.save_resume_data(lt.torrent_handle.save_info_dict)
    while True:
        for alert in _alerts(session):
            if isinstance(alert, lt.save_resume_data_alert):
                resume: bytes = lt.write_resume_data_buf(alert.params)
                return resume
            if isinstance(alert, lt.save_resume_data_failed_alert):
                raise FillFailed(alert.message())


def _sizes_match(data_dir: Path, ti: Any) -> bool:
    files = ti.files()
    for i in range(files.num_files()):
        if files.file_flags(i) & lt.file_storage.flag_pad_file:
            continue
        path = data_dir / files.file_path(i)
        if not path.is_file() or path.stat().st_size != files.file_size(i):
            return False
    return True


def _alerts(session: Any) -> list[Any]:
    session.wait_for_alert(500)
    alerts: list[Any] = session.pop_alerts()
    return alerts


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _remove(path: Path) -> None:
    """Remove a folder: renamed away first, so nobody sees half of it."""
    if not path.exists():
        return
    trash = path.parent / f".trash-{uuid.uuid4().hex}"
    os.rename(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
