"""Bytes served peer-to-peer are never lost from the counts, even when a torrent leaves the
seeder (evicted, unpublished, retired) between two readings."""

from __future__ import annotations

from pathlib import Path

import libtorrent as lt

from app.core.settings import Settings
from app.torrents.seeder import Seeder
from app.torrents.services import TorrentService
from app.torrents.tables import Torrent
from tests.integration.torrents.helpers import MB, downloader, make_pack, verify, wait_seeding


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
