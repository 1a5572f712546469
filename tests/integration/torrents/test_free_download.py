"""A free pack: a separate libtorrent session downloads it by magnet and by .torrent from our
seeder, and from the web seed alone once the seeder is stopped; every file verifies."""

from __future__ import annotations

from pathlib import Path

import httpx
import libtorrent as lt

from app.torrents.services import TorrentService
from tests.integration.torrents.helpers import MB, SeederProcess, downloader, make_pack, verify, wait_seeding
from tests.support import LiveApp

# Several files in folders, of uneven sizes, 210 MB in all.
SIZES = {
    "drums/kick_01.wav": 90 * MB + 12345,
    "drums/snare/snare_02.wav": 60 * MB + 1,
    "bass/sub.wav": 40 * MB,
    "loops/pad.wav": 19 * MB + 777,
    "README.txt": 1234,
}


async def test_free_pack_by_magnet_by_torrent_and_by_web_seed(
    service: TorrentService, live_app: LiveApp, torrent_env: dict[str, str], tmp_path: Path
) -> None:
    version, digests = make_pack(tmp_path, SIZES)
    torrent = await service.publish(version)
    assert torrent.status == "ready" and torrent.total_size == sum(SIZES.values())
    assert len(torrent.info_hash_v1 or "") == 40 and len(torrent.info_hash_v2 or "") == 64
    magnet = service.magnet(torrent)

    with SeederProcess(torrent_env) as seeder:
        # 1. By magnet: metadata and data from the seeder (found through x.pe and the tracker).
        params = lt.parse_magnet_uri(magnet)
        assert params.url_seeds and params.peers and params.trackers
        params.url_seeds = []  # peer-to-peer only: the web seed is checked on its own below
        params.save_path = str(tmp_path / "by-magnet")
        session = downloader("127.0.0.2")
        handle = session.add_torrent(params)
        wait_seeding(session, handle)
        verify(tmp_path / "by-magnet", version.name, digests)
        assert str(handle.status().info_hashes.v2) == torrent.info_hash_v2
        # Leave the swarm, so the next download can only come from our seeder.
        session.remove_torrent(handle)
        del session

        # 2. By .torrent downloaded from the app.
        async with httpx.AsyncClient(base_url=live_app.url) as http:
            body = (await http.get(f"/api/v1/torrents/{torrent.id}/torrent")).content
        info = lt.torrent_info(body)
        assert str(info.info_hashes().v1) == torrent.info_hash_v1
        params = lt.add_torrent_params()
        params.ti = info
        # Peer-to-peer only: drop the .torrent's web seed for this download.
        params.url_seeds = []
        params.flags |= lt.torrent_flags.override_web_seeds
        params.save_path = str(tmp_path / "by-torrent")
        session2 = downloader("127.0.0.3")
        wait_seeding(session2, session2.add_torrent(params))
        verify(tmp_path / "by-torrent", version.name, digests)
        # The seeder reports what it uploaded: both whole downloads came from it.
        seeder.wait_stats(lambda s: s.get("payload_uploaded", 0) >= 2 * torrent.total_size)
        del session2

    # 3. Seeder stopped: the app's web seed alone completes the download.
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(body)
    params.trackers = []
    params.flags |= lt.torrent_flags.override_trackers  # no swarm: the web seed alone
    params.save_path = str(tmp_path / "by-web-seed")
    session3 = downloader("127.0.0.4")
    wait_seeding(session3, session3.add_torrent(params))
    verify(tmp_path / "by-web-seed", version.name, digests)
    async with httpx.AsyncClient(base_url=live_app.url) as http:
        shown = (await http.get(f"/api/v1/torrents/{torrent.id}")).json()
    assert shown["http_bytes"] >= torrent.total_size
    assert shown["p2p_bytes"] >= 2 * torrent.total_size
