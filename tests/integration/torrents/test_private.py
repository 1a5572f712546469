"""A paid pack (private torrent): outsiders get zero payload bytes from our seeder, a buyer with a
valid passkey completes, and after revocation the buyer gets nothing more within seconds."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import anyio
import httpx
import libtorrent as lt

from app.accounts.tables import User
from app.torrents.services import TorrentService
from tests.integration.torrents.helpers import MB, SeederProcess, downloader, make_pack, verify, wait_seeding
from tests.services.binaries import wait_until
from tests.support import LiveApp

SIZES = {"one.wav": 24 * MB + 5, "dir/two.wav": 16 * MB}


def _params(body: bytes, save_path: Path, *, tracker: bool) -> lt.add_torrent_params:
    params = lt.add_torrent_params()
    params.ti = lt.torrent_info(body)
    params.save_path = str(save_path)
    # Peer-to-peer only (the per-buyer web seed is checked over HTTP below).
    params.url_seeds = []
    params.flags |= lt.torrent_flags.override_web_seeds
    if not tracker:
        params.trackers = []
        params.flags |= lt.torrent_flags.override_trackers
    return params


async def _buyer() -> User:
    user = User(email=f"{uuid.uuid4().hex[:8]}@example.com", handle=uuid.uuid4().hex[:12], password_hash="x")
    await user.save()
    return user


async def test_paid_pack_outsiders_get_nothing_buyer_completes_until_revoked(
    service: TorrentService, live_app: LiveApp, torrent_env: dict[str, str], tmp_path: Path
) -> None:
    version, digests = make_pack(tmp_path, SIZES, private=True)
    torrent = await service.publish(version)
    assert lt.torrent_info(torrent.metainfo).priv()
    buyer = await _buyer()
    await service.grant(buyer.id, version.listing_id)
    body = await service.buyer_torrent_file(torrent, buyer.id)
    info = lt.torrent_info(body)
    assert str(info.info_hashes().v1) == torrent.info_hash_v1  # per-buyer sources keep the info-hash
    seeder_port = 0

    seeder = SeederProcess(torrent_env).start(torrents=0)
    try:
        # No buyer yet: the paid pack has no session at all.
        assert seeder.stats()["dormant"] == 1
        # The buyer on 127.0.0.2 announces with the passkey and downloads from the seeder.
        session = downloader("127.0.0.2")
        handle = session.add_torrent(_params(body, tmp_path / "buyer", tracker=True))
        seeder_port = seeder.wait_stats(lambda s: str(torrent.id) in s.get("listen", {}))["listen"][str(torrent.id)]
        # Outsiders on 127.0.0.3 and 127.0.0.4 go straight to the seeder: one knows only the
        # info-hash, the other holds a leaked .torrent (but no passkey of its own).
        outsider = downloader("127.0.0.3")
        by_hash = lt.add_torrent_params()
        by_hash.info_hashes = info.info_hashes()
        by_hash.save_path = str(tmp_path / "outsider-hash")
        outsider_hash = outsider.add_torrent(by_hash)
        leaked = downloader("127.0.0.4")
        outsider_leak = leaked.add_torrent(_params(body, tmp_path / "outsider-leak", tracker=False))

        for _ in range(20):  # keep knocking while the buyer is being served
            outsider_hash.connect_peer(("127.0.0.1", seeder_port))
            outsider_leak.connect_peer(("127.0.0.1", seeder_port))
            if handle.status().is_seeding:
                break
            await anyio.sleep(0.5)
        wait_seeding(session, handle)
        verify(tmp_path / "buyer", version.name, digests)
        assert outsider_hash.status().total_payload_download == 0
        assert not outsider_hash.status().has_metadata
        assert outsider_leak.status().total_payload_download == 0
        session.remove_torrent(handle)
        del session

        # Again, slowly, and revoke halfway: the buyer gets nothing more within the refresh.
        slow = downloader("127.0.0.2")
        handle = slow.add_torrent(_params(body, tmp_path / "buyer-again", tracker=True))
        # A per-torrent limit (the session's would not apply to loopback: local peers are exempt).
        handle.set_download_limit(2 * MB)
        assert wait_until(lambda: handle.status().total_payload_download > 4 * MB, 60)
        await service.revoke(buyer.id, version.listing_id)
        revoked_at = time.monotonic()
        assert wait_until(lambda: handle.status().num_peers == 0, 60), "the seeder kept the revoked buyer"
        cut_after = time.monotonic() - revoked_at
        got = handle.status().total_payload_download
        await anyio.sleep(5)
        handle.force_reannounce()
        await anyio.sleep(3)
        assert handle.status().total_payload_download == got
        assert got < torrent.total_size
        assert cut_after < 60
        print(f"revoked buyer cut off after {cut_after:.1f} s")
        assert seeder.stats()["payload_uploaded"] >= torrent.total_size
    finally:
        seeder.stop()

    # The buyer's web seed URL is refused after the revocation too.
    url = lt.bdecode(body)[b"url-list"][0].decode() + f"{version.name}/one.wav"
    async with httpx.AsyncClient() as http:
        response = await http.get(url, headers={"Range": "bytes=0-99"})
    assert response.status_code == 403
