"""Buying a listing in headless Chromium against stripe-mock.

Stripe's hosted Checkout page is Stripe's own, so the test stands in for it: the browser's
request for it is answered with a redirect to our success URL carrying the session id, exactly
as Stripe sends the buyer back. The success page then confirms the session with stripe-mock.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from piccolo.querystring import QueryString
from playwright.async_api import Browser, Page, Route, expect

from app.core.db import make_engine
from tests.conftest import new_database
from tests.e2e.conftest import screenshot
from tests.e2e.test_catalog_flow import account, log_in
from tests.integration.catalog.helpers import listing, upload
from tests.integration.payments.conftest import stripe_env
from tests.integration.payments.helpers import charge_object, event, signed
from tests.integration.payments.stripe_server import PaidStripeMock
from tests.support import LiveApp, test_env

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, stripe_mock: PaidStripeMock
) -> Iterator[tuple[LiveApp, str]]:
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    folder = tmp_path_factory.mktemp(f"shop-{request.param}")
    url = new_database(request.param, server, folder)
    app = LiveApp(test_env(url, folder / "var", **stripe_env(stripe_mock)))
    # Stripe sends the buyer back to public_url: the app's own address here.
    app.env["ECHOEL_PUBLIC_URL"] = app.url
    with app:
        yield app, url


async def latest_session(db_url: str) -> str:
    engine = make_engine(db_url)
    rows = await engine.run_querystring(
        QueryString(
            "SELECT stripe_session_id FROM orders WHERE stripe_session_id IS NOT NULL ORDER BY created_at DESC LIMIT 1"
        )
    )
    return str(rows[0]["stripe_session_id"])


async def latest_order(db_url: str) -> tuple[str, int]:
    """The newest order's id and total."""
    engine = make_engine(db_url)
    rows = await engine.run_querystring(QueryString("SELECT id, total FROM orders ORDER BY created_at DESC LIMIT 1"))
    return str(rows[0]["id"]), int(rows[0]["total"])


async def refund_part(app: LiveApp, stripe_url: str, order_id: str, total: int, refunded: int) -> None:
    """Stripe's signed ``charge.refunded`` for part of the order, delivered to the live app."""
    charge = charge_object(
        stripe_url, "pi_e2e", amount=total, amount_refunded=refunded, refunded=False, metadata={"order_id": order_id}
    )
    body, headers = signed(event("charge.refunded", charge))
    async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
        r = await client.post("/api/v1/stripe/webhook", content=body, headers=headers)
    assert r.json()["outcome"] == "partial refund: access kept", r.text


