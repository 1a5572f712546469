"""A pack whose torrent is built ready is announced to the operator's webhooks, once."""

from __future__ import annotations

from pathlib import Path

import httpx
import msgspec

from app.torrents.services import TorrentService
from tests.integration.ops.receiver import webhook_jobs
from tests.integration.torrents.helpers import make_pack


async def test_built_pack_queues_one_pack_published(client: httpx.AsyncClient, tmp_path: Path) -> None:
    app_service: TorrentService = client._transport.app.state.torrents  # type: ignore[attr-defined]
    # Port 9 (discard) on loopback: the delivery itself is not under test, only what is queued.
    settings = msgspec.structs.replace(app_service.settings, webhook_urls="http://127.0.0.1:9/hook")
    service = TorrentService(settings)
    version, _ = make_pack(tmp_path / "pack", {"one.wav": 300_000, "kit/two.wav": 5000})
    first = await service.publish(version)
    again = await service.publish(version)  # already ready: nothing new is announced
    assert first.id == again.id and first.status == "ready"
    jobs = await webhook_jobs()
    assert len(jobs) == 1
    payload = jobs[0]["payload"]
    assert payload["event"] == "pack.published" and payload["event_id"] == f"pack:{version.version_id}"
    data = payload["data"]
    assert data["title"] == version.name and data["files"] == 2
    assert data["url"].endswith(f"/listing.html?id={version.listing_id}")
    assert data["access"].startswith("free")
