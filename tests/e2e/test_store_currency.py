"""A store that sells in yen: the dashboard prices new listings in yen and the search page's
price range is typed in yen (no minor unit: 1500 is ¥1,500, sent as 1500)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.conftest import new_database
from tests.e2e.test_catalog_flow import account, log_in, new_listing
from tests.e2e.test_search_flow import intl_money
from tests.support import LiveApp, test_env

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def yen_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    folder = tmp_path_factory.mktemp("e2e-yen")
    with LiveApp(test_env(new_database("sqlite", None, folder), folder / "var", ECHOEL_CURRENCY="JPY")) as app:
        yield app


async def test_a_yen_store_prices_and_filters_in_yen(yen_app: LiveApp, page: Page) -> None:
    creator = await account(yen_app.url, creator=True)
    await log_in(page, yen_app.url, creator)
    await page.goto(f"{yen_app.url}/dashboard.html")
    await expect(page.locator("#currency-label")).to_have_text("JPY")
    listing_id = await new_listing(page, yen_app.url, "Koto Phrases", price="1500")
    async with httpx.AsyncClient(base_url=yen_app.url) as http:
        login = {"email": creator["email"], "password": creator["password"], "refresh_in_body": True}
        token = (await http.post("/api/v1/auth/login", json=login)).json()["access_token"]
        shown = (await http.get(f"/api/v1/listings/{listing_id}", headers={"Authorization": f"Bearer {token}"})).json()
        store = (await http.get("/api/v1/currencies")).json()["store"]
    assert store == "JPY"
    assert (shown["price"]["currency"], shown["price"]["amount"]) == ("JPY", 1500)

    await page.goto(f"{yen_app.url}/search.html")
    await expect(page.locator("#price-currency")).to_have_text("JPY")
    await page.fill("#price_min", "1500")
    await expect(page).to_have_url(re.compile(r"price_min=1500(&|$)"))
    yen = await intl_money(page, "JPY", 1500)
    await expect(page.locator("#chips .chip", has_text=f"Price ≥ {yen}")).to_be_visible()