async def published(base_url: str, creator: dict[str, str], **fields: Any) -> dict[str, Any]:
    """A published listing of ``creator`` with one file, made through the API."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        r = await client.post("/api/v1/auth/login", json={"email": creator["email"], "password": creator["password"]})
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        item = await listing(client, h, **fields)
        done = await upload(client, client, h, item["id"], b"pads " + uuid.uuid4().bytes, name="pads.fxb")
        assert done.status_code == 200, done.text
        r = await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "published"}, headers=h)
        assert r.status_code == 200, r.text
    return item


async def stand_in_for_stripe(page: Page, app: LiveApp, db_url: str) -> None:
    """Answer the browser's visit to Stripe's hosted Checkout as Stripe does once the buyer paid."""

    async def stripe_checkout(route: Route) -> None:
        target = f"{app.url}/checkout/success.html?session_id={await latest_session(db_url)}"
        html = f'<!doctype html><meta http-equiv="refresh" content="0;url={target}"><p>Stripe Checkout</p>'
        await route.fulfill(status=200, content_type="text/html", body=html)

    await page.route(re.compile(r"^https://checkout\.stripe\.com/.*"), stripe_checkout)


async def test_buy_a_listing_and_find_it_in_the_library(
    shop: tuple[LiveApp, str], page: Page, stripe_mock: PaidStripeMock
) -> None:
    app, db_url = shop
    creator = await account(app.url, creator=True)
    buyer = await account(app.url)
    title = f"Glass Pads {uuid.uuid4().hex[:6]}"
    item = await published(app.url, creator, title=title, price_kind="pwyw", price_amount=900, pwyw_minimum=500)
    await stand_in_for_stripe(page, app, db_url)
    await log_in(page, app.url, buyer)
    await page.goto(f"{app.url}/cart.html?add={item['id']}&ref={creator['handle']}")
    price = page.get_by_label(re.compile(f"Your price for {title}"))
    await expect(price).to_have_value("9")
    await price.fill("4")  # below the creator's minimum of 5.00
    await price.dispatch_event("change")
    await page.get_by_role("button", name="Check out").click()
    # The page refuses it before the server would (the input's minimum is the creator's).
    await expect(page.get_by_role("alert")).to_contain_text("Fix the highlighted field")
    await price.fill("6.50")
    await price.dispatch_event("change")
    await page.get_by_role("button", name="Check out").click()

    await expect(page).to_have_url(re.compile(r"/checkout/success\.html\?session_id="))
    await expect(page.get_by_text("Your files are in your library")).to_be_visible(timeout=20_000)
    await screenshot(page, "checkout-success")
    await page.get_by_role("link", name="Go to your library").click()
    await expect(page.get_by_text(title)).to_be_visible()
    await page.goto(f"{app.url}/orders.html")
    await expect(page.locator("#orders")).to_contain_text("paid")
    await expect(page.locator("#orders")).to_contain_text(title)

    # Part of it refunded: the order is still paid for, but the buyer is told what came back.
    order_id, total = await latest_order(db_url)
    assert total == 650
    await refund_part(app, stripe_mock.url, order_id, total, 250)
    await page.reload()
    back = await page.evaluate("new Intl.NumberFormat(undefined, {style: 'currency', currency: 'USD'}).format(2.5)")
    status = page.locator("#orders tbody tr").first.locator("td").last
    await expect(status).to_contain_text("partly refunded")
    await expect(status).to_contain_text(f"{back} refunded")


async def older_entries(db_url: str, handle: str, count: int) -> None:
    """``count`` past sales in the creator's ledger, written straight to the database."""
    engine = make_engine(db_url)
    creator = (await engine.run_querystring(QueryString("SELECT id FROM users WHERE handle = {}", handle)))[0]["id"]
    at = int(time.time()) - 3600
    for i in range(count):
        await engine.run_querystring(
            QueryString(
                'INSERT INTO ledger_entries (id, entry_key, creator, "order", order_item, kind, currency, gross, fee,'
                " commission, net, held, created_at, settled_at, transfer_id)"
                " VALUES ({}, {}, {}, {}, NULL, 'sale', 'JPY', 1000, 0, 300, 700, {}, {}, NULL, '')",
                str(uuid.uuid4()),
                f"sale:old-{uuid.uuid4()}",
                str(creator),
                str(uuid.uuid4()),
                False,
                at - i * 60,
            )
        )


async def test_yen_stay_yen_in_cart_orders_and_sales_and_the_sales_entries_come_in_pages(
    shop: tuple[LiveApp, str], page: Page, browser: Browser
) -> None:
    app, db_url = shop
    creator = await account(app.url, creator=True)
    buyer = await account(app.url)
    title = f"Koto Keys {uuid.uuid4().hex[:6]}"
    yen = {"currency": "JPY", "price_kind": "pwyw", "price_amount": 900, "pwyw_minimum": 500}
    item = await published(app.url, creator, title=title, **yen)
    await stand_in_for_stripe(page, app, db_url)
    await log_in(page, app.url, buyer)

    def shown(amount: int) -> Any:
        # The page's own locale writes the yen (¥1,500 or ￥1,500); a page dividing by 100 shows ¥15.
        return page.evaluate(
            f"new Intl.NumberFormat(undefined, {{style: 'currency', currency: 'JPY'}}).format({amount})"
        )

    await page.goto(f"{app.url}/cart.html?add={item['id']}")
    price = page.get_by_label(f"Your price for {title} (at least {await shown(500)})")
    await expect(price).to_have_value("900")  # yen, not 9
    await price.fill("1500")
    await price.dispatch_event("change")
    await page.get_by_role("button", name="Check out").click()
    await expect(page.get_by_text("Your files are in your library")).to_be_visible(timeout=20_000)
    await page.goto(f"{app.url}/orders.html")
    await expect(page.locator("#orders")).to_contain_text(f"{title} ({await shown(1500)})")

    await older_entries(db_url, creator["handle"], 55)
    context = await browser.new_context()
    sales = await context.new_page()
    try:
        await log_in(sales, app.url, creator)
        await sales.goto(f"{app.url}/sales.html")
        rows = sales.locator("#entries tbody tr")
        await expect(rows).to_have_count(50)
        await expect(rows.first).to_contain_text(title)
        await expect(rows.first).to_contain_text(await shown(1500))
        await expect(sales.locator("#currencies")).to_contain_text(await shown(1500 + 55 * 1000))
        await sales.get_by_role("button", name="Show older entries").click()
        await expect(rows).to_have_count(56)
        await expect(sales.get_by_role("button", name="Show older entries")).to_be_hidden()
        await screenshot(sales, "sales-entries")
    finally:
        await context.close()
