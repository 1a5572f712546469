"""Bytes served peer-to-peer are never lost from the counts, even when a torrent leaves the
seeder (evicted, unpublished, retired) between two readings."""

from __future__ import annotations

from pathlib import Path

import anyio
import libtorrent as lt
import msgspec

from app.core.settings import Settings
from app.torrents.seeder import Seeder
from app.torrents.services import TorrentService
from app.torrents.tables import Torrent
from tests.integration.torrents.helpers import MB, downloader, make_pack, verify, wait_seeding
from tests.services.binaries import wait_until


async def test_a_torrent_removed_between_readings_keeps_its_uploaded_bytes(
    service: TorrentService, torrent_settings: Settings, tmp_path: Path
) -> None:
    version, digests = make_pack(tmp_path, {"loop.wav": 5 * MB + 17, "kit/one.wav": 3 * MB})
    torrent = await service.publish(version)
    seeder = Seeder(torrent_settings)
    try:
        await seeder.refresh()  # seeds the pack; this reading is its baseline
        assert seeder.stats.seeding == 1 and seeder.stats.payload_uploaded == 0

        params = lt.parse_magnet_uri(service.magnet(torrent))
        params.url_seeds = []  # from the seeder only
        params.save_path = str(tmp_path / "download")
        session = downloader("127.0.0.2")
        wait_seeding(session, session.add_torrent(params))
        verify(tmp_path / "download", version.name, digests)

        # Evicted before the next reading: the handle goes, what it uploaded must not.
        seeder._forget(torrent.id)
        await seeder.refresh()
        assert seeder.stats.payload_uploaded >= torrent.total_size
        row = await Torrent.select(Torrent.p2p_bytes).where(Torrent.id == torrent.id).first()
        assert row is not None and row["p2p_bytes"] == seeder.stats.payload_uploaded
        assert torrent.total_size <= row["p2p_bytes"] < 2 * torrent.total_size
    finally:
        seeder.close()


async def test_bytes_uploaded_since_the_last_refresh_are_saved_on_stop(
    service: TorrentService, torrent_settings: Settings, tmp_path: Path
) -> None:
    version, digests = make_pack(tmp_path, {"stem.wav": 6 * MB + 5})
    torrent = await service.publish(version)
    # One refresh at the start and none after it: only the stop can count the download.
    seeder = Seeder(msgspec.structs.replace(torrent_settings, seeder_refresh_seconds=3600))
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(seeder.run, stop)
        # run()'s first refresh seeds the pack; the download starts after it.
        assert await anyio.to_thread.run_sync(wait_until, lambda: seeder.stats.seeding >= 1, 30)
        params = lt.parse_magnet_uri(service.magnet(torrent))
        params.url_seeds = []
        params.save_path = str(tmp_path / "download")
        session = downloader("127.0.0.3")
        await anyio.to_thread.run_sync(wait_seeding, session, session.add_torrent(params))
        verify(tmp_path / "download", version.name, digests)
        stop.set()
    row = await Torrent.select(Torrent.p2p_bytes).where(Torrent.id == torrent.id).first()
    assert row is not None and torrent.total_size <= row["p2p_bytes"] < 2 * torrent.total_size
