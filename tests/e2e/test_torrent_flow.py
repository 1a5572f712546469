"""A sample pack's torrents on its page and the creator's dashboard, in headless Chromium:
build progress while hashing, then magnet, .torrent and live swarm figures; bytes served."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import libtorrent as lt
import pytest
from playwright.async_api import Page, expect

from app.core import db
from app.torrents.tables import Torrent
from tests.e2e.conftest import screenshot
from tests.e2e.test_catalog_flow import WAIT, account, log_in
from tests.integration.catalog.helpers import upload
from tests.support import LiveApp, test_settings

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def published_pack(app: LiveApp, creator: dict[str, str]) -> str:
    """A published sample pack with one file, made through the API as the creator."""
    async with httpx.AsyncClient(base_url=app.url, timeout=30) as http:
        login = {"email": creator["email"], "password": creator["password"], "refresh_in_body": True}
        h = {"Authorization": f"Bearer {(await http.post('/api/v1/auth/login', json=login)).json()['access_token']}"}
        r = await http.post("/api/v1/listings", json={"kind": "sample_pack", "title": "Tape Drums"}, headers=h)
        assert r.status_code == 201, r.text
        listing_id: str = r.json()["id"]
        done = await upload(http, http, h, listing_id, b"RIFF" + bytes(2000), name="kick.wav")
        assert done.status_code == 200, done.text
        assert (await http.post(f"/api/v1/listings/{listing_id}/versions/1.0/publish", headers=h)).status_code == 200
        r = await http.post(f"/api/v1/listings/{listing_id}/status", json={"status": "published"}, headers=h)
        assert r.status_code == 200, r.text
    return listing_id


async def test_pack_page_shows_torrent_progress_then_links_and_swarm(
    live_app: LiveApp, page: Page, tmp_path: Path
) -> None:
    page.set_default_timeout(WAIT)
    creator = await account(live_app.url, creator=True)
    listing_id = await published_pack(live_app, creator)
    settings = test_settings(live_app.env["ECHOEL_DATABASE_URL"], Path(live_app.env["ECHOEL_VAR_DIR"]))
    async with db.connected(db.make_engine(settings.db_url)):
        # A second version still hashing, as the builder job leaves it part-way.
        building = Torrent(
            listing_id=uuid.UUID(listing_id), version_id=uuid.uuid4(), name="Tape Drums 1.1", progress=0.25
        )
        await building.save()

        await page.goto(f"{live_app.url}/listing.html?id={listing_id}")
        item = page.locator(f'.torrent[data-torrent-id="{building.id}"]')
        await expect(item).to_have_attribute("data-status", "building")
        await expect(item).to_contain_text("Building the torrent… 25%")
        await Torrent.update({Torrent.progress: 0.75}).where(Torrent.id == building.id)
        await expect(item).to_contain_text("Building the torrent… 75%")  # the page follows the build

        # Publishing version 1.0 queued its build; the app's job worker hashes it meanwhile.
        ready = page.locator(".torrent[data-status=ready]")
        await expect(ready).to_have_count(1)
        torrent = (
            await Torrent.objects()
            .where(Torrent.listing_id == uuid.UUID(listing_id), Torrent.id != building.id)
            .first()
        )
        assert torrent is not None and torrent.info_hash_v1
        await Torrent.update({Torrent.p2p_bytes: 3_000_000, Torrent.http_bytes: 1_000_000, Torrent.peers: 2}).where(
            Torrent.id == torrent.id
        )

    magnet = await ready.locator("a.magnet").get_attribute("href")
    assert magnet is not None and magnet.startswith(f"magnet:?xt=urn:btih:{torrent.info_hash_v1}")
    await expect(ready.locator(".swarm")).to_contain_text("2 peers connected")
    await expect(ready.locator(".swarm")).to_contain_text("3.0 MB shared peer-to-peer, 1.0 MB over HTTP")
    link = await ready.get_by_role("link", name=".torrent file").get_attribute("href")
    info = lt.torrent_info(await (await page.request.get(f"{live_app.url}{link}")).body())
    assert info.name() == torrent.name and str(info.info_hashes().v1) == torrent.info_hash_v1
    await screenshot(page, "torrent-pack")

    await log_in(page, live_app.url, creator)
    await page.goto(f"{live_app.url}/dashboard.html")
    served = page.locator(f'.listing-card[data-listing-id="{listing_id}"] .torrent-served')
    await expect(served).to_contain_text("Sent 3.0 MB peer-to-peer and 1.0 MB over HTTP")
