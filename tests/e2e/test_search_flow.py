"""The search page in headless Chromium: instant results with a typo, facets, chips, empty state."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from app.accounts.tables import User
from app.catalog.tables import Listing
from app.core import db
from app.search import outbox
from tests.e2e.conftest import screenshot
from tests.support import LiveApp

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TAG = uuid.uuid4().hex[:6]
LISTINGS = [
    ("Serum Pluck Essentials", "preset_bank", '["pluck", "edm"]'),
    ("Vital Ambient Pads", "preset_bank", '["pad", "ambient"]'),
    ("Dark Techno Drums", "sample_pack", '["drums", "techno"]'),
]


async def intl_money(page: Page, currency: str, major: float) -> str:
    """``major`` written by the page's own locale, as the pages write prices."""
    text: str = await page.evaluate(
        "([currency, major]) => new Intl.NumberFormat(undefined, {style: 'currency', currency}).format(major)",
        [currency, major],
    )
    return text


async def publish_listings(
    database_url: str, handle: str = f"maker{TAG}", listings: list[dict[str, Any]] | None = None
) -> None:
    """Write published listings (and their outbox rows) straight into the live app's database."""
    engine = db.make_engine(database_url)
    db.bind_tables(engine)
    await db.start(engine)
    try:
        creator = User(
            email=f"{handle}@example.com",
            handle=handle,
            password_hash="x",
            role="creator",
            display_name="Search Maker",
        )
        await creator.save()
        t = int(time.time())
        rows = listings or [{"title": title, "kind": kind, "tags": tags} for title, kind, tags in LISTINGS]
        for fields in rows:
            listing = Listing(
                creator=creator.id,
                slug=uuid.uuid4().hex[:10],
                status="published",
                created_at=t,
                updated_at=t,
                published_at=t,
                **fields,
            )
            async with engine.transaction():
                await listing.save()
                await outbox.note(listing.id)
    finally:
        await db.stop(engine)


async def wait_indexed(base: str, creator: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(100):
            r = await client.get("/api/v1/search/", params={"creator": creator})
            if r.json()["total"] == count:
                return
            await asyncio.sleep(0.2)
    raise AssertionError("the listings never reached the search index")


async def test_search_page(live_app: LiveApp, page: Page) -> None:
    await publish_listings(live_app.env["ECHOEL_DATABASE_URL"])
    await wait_indexed(live_app.url, f"maker{TAG}", len(LISTINGS))

    await page.goto(f"{live_app.url}/")
    await expect(page.locator("header .header-search input")).to_be_visible()
    await page.goto(f"{live_app.url}/search.html?creator=maker{TAG}")
    results = page.locator("#results .result")
    await expect(results).to_have_count(3)

    # Instant results, typo forgiven, match highlighted.
    await page.fill("#q", "serun pluck")
    await expect(results).to_have_count(1)
    await expect(results.first.locator("h2 mark")).to_have_text(["Serum", "Pluck"])

    # A facet narrows the results and shows a chip; removing the chip widens them again.
    await page.fill("#q", "")
    await expect(results).to_have_count(3)
    await page.locator('#facet-lists input[data-param="kind"][data-value="sample_pack"]').check()
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("Dark Techno Drums")
    chip = page.locator("#chips .chip", has_text="Type: Sample pack")
    await expect(chip).to_be_visible()
    assert "kind=sample_pack" in page.url
    await screenshot(page, "search-facets")
    await chip.click()
    await expect(results).to_have_count(3)

    # Nothing found: the page says what to do next.
    await page.fill("#q", "zzqxv nothing")
    await expect(page.locator("#results .empty")).to_contain_text("Remove a filter chip")


async def test_search_prices_in_the_servers_minor_units(live_app: LiveApp, page: Page) -> None:
    handle = f"yen{TAG}"
    priced = [("Koto Keys", "JPY", 1500), ("Geysir Drones", "ISK", 150000), ("Tape Hiss", "USD", 1299)]
    await publish_listings(
        live_app.env["ECHOEL_DATABASE_URL"],
        handle,
        [
            {"title": t, "kind": "preset_bank", "tags": "[]", "price_kind": "fixed", "price_amount": a, "currency": c}
            for t, c, a in priced
        ],
    )
    await wait_indexed(live_app.url, handle, len(priced))
    await page.goto(f"{live_app.url}/search.html?creator={handle}")
    results = page.locator("#results .result")
    await expect(results).to_have_count(3)
    # The page's own locale writes the amounts. Yen have no minor unit (¥1,500, never ¥15); ISK
    # is whole krónur to Intl, but Stripe and the server count it in hundredths: 150000 is 1,500 kr.
    for title, currency, major in (
        ("Koto Keys", "JPY", 1500),
        ("Geysir Drones", "ISK", 1500),
        ("Tape Hiss", "USD", 12.99),
    ):
        shown = await intl_money(page, currency, major)
        await expect(results.filter(has_text=title).locator(".price")).to_have_text(shown)

    # A price range, typed in major units and sent in minor units, narrows the results with chips.
    await page.fill("#price_min", "10")
    await page.fill("#price_max", "20")
    await expect(results).to_have_count(2)  # 1299 and 1500 lie within 1000..2000; 150000 does not
    await expect(page).to_have_url(re.compile(r"price_min=1000&price_max=2000"))
    ten = await intl_money(page, "USD", 10)
    await expect(page.locator("#chips .chip", has_text=f"Price ≥ {ten}")).to_be_visible()
    await screenshot(page, "search-price-range")

    # The sort reorders what the filters keep.
    await page.select_option("#sort", "price_desc")
    await expect(results.first).to_contain_text("Koto Keys")
    await expect(page).to_have_url(re.compile(r"sort=price_desc"))
    await page.select_option("#sort", "price_asc")
    await expect(results.first).to_contain_text("Tape Hiss")

    # Removing a chip clears its input and widens the results again.
    twenty = await intl_money(page, "USD", 20)
    await page.locator("#chips .chip", has_text=f"Price ≤ {twenty}").click()
    await expect(page.locator("#price_max")).to_have_value("")
    await expect(results).to_have_count(3)
    await expect(results.last).to_contain_text("Geysir Drones")
