"""Checkout: cart validation, the Stripe session, fulfilment from the success page, 503 without keys."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from app.catalog.tables import Entitlement, Listing
from app.core.settings import Settings
from app.payments.tables import LedgerEntry, Order, OrderItem
from tests.integration.payments.helpers import can_download, checkout, for_sale, session_id, user
from tests.support import test_settings


async def test_cart_of_two_creators_fixed_pwyw_and_tip_is_paid_through_the_success_page(
    client: httpx.AsyncClient,
) -> None:
    a_handle, a = await user(client, creator=True)
    _, b = await user(client, creator=True)
    _, buyer = await user(client)
    fixed = await for_sale(client, a, price_kind="fixed", price_amount=1299)
    pwyw = await for_sale(client, b, price_kind="pwyw", price_amount=800, pwyw_minimum=500)
    assert await can_download(client, buyer, fixed) == 403

    r = await checkout(
        client,
        buyer,
        items=[{"listing_id": fixed["id"]}, {"listing_id": pwyw["id"], "amount": 701}],
        tips=[{"creator": a_handle, "amount": 300}],
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "pending" and out["total"] == 1299 + 701 + 300 and out["checkout_url"]
    order_id = out["order_id"]
    sid = await session_id(order_id)
    assert await can_download(client, buyer, fixed) == 403  # pending: nothing granted yet

    # The success page: Stripe (stripe-mock) says the session is paid.
    done = await client.post("/api/v1/checkout/confirm", json={"session_id": sid}, headers=buyer)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "paid"
    assert await can_download(client, buyer, fixed) == 200
    assert await can_download(client, buyer, pwyw) == 200
    again = await client.post("/api/v1/checkout/confirm", json={"session_id": sid}, headers=buyer)
    assert again.json()["status"] == "paid"
    assert await Entitlement.count().where(Entitlement.source == "purchase") == 2
    assert await LedgerEntry.count() == 3

    history = (await client.get("/api/v1/orders", headers=buyer)).json()
    assert [o["id"] for o in history] == [order_id]
    assert sorted(i["amount"] for i in history[0]["items"]) == [300, 701, 1299]


async def test_bad_carts_are_refused_and_write_nothing(client: httpx.AsyncClient) -> None:
    a_handle, a = await user(client, creator=True)
    _, buyer = await user(client)
    usd = await for_sale(client, a, price_kind="pwyw", price_amount=800, pwyw_minimum=500)
    eur = await for_sale(client, a, price_kind="fixed", price_amount=900, currency="EUR")
    fixed = await for_sale(client, a, price_kind="fixed", price_amount=900)
    isk = await for_sale(client, a, price_kind="pwyw", price_amount=50000, pwyw_minimum=10000, currency="ISK")
    # Priced before the currency rules, in a currency Stripe would refuse at checkout.
    legacy = await for_sale(client, a, price_kind="fixed", price_amount=900)
    await Listing.update({Listing.currency: "XYZ"}).where(Listing.id == uuid.UUID(legacy["id"]))
    draft = (
        await client.post(
            "/api/v1/listings",
            json={"kind": "preset", "title": "Draft", "price_kind": "fixed", "price_amount": 100},
            headers=a,
        )
    ).json()
    cases = [
        ({"items": [{"listing_id": usd["id"], "amount": 499}]}, 422),  # below the minimum
        ({"items": [{"listing_id": usd["id"], "amount": 600}, {"listing_id": eur["id"]}]}, 422),  # currencies
        ({"items": [{"listing_id": fixed["id"], "amount": 1}]}, 422),  # a fixed price is not negotiable
        ({"items": [{"listing_id": draft["id"]}]}, 404),  # unpublished
        ({"items": [{"listing_id": str(uuid.uuid4())}]}, 404),
        ({"items": []}, 422),
        ({"items": [{"listing_id": usd["id"], "amount": -5}]}, 422),
        ({"items": [{"listing_id": usd["id"]}], "price": 1}, 422),  # unknown field
        # Whole krónur only (100 in Stripe's minor units): a chosen price, a tip in the cart's ISK.
        ({"items": [{"listing_id": isk["id"], "amount": 12345}]}, 422),
        ({"items": [{"listing_id": isk["id"]}], "tips": [{"creator": a_handle, "amount": 150}]}, 422),
        ({"items": [{"listing_id": legacy["id"]}]}, 422),  # not a currency Stripe takes
    ]
    for body, status in cases:
        r = await checkout(client, buyer, **body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    krona = await checkout(client, buyer, items=[{"listing_id": isk["id"], "amount": 12345}])
    assert "ISK must be whole units" in krona.json()["detail"]
    own = await checkout(client, a, items=[{"listing_id": fixed["id"]}])
    assert own.status_code == 422
    assert await Order.count() == 0 and await OrderItem.count() == 0


async def test_someone_elses_cart_and_session_are_refused(client: httpx.AsyncClient) -> None:
    _, a = await user(client, creator=True)
    _, buyer = await user(client)
    _, other = await user(client)
    item = await for_sale(client, a, price_kind="fixed", price_amount=500)
    cart = str(uuid.uuid4())
    first = await client.post(
        "/api/v1/checkout", json={"cart_id": cart, "items": [{"listing_id": item["id"]}]}, headers=buyer
    )
    assert first.status_code == 201
    retry = await client.post(
        "/api/v1/checkout", json={"cart_id": cart, "items": [{"listing_id": item["id"]}]}, headers=buyer
    )
    assert retry.json()["order_id"] == first.json()["order_id"]  # a retry is the same order
    # The same new cart sent several times at once (a double click, a retrying client): one order.
    twin = str(uuid.uuid4())
    body = {"cart_id": twin, "items": [{"listing_id": item["id"]}]}
    answers = await asyncio.gather(*(client.post("/api/v1/checkout", json=body, headers=buyer) for _ in range(4)))
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.json()["order_id"] for a in answers}) == 1
    assert await Order.count() == 2
    stolen = await client.post(
        "/api/v1/checkout", json={"cart_id": cart, "items": [{"listing_id": item["id"]}]}, headers=other
    )
    assert stolen.status_code == 403
    sid = await session_id(first.json()["order_id"])
    confirm = await client.post("/api/v1/checkout/confirm", json={"session_id": sid}, headers=other)
    assert confirm.status_code == 404
    assert (await client.get(f"/api/v1/orders/{first.json()['order_id']}", headers=other)).status_code == 404
    assert await Order.count() == 2 and await Entitlement.count() == 0


class TestWithoutStripeKeys:
    @pytest.fixture
    def settings(self, db_url: str, var_dir: Path) -> Settings:
        return test_settings(db_url, var_dir, ECHOEL_STORAGE="local")

    async def test_paid_checkout_is_503_and_free_listings_still_work(self, client: httpx.AsyncClient) -> None:
        _, a = await user(client, creator=True)
        _, buyer = await user(client)
        paid = await for_sale(client, a, price_kind="fixed", price_amount=500)
        free = await for_sale(client, a)
        r = await checkout(client, buyer, items=[{"listing_id": paid["id"]}])
        assert r.status_code == 503
        assert r.json()["detail"].startswith("Payments are not configured")
        assert await Order.count() == 0
        assert await can_download(client, buyer, free) == 200
        assert await can_download(client, buyer, paid) == 403

    async def test_a_100_percent_code_checks_out_without_stripe(self, client: httpx.AsyncClient) -> None:
        _, a = await user(client, creator=True)
        _, buyer = await user(client)
        paid = await for_sale(client, a, price_kind="fixed", price_amount=500)
        for code, value in (("ALLFREE", 100), ("HALF", 50)):
            made = await client.post(
                "/api/v1/discounts", json={"code": code, "kind": "percent", "value": value}, headers=a
            )
            assert made.status_code == 201, made.text
        # Something left to pay: still 503, and the code's use is given back with the order.
        half = await checkout(client, buyer, items=[{"listing_id": paid["id"]}], codes=["HALF"])
        assert half.status_code == 503 and await Order.count() == 0
        free = await checkout(client, buyer, items=[{"listing_id": paid["id"]}], codes=["ALLFREE"])
        assert free.status_code == 201, free.text
        assert (free.json()["status"], free.json()["total"], free.json()["checkout_url"]) == ("paid", 0, None)
        assert await can_download(client, buyer, paid) == 200
        uses = {c["code"]: c["uses"] for c in (await client.get("/api/v1/discounts", headers=a)).json()}
        assert uses == {"ALLFREE": 1, "HALF": 0}
