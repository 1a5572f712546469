"""The embedded default: the app's own in-process seeder (ECHOEL_SEEDER_IN_PROCESS) seeds a
published pack to a separate libtorrent session, with no `echoel seeder` process anywhere."""

from __future__ import annotations

from pathlib import Path

import httpx
import libtorrent as lt
import pytest

from app.torrents.seeder import read_stats
from app.torrents.services import TorrentService
from tests.integration.ops.scrape import sample
from tests.integration.torrents.helpers import MB, downloader, make_pack, verify, wait_seeding
from tests.services.binaries import wait_until
from tests.support import LiveApp

SIZES = {"loops/pad.wav": 6 * MB + 321, "one shot.wav": 2 * MB}
# Bytes sent in a torrent's last moments that its counters may never take in (libtorrent).
UNTICKED = 1 * MB


@pytest.fixture
def torrent_env(torrent_env: dict[str, str]) -> dict[str, str]:
    # tests.support turns it off everywhere else; this is the one test of the embedded default.
    return {**torrent_env, "ECHOEL_SEEDER_IN_PROCESS": "true"}


async def test_the_apps_own_seeder_serves_a_downloader(
    service: TorrentService, live_app: LiveApp, torrent_env: dict[str, str], tmp_path: Path
) -> None:
    var_dir = Path(torrent_env["ECHOEL_VAR_DIR"])
    version, digests = make_pack(tmp_path, SIZES, name="Embedded Pack")
    torrent = await service.publish(version)
    assert wait_until(lambda: read_stats(var_dir).get("seeding", 0) >= 1, 30), read_stats(var_dir)

    params = lt.parse_magnet_uri(service.magnet(torrent))
    params.url_seeds = []  # peer-to-peer only: the bytes must come from the app's seeder
    params.save_path = str(tmp_path / "download")
    session = downloader("127.0.0.2")
    handle = session.add_torrent(params)
    wait_seeding(session, handle, timeout=120)
    verify(tmp_path / "download", version.name, digests)
    assert handle.status().total_payload_download >= torrent.total_size

    # The seeder reports what it uploaded to the app's metrics, like the separate process does.
    # libtorrent folds a torrent's last sent blocks into its counters on the torrent's next tick,
    # which a torrent left without peers may not get: in CI the count stopped 512 KiB short of an
    # 8 MiB download, for good. Hence the bound below the whole size (see the session note).
    counted = torrent.total_size - UNTICKED
    if not wait_until(lambda: read_stats(var_dir).get("payload_uploaded", 0) >= counted, 30):
        downloaded = handle.status().total_payload_download
        pytest.fail(f"{torrent.total_size=} {downloaded=} stats={read_stats(var_dir)} log={live_app.log_tail()}")
    async with httpx.AsyncClient() as http:
        scraped = (await http.get(f"{live_app.url}/metrics")).text
    assert sample(scraped, "echoel_torrent_p2p_bytes") >= counted
    assert sample(scraped, "echoel_seeder_upload_bytes_per_second") >= 0
