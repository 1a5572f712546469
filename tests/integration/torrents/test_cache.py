"""The seeder's pack cache: evicted least-recently-used under its disk budget, fetched back from
object storage (MinIO) on demand and verified by libtorrent before anything is served from it."""

from __future__ import annotations

import fcntl
import os
import time
import uuid
from pathlib import Path

import anyio
import httpx
import libtorrent as lt
import pytest

from app.accounts.tables import User
from app.catalog.tables import ListingFile
from app.core.settings import Settings
from app.storage.s3 import S3Storage
from app.torrents.cache import MARKER, FillFailed, PackCache
from app.torrents.services import TorrentService
from app.torrents.tables import Torrent
from tests.integration.storage.conftest import s3_settings
from tests.integration.torrents.helpers import (
    MB,
    SeederProcess,
    downloader,
    make_pack,
    published_version,
    verify,
    wait_seeding,
)
from tests.services.minio import MinioServer
from tests.support import LiveApp, test_env

PACK = 1 * MB + 4321  # a few pieces of 256 KiB, over two files
HOUR = 3600


@pytest.fixture
def budget() -> int:
    """The cache's disk budget: two and a half packs (a test may parametrize another)."""
    return 5 * PACK // 2


@pytest.fixture
def cache_settings(torrent_env: dict[str, str], minio_server: MinioServer, budget: int) -> Settings:
    """Objects in MinIO, the budget above; the seeder and the live app get the same settings."""
    env = {k: v for k, v in torrent_env.items() if k not in {"ECHOEL_DATABASE_URL", "ECHOEL_VAR_DIR"}}
    settings = s3_settings(
        minio_server,
        torrent_env["ECHOEL_DATABASE_URL"],
        Path(torrent_env["ECHOEL_VAR_DIR"]),
        **env,
        ECHOEL_SEEDER_CACHE_BYTES=str(budget),
    )
    torrent_env.update(
        test_env(
            settings.db_url,
            settings.var_path,
            **env,
            ECHOEL_SEEDER_CACHE_BYTES=str(budget),
            ECHOEL_STORAGE="s3",
            ECHOEL_S3_ENDPOINT=settings.s3_endpoint,
            ECHOEL_S3_ACCESS_KEY=settings.s3_access_key,
            ECHOEL_S3_SECRET_KEY=settings.s3_secret_key,
            ECHOEL_S3_BUCKET=settings.s3_bucket,
        )
    )
    return settings


@pytest.fixture
async def storage(cache_settings: Settings, client: object) -> S3Storage:
    """The bucket, on the test database (``client`` opened it)."""
    store = S3Storage.from_settings(cache_settings)
    await store.ensure_ready()
    return store


async def catalog_pack(
    settings: Settings, storage: S3Storage, folder: Path, slug: str, sizes: dict[str, int]
) -> tuple[Torrent, dict[str, str], dict[str, str]]:
    """A published sample pack whose files sit in MinIO, built into a torrent as the job does.

    Returns the torrent, each file's sha256 and each file's object key.
    """
    version, digests = make_pack(folder, sizes)
    now = int(time.time())
    creator = User(email=f"{uuid.uuid4().hex[:8]}@example.com", handle=uuid.uuid4().hex[:12], password_hash="x")
    await creator.save()
    listing, row = await published_version(creator.id, slug)
    keys = {}
    for f in version.files:
        keys[f.path] = f"listings/{listing.id}/{uuid.uuid4().hex}"
        await storage.put_file(keys[f.path], Path(f.source), "audio/wav")
        await ListingFile(
            listing=listing.id,
            version=row.id,
            object_key=keys[f.path],
            original_name=f.path,
            size=f.size,
            content_type="audio/wav",
            role="file",
            created_at=now,
        ).save()
    torrent = await TorrentService(settings).publish_catalog_version(storage, row.id)
    return torrent, digests, keys


