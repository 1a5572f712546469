"""A listing's torrents for its page: every state (building with progress, ready, failed), the
magnet for free packs only, and the refusals."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from app.torrents.services import TorrentService
from app.torrents.tables import Torrent
from tests.integration.torrents.helpers import make_pack


async def test_a_listing_shows_its_torrents_in_every_state(
    service: TorrentService, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    free, _ = make_pack(tmp_path / "free", {"a.wav": 300_000, "b/c.wav": 70_000}, name="Free Pack")
    ready = await service.publish(free)
    building = Torrent(listing_id=free.listing_id, version_id=uuid.uuid4(), name="Free Pack 1.1", progress=0.4)
    await building.save()

    listed = (await client.get("/api/v1/torrents/", params={"listing": str(free.listing_id)})).json()
    by_name = {t["name"]: t for t in listed}
    assert set(by_name) == {"Free Pack", "Free Pack 1.1"}
    assert by_name["Free Pack 1.1"]["status"] == "building"
    assert abs(by_name["Free Pack 1.1"]["progress"] - 0.4) < 1e-6  # stored as REAL
    assert by_name["Free Pack 1.1"]["magnet"] is None
    done = by_name["Free Pack"]
    assert done["status"] == "ready" and done["id"] == str(ready.id)
    assert done["total_size"] == 370_000 and done["file_count"] == 2
    assert done["magnet"].startswith(f"magnet:?xt=urn:btih:{ready.info_hash_v1}")
    assert {"peers", "upload_rate", "p2p_bytes", "http_bytes"} <= set(done)

    paid, _ = make_pack(tmp_path / "paid", {"x.wav": 100_000}, private=True, name="Paid Pack")
    await service.publish(paid)
    (only,) = (await client.get("/api/v1/torrents/", params={"listing": str(paid.listing_id)})).json()
    assert only["private"] is True and only["magnet"] is None  # paid packs are never public magnets

    assert (await client.get("/api/v1/torrents/", params={"listing": str(uuid.uuid4())})).json() == []
    for bad in ({"listing": "not-a-uuid"}, {}):
        r = await client.get("/api/v1/torrents/", params=bad)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
