"""The production web seed: the app checks each request and nginx (the repo's rendered template)
sends the pack bytes from the seeder's cache through X-Accel-Redirect, Range included."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import libtorrent as lt
import pytest

from app.accounts.tables import User
from app.torrents.services import TorrentService
from app.torrents.tables import Torrent
from tests.integration.edge.stack import EdgeNginx
from tests.integration.ops.scrape import sample
from tests.integration.torrents.helpers import MB, make_pack
from tests.support import LiveApp

SIZES = {"drums/kick 01.wav": MB + 5, "naïve.txt": 3000}
PREFIX = "/_echoel_seed/"


@pytest.fixture
def torrent_env(torrent_env: dict[str, str]) -> dict[str, str]:
    return {**torrent_env, "ECHOEL_WEBSEED_ACCEL_PREFIX": PREFIX}


@pytest.fixture
def nginx(live_app: LiveApp, torrent_env: dict[str, str], tmp_path: Path) -> Iterator[EdgeNginx]:
    seed_dir = Path(torrent_env["ECHOEL_VAR_DIR"]) / "torrents" / "data"
    with EdgeNginx(tmp_path / "nginx", live_app.port, NGINX_SEED_DIR=str(seed_dir)) as edge:
        yield edge


def _expected(version_source: str, start: int, end: int) -> bytes:
    with open(version_source, "rb") as f:
        f.seek(start)
        return f.read(end - start + 1)


async def test_web_seed_bytes_come_from_nginx_after_the_app_checks(
    service: TorrentService, live_app: LiveApp, nginx: EdgeNginx, tmp_path: Path
) -> None:
    free, _ = make_pack(tmp_path / "free", SIZES, name="Free Pack")
    paid, _ = make_pack(tmp_path / "paid", SIZES, private=True, name="Paid Pack")
    free_torrent, paid_torrent = await service.publish(free), await service.publish(paid)
    buyer = User(email=f"{uuid.uuid4().hex[:8]}@example.com", handle=uuid.uuid4().hex[:12], password_hash="x")
    await buyer.save()
    await service.grant(buyer.id, paid.listing_id)
    buyer_seed = lt.bdecode(await service.buyer_torrent_file(paid_torrent, buyer.id))[b"url-list"][0].decode()
    token = buyer_seed.rstrip("/").split("/")[-2]
    kick, text = free.files[0], free.files[1]

    async with httpx.AsyncClient(base_url=nginx.url) as http:
        # A free pack: a range of a file whose name holds a space, a Unicode name whole.
        url = f"/ws/seed/public/{free_torrent.info_hash_v1}/Free Pack/drums/kick 01.wav"
        got = await http.get(url, headers={"Range": "bytes=1000-1048575"})
        assert got.status_code == 206, got.headers
        assert got.headers["content-range"] == f"bytes 1000-1048575/{kick.size}"
        assert got.content == _expected(kick.source, 1000, 1048575)
        assert "x-accel-redirect" not in got.headers
        assert got.headers.get_list("cache-control") == ["public, max-age=86400"]
        # The app itself hands the file over, body empty: the bytes above were nginx's.
        handed = await http.get(f"{live_app.url}{url}", headers={"Range": "bytes=0-9"})
        assert handed.content == b"" and handed.headers["x-accel-redirect"].startswith(PREFIX)
        whole = await http.get(f"/ws/seed/public/{free_torrent.info_hash_v1}/Free Pack/naïve.txt")
        assert whole.status_code == 200 and whole.content == _expected(text.source, 0, text.size - 1)

        # A paid pack with the buyer's token: nginx serves it, never for a shared cache.
        url = f"/ws/seed/{token}/{paid_torrent.info_hash_v1}/Paid Pack/drums/kick 01.wav"
        got = await http.get(url, headers={"Range": "bytes=-100"})
        assert got.status_code == 206
        assert got.content == _expected(paid.files[0].source, kick.size - 100, kick.size - 1)
        assert got.headers.get_list("cache-control") == ["private, no-store"]

        # A forged token: the app's own refusal, as problem+json, and no byte of the pack.
        url = f"/ws/seed/{token[:-2]}xx/{paid_torrent.info_hash_v1}/Paid Pack/drums/kick 01.wav"
        refused = await http.get(url, headers={"Range": "bytes=0-99"})
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["status"] == 403

        # The internal location is not reachable from outside.
        direct = await http.get(f"{PREFIX}{free_torrent.id}/Free Pack/naïve.txt")
        assert direct.status_code == 404

    # Bytes handed to nginx count as web-seed bytes (the spans asked for; the refusal none).
    counted = {
        r["id"]: r["http_bytes"]
        for r in await Torrent.select(Torrent.id, Torrent.http_bytes).where(
            Torrent.id.is_in([free_torrent.id, paid_torrent.id])
        )
    }
    assert counted[free_torrent.id] == (1048575 - 1000 + 1) + 10 + text.size
    assert counted[paid_torrent.id] == 100
    # And in the app's metrics (a fresh process: its counter holds these requests alone).
    async with httpx.AsyncClient() as http:
        scraped = (await http.get(f"{live_app.url}/metrics")).text
    assert sample(scraped, "echoel_torrent_http_bytes_total") == sum(counted.values())
