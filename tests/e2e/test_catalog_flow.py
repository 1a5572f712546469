"""Catalog pages in headless Chromium against real MinIO: list, upload, publish, play, download.

A creator creates a listing and uploads a cover, an audio demo and a preset through the page
(straight to MinIO), then publishes; a visitor sees the cover, the demo's waveform and plays it,
and downloads the free preset; a buyer cannot download a paid file until the creator grants it.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.conftest import new_database
from tests.e2e.conftest import screenshot
from tests.services.minio import MinioServer
from tests.support import LiveApp, test_env

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PASSWORD = "correct horse battery staple"
# Generous: the flow crosses the app, MinIO and Chromium on a shared 2-core machine.
WAIT = 30_000


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def s3_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, minio_server: MinioServer
) -> Iterator[LiveApp]:
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    folder = tmp_path_factory.mktemp(f"catalog-{request.param}")
    url = new_database(request.param, server, folder)
    env = test_env(
        url,
        folder / "var",
        ECHOEL_STORAGE="s3",
        ECHOEL_S3_ENDPOINT=minio_server.endpoint,
        ECHOEL_S3_ACCESS_KEY=minio_server.access_key,
        ECHOEL_S3_SECRET_KEY=minio_server.secret_key,
        ECHOEL_S3_BUCKET=f"e2e-{uuid.uuid4().hex[:12]}",
    )
    with LiveApp(env) as app:
        yield app


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (120, 120), (30, 160, 200)).save(buf, "PNG")
    return buf.getvalue()


def wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        # A rising saw: something for the waveform to draw.
        w.writeframes(b"".join(((i * 37) % 20000 - 10000).to_bytes(2, "little", signed=True) for i in range(16000)))
    return buf.getvalue()


async def account(base_url: str, *, creator: bool = False) -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    me = {"email": f"c{tag}@example.com", "handle": f"c{tag}", "password": PASSWORD}
    async with httpx.AsyncClient(base_url=base_url) as client:
        assert (await client.post("/api/v1/auth/signup", json=me)).status_code == 202
        if creator:
            r = await client.post(
                "/api/v1/auth/login", json={"email": me["email"], "password": PASSWORD, "refresh_in_body": True}
            )
            token = r.json()["access_token"]
            r = await client.post("/api/v1/account/creator", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text
    return me


async def log_in(page: Page, base_url: str, me: dict[str, str]) -> None:
    await page.goto(f"{base_url}/login.html")
    await page.get_by_label("Email").fill(me["email"])
    await page.get_by_label("Password", exact=True).fill(me["password"])
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#account-handle")).to_have_text(f"@{me['handle']}", timeout=WAIT)


async def new_listing(page: Page, base_url: str, title: str, price: str | None = None) -> str:
    await page.goto(f"{base_url}/dashboard.html")
    await page.get_by_label("Title").fill(title)
    if price:
        await page.get_by_label("Price").select_option("fixed")
        await page.get_by_label("Amount").fill(price)
    await page.get_by_role("button", name="Create listing").click()
    await expect(page).to_have_url(re.compile(r"/listing-edit\.html\?id="), timeout=WAIT)
    await expect(page.locator("#editor")).to_be_visible(timeout=WAIT)
    return page.url.split("id=")[1]


async def test_create_upload_publish_play_download_and_grant(
    s3_app: LiveApp, browser: Browser, page: Page, tmp_path: Path
) -> None:
    page.set_default_timeout(WAIT)
    creator = await account(s3_app.url, creator=True)
    await log_in(page, s3_app.url, creator)
    listing_id = await new_listing(page, s3_app.url, "Glass Pads")

    preset = os.urandom(30_000)
    await page.set_input_files(
        "#file-input",
        [
            {"name": "cover.png", "mimeType": "image/png", "buffer": png()},
            {"name": "demo.wav", "mimeType": "audio/wav", "buffer": wav()},
        ],
    )
    await expect(page.locator(".upload-item[data-state=done]")).to_have_count(2, timeout=WAIT)
    # The preset arrives by drag and drop onto the drop zone.
    await page.evaluate(
        """([name, bytes]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(bytes)], name, { type: "" }));
            const drop = new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true });
            document.getElementById("drop-zone").dispatchEvent(drop);
        }""",
        ["Glass Pads.fxb", list(preset)],
    )
    await expect(page.locator(".upload-item[data-state=done]")).to_have_count(3, timeout=WAIT)
    progress = page.locator(".upload-item progress").last
    assert await progress.get_attribute("max") == str(len(preset))
    await expect(page.locator("#files tr")).to_have_count(3, timeout=WAIT)
    await page.get_by_role("button", name="Publish", exact=True).click()
    await expect(page.locator("#status")).to_have_text("Published", timeout=WAIT)
    await screenshot(page, "catalog-editor")

    # Processing (thumbnails, peaks, preview) runs in the background; the page uses what it made.
    async with httpx.AsyncClient(base_url=s3_app.url) as http:
        listed = (await http.get(f"/api/v1/listings/{listing_id}")).json()
        for file_id in (listed["cover_file"], listed["demo_file"]):
            for _ in range(300):
                if (await http.get(f"/api/v1/listings/{listing_id}/files/{file_id}/media")).status_code == 200:
                    break
                await asyncio.sleep(0.1)

    # A visitor (not signed in) sees the page, the cover and the waveform, plays the demo, downloads.
    visitor = await browser.new_context()
    try:
        vpage = await visitor.new_page()
        vpage.set_default_timeout(WAIT)
        await vpage.goto(f"{s3_app.url}/listing.html?id={listing_id}")
        await expect(vpage.locator("#title")).to_have_text("Glass Pads", timeout=WAIT)
        await expect(vpage.locator("#price")).to_have_text("Free", timeout=WAIT)
        await expect(vpage.locator("#cover")).to_be_visible(timeout=WAIT)
        # The WebP thumbnail processing made (never wider than the 120 px original), not the PNG.
        shown = await vpage.locator("#cover").evaluate("img => img.decode().then(() => img.currentSrc)")
        assert "thumb-120.webp" in shown
        await expect(vpage.locator("#waveform")).to_have_attribute("data-drawn", "server", timeout=WAIT)
        await vpage.locator("#waveform").click()
        await vpage.wait_for_function("document.getElementById('player').currentTime > 0.2", timeout=WAIT)
        await screenshot(vpage, "catalog-listing")
        async with vpage.expect_download() as info:
            await vpage.get_by_role("button", name="Download").click()
        download = await info.value
        assert download.suggested_filename == "Glass Pads.fxb"
        target = tmp_path / "dl.fxb"
        await download.save_as(target)
        assert target.read_bytes() == preset
    finally:
        await visitor.close()

    # A paid listing: a buyer is refused until the creator grants it on the editor page.
    paid_id = await new_listing(page, s3_app.url, "Paid Keys", price="12.50")
    await page.set_input_files("#file-input", [{"name": "keys.fxp", "mimeType": "", "buffer": b"paid bytes"}])
    await expect(page.locator(".upload-item[data-state=done]")).to_have_count(1, timeout=WAIT)
    await page.get_by_role("button", name="Publish", exact=True).click()
    await expect(page.locator("#status")).to_have_text("Published", timeout=WAIT)

    buyer = await account(s3_app.url)
    context = await browser.new_context()
    try:
        bpage = await context.new_page()
        bpage.set_default_timeout(WAIT)
        await log_in(bpage, s3_app.url, buyer)
        await bpage.goto(f"{s3_app.url}/listing.html?id={paid_id}")
        await expect(bpage.locator("#price")).to_contain_text("12.50", timeout=WAIT)
        await bpage.get_by_role("button", name="Download").click()
        await expect(bpage.locator("#download-error")).to_contain_text("paid", timeout=WAIT)

        await page.get_by_label("Handle").fill(buyer["handle"])
        await page.get_by_role("button", name="Grant").click()
        await expect(page.locator("#grant-form .form-status")).to_contain_text(buyer["handle"], timeout=WAIT)

        async with bpage.expect_download() as info:
            await bpage.get_by_role("button", name="Download").click()
        assert (await info.value).suggested_filename == "keys.fxp"
        await bpage.goto(f"{s3_app.url}/library.html")
        await expect(bpage.locator(".listing-card")).to_have_count(1, timeout=WAIT)
        await expect(bpage.locator(".listing-card h3")).to_have_text("Paid Keys", timeout=WAIT)
    finally:
        await context.close()


async def test_creator_dresses_the_storefront_visitors_see_it(s3_app: LiveApp, browser: Browser, page: Page) -> None:
    page.set_default_timeout(WAIT)
    creator = await account(s3_app.url, creator=True)
    await log_in(page, s3_app.url, creator)
    await page.goto(f"{s3_app.url}/dashboard.html")
    await expect(page.locator("#storefront")).to_be_visible(timeout=WAIT)

    await page.set_input_files("#avatar-input", {"name": "me.png", "mimeType": "image/png", "buffer": png()})
    await expect(page.locator("#avatar-status")).to_have_text("Your new avatar is on your storefront.", timeout=WAIT)
    await expect(page.locator("#avatar-preview")).to_be_visible()
    # Not an image, whatever its name says: the page says what to do.
    await page.set_input_files(
        "#banner-input", {"name": "b.png", "mimeType": "image/png", "buffer": b"not an image" * 9}
    )
    await expect(page.locator("#banner-status")).to_contain_text("Choose another image", timeout=WAIT)
    await expect(page.locator("#banner-preview")).to_be_hidden()

    await page.get_by_label("Links").fill("Bandcamp https://glass.bandcamp.com\nhttps://glass.example")
    await page.get_by_role("button", name="Save links").click()
    await expect(page.locator("#links-form .form-status")).to_have_text("Links saved.", timeout=WAIT)
    await page.get_by_label("Links").fill("Evil javascript:alert(1)")
    await page.get_by_role("button", name="Save links").click()
    await expect(page.locator("#links-form .form-error")).to_be_visible(timeout=WAIT)

    visitor = await browser.new_context()
    try:
        vpage = await visitor.new_page()
        vpage.set_default_timeout(WAIT)
        await vpage.goto(f"{s3_app.url}/creator.html?handle={creator['handle']}")
        await expect(vpage.locator("#avatar")).to_be_visible(timeout=WAIT)
        assert await vpage.locator("#avatar").evaluate("img => img.decode().then(() => img.naturalWidth)") == 120
        links = vpage.locator("#links a")
        await expect(links).to_have_count(2)
        await expect(links.first).to_have_text("Bandcamp")
        await expect(links.first).to_have_attribute("href", "https://glass.bandcamp.com")
        await expect(links.last).to_have_text("glass.example")
        await expect(vpage.locator("#banner")).to_be_hidden()
        await screenshot(vpage, "catalog-storefront")
    finally:
        await visitor.close()