def last_used(cache: PackCache, torrent: Torrent, hours_ago: float) -> None:
    """Pretend the pack was last used ``hours_ago`` (its marker's mtime is its last use)."""
    when = time.time() - hours_ago * HOUR
    os.utime(cache.dir_of(torrent.id) / MARKER, (when, when))


def _pack_files(cache: PackCache, torrent: Torrent) -> Path:
    return cache.dir_of(torrent.id) / torrent.name


async def test_over_budget_the_least_recently_used_pack_is_evicted(
    storage: S3Storage, cache_settings: Settings, torrent_env: dict[str, str], tmp_path: Path
) -> None:
    cache = PackCache(cache_settings)
    sizes = {"a.wav": PACK - 1000, "b/c.wav": 1000}
    first, _, _ = await catalog_pack(cache_settings, storage, tmp_path / "a", "first", sizes)
    second, _, _ = await catalog_pack(cache_settings, storage, tmp_path / "b", "second", sizes)
    # The first pack was used an hour ago, the second two hours ago: the second is the LRU one.
    last_used(cache, first, 1)
    last_used(cache, second, 2)
    # Three packs: over the budget of two and a half.
    third, _, _ = await catalog_pack(cache_settings, storage, tmp_path / "c", "third", sizes)
    assert all(cache.state(t.id) == "cached" for t in (first, second, third))

    with SeederProcess(torrent_env) as seeder:
        stats = seeder.wait_stats(lambda s: s.get("evicted") == 1 and s.get("torrents") == 2)
        assert str(second.id) not in stats["listen"]  # its torrent was closed before its files went
        assert {str(first.id), str(third.id)} <= set(stats["listen"])
    assert not cache.dir_of(second.id).exists()
    assert not (cache.resume_dir / f"{second.id}.resume").exists()
    assert _pack_files(cache, first).is_dir() and _pack_files(cache, third).is_dir()
    service = TorrentService(cache_settings)
    assert service.view(second).cache == "evicted" and service.view(first).cache == "cached"


