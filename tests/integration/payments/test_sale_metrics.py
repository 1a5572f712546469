"""A sale moves /metrics once, however often Stripe delivers its webhook."""

from __future__ import annotations

import httpx

from tests.integration.ops.scrape import sample, scrape
from tests.integration.payments.helpers import checkout, deliver, event, for_sale, session_id, session_object, user
from tests.integration.payments.stripe_server import PaidStripeMock


async def test_a_paid_sale_is_counted_once_with_its_amount(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1234, currency="CHF")
    before = await scrape(client)

    r = await checkout(client, buyer, items=[{"listing_id": item["id"]}])
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    sid = await session_id(order_id)
    paid = event("checkout.session.completed", session_object(stripe_mock.url, sid, order_id, "paid", "pi_metrics"))
    # Stripe retries: the first delivery fulfils, the redeliveries and the success page count nothing.
    outcomes = [(await deliver(client, paid)).json()["outcome"] for _ in range(3)]
    assert outcomes == ["fulfilled", "duplicate", "duplicate"]
    assert (await client.post("/api/v1/checkout/confirm", json={"session_id": sid}, headers=buyer)).status_code == 200

    after = await scrape(client)
    for name, step in (("echoel_sales_total", 1), ("echoel_sales_amount_minor_total", 1234)):
        grew = sample(after, name, 0.0, currency="CHF") - sample(before, name, 0.0, currency="CHF")
        assert grew == step, name