@pytest.mark.parametrize("budget", [PACK // 2])
async def test_an_evicted_pack_is_fetched_back_and_downloads_verified(
    storage: S3Storage, cache_settings: Settings, torrent_env: dict[str, str], live_app: LiveApp, tmp_path: Path
) -> None:
    cache = PackCache(cache_settings)
    service = TorrentService(cache_settings)
    torrent, digests, _ = await catalog_pack(
        cache_settings, storage, tmp_path / "p", "evicted", {"x.wav": PACK, "y/z.wav": 777}
    )
    last_used(cache, torrent, 1)
    body = service.public_torrent_file(torrent)

    seeder = SeederProcess(torrent_env).start(torrents=0)
    try:
        # Over the (half-pack) budget and unused: evicted; nobody asks for it, so it stays out.
        seeder.wait_stats(lambda s: s.get("evicted") == 1)
        assert cache.state(torrent.id) == "evicted"
        await anyio.sleep(2)
        assert seeder.stats()["torrents"] == 0 and seeder.stats()["fetched"] == 0

        # A downloader announces it (peer-to-peer only): the seeder fetches it back from MinIO,
        # verifies it, and seeds it from the fill's resume data without hashing it again.
        params = lt.add_torrent_params()
        params.ti = lt.torrent_info(body)
        params.save_path = str(tmp_path / "p2p")
        params.url_seeds = []
        params.flags |= lt.torrent_flags.override_web_seeds
        session = downloader("127.0.0.2")
        handle = session.add_torrent(params)
        stats = seeder.wait_stats(lambda s: str(torrent.id) in s.get("listen", {}), timeout=60)
        assert stats["fetched"] == 1 and stats["checked"] == 0 and stats["resumed"] == 1
        handle.connect_peer(("127.0.0.1", int(torrent_env["ECHOEL_SEEDER_PORT"])))
        wait_seeding(session, handle)
        verify(tmp_path / "p2p", torrent.name, digests)
        del session
    finally:
        seeder.stop()

    # The seeder is gone and the pack evicted again: the web seed fetches it itself, answering
    # 503 (problem+json, Retry-After) meanwhile; a web-seed-only download still completes.
    cache.discard(torrent.id)
    async with httpx.AsyncClient(base_url=live_app.url) as http:
        r = await http.get(f"/ws/seed/public/{torrent.info_hash_v1}/{torrent.name}/x.wav")
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(body)
    params.trackers = []
    params.flags |= lt.torrent_flags.override_trackers
    params.save_path = str(tmp_path / "web-seed")
    session = downloader("127.0.0.3")
    wait_seeding(session, session.add_torrent(params), timeout=120)
    verify(tmp_path / "web-seed", torrent.name, digests)
    assert cache.state(torrent.id) == "cached"


async def test_an_interrupted_fill_or_damaged_pack_is_never_served_and_is_repaired(
    storage: S3Storage, cache_settings: Settings, torrent_env: dict[str, str], tmp_path: Path
) -> None:
    cache = PackCache(cache_settings)
    sizes = {"one.wav": PACK, "two/three.wav": 5000}
    fetched, fetched_digests, keys = await catalog_pack(cache_settings, storage, tmp_path / "f", "fetched", sizes)
    damaged, damaged_digests, _ = await catalog_pack(cache_settings, storage, tmp_path / "d", "damaged", sizes)
    row = await Torrent.objects().where(Torrent.id == fetched.id).first()
    assert row is not None

    # 1. The store hands back other bytes of the same size: libtorrent's piece check refuses
    #    them, nothing is put in place and nothing half-done is left.
    cache.discard(fetched.id)
    original = tmp_path / "original"
    await storage.get_file(keys["one.wav"], original)
    bad = tmp_path / "bad"
    bad.write_bytes(original.read_bytes()[:-10] + b"0123456789")
    await storage.put_file(keys["one.wav"], bad, "audio/wav")
    with pytest.raises(FillFailed, match="do not match the torrent"):
        await PackCache(cache_settings).fill(row)
    assert cache.state(fetched.id) == "evicted" and not cache.dir_of(fetched.id).exists()
    assert [p.name for p in cache.root.iterdir() if p.name.startswith((".fill-", ".trash-"))] == []
    await storage.put_file(keys["one.wav"], original, "audio/wav")

    # 2. A fill that died half-way left its folder: it is never served and the next fill starts
    #    afresh.
    half = cache.root / f".fill-{fetched.id}" / fetched.name
    half.mkdir(parents=True)
    (half / "one.wav").write_bytes(original.read_bytes()[: PACK // 2])
    assert cache.state(fetched.id) == "evicted"  # no fill holds its lock: a leftover, not a fetch
    with (cache.root / ".locks" / f"{fetched.id}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a fill in another process does while it runs
        assert cache.state(fetched.id) == "fetching"
    await PackCache(cache_settings).fill(row)
    assert not (cache.root / f".fill-{fetched.id}").exists()
    verify(cache.dir_of(fetched.id), fetched.name, fetched_digests)

    # 3. A cached pack lost the end of a file (disk trouble, a hand-edit): the seeder does not
    #    seed it as it is; it fetches it back whole. And a fill folder left by a crash is swept
    #    when the seeder starts.
    with (_pack_files(cache, damaged) / "one.wav").open("r+b") as f:
        f.truncate(PACK // 3)
    stale = cache.root / f".fill-{uuid.uuid4()}"
    stale.mkdir()
    seeder = SeederProcess(torrent_env).start(torrents=2)
    try:
        stats = seeder.wait_stats(lambda s: s.get("fetched") == 1)
    finally:
        seeder.stop()
    assert not stale.exists()
    verify(cache.dir_of(damaged.id), damaged.name, damaged_digests)
    verify(cache.dir_of(fetched.id), fetched.name, fetched_digests)
    assert {str(fetched.id), str(damaged.id)} <= set(stats["listen"])
