"""Webhooks: exactly-once fulfilment under repeated, shuffled, concurrent delivery; forgeries refused."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from app.catalog.tables import Entitlement
from app.payments.tables import LedgerEntry, Order, OrderGrant, WebhookEvent
from tests.integration.payments.conftest import WEBHOOK_SECRET
from tests.integration.payments.helpers import (
    can_download,
    checkout,
    deliver,
    event,
    for_sale,
    session_id,
    session_object,
    shuffled,
    signed,
    user,
)
from tests.integration.payments.stripe_server import PaidStripeMock


async def _order(client: httpx.AsyncClient, item: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    _, buyer = await user(client)
    r = await checkout(client, buyer, items=[{"listing_id": item["id"]}])
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    return order_id, await session_id(order_id), buyer


async def _status(order_id: str) -> str:
    row = await Order.select(Order.status).where(Order.id == uuid.UUID(order_id)).first()
    assert row is not None
    return str(row["status"])


async def test_every_event_three_times_shuffled_ten_at_once_fulfils_each_paid_session_once(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1000)
    orders = {name: await _order(client, item) for name in ("paid", "async_ok", "async_failed", "unpaid")}

    def session(name: str, status: str) -> dict[str, Any]:
        order_id, sid, _ = orders[name]
        return session_object(stripe_mock.url, sid, order_id, status, f"pi_{name}_{uuid.uuid4().hex[:8]}")

    foreign = session("paid", "paid") | {"id": "cs_test_not_ours", "client_reference_id": str(uuid.uuid4())}
    foreign["metadata"] = {"order_id": foreign["client_reference_id"]}
    events = [
        event("checkout.session.completed", session("paid", "paid")),
        event("checkout.session.completed", session("async_ok", "unpaid")),
        event("checkout.session.async_payment_succeeded", session("async_ok", "paid")),
        event("checkout.session.completed", session("async_failed", "unpaid")),
        event("checkout.session.async_payment_failed", session("async_failed", "unpaid")),
        event("checkout.session.completed", session("unpaid", "unpaid")),
        event("checkout.session.completed", foreign),
        event("customer.created", {"id": "cus_1", "object": "customer"}),
    ]
    deliveries = shuffled(events, 3)
    for start in range(0, len(deliveries), 10):
        answers = await asyncio.gather(*(deliver(client, e) for e in deliveries[start : start + 10]))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]

    assert await WebhookEvent.count() == len(events)
    assert {n: await _status(o[0]) for n, o in orders.items()} == {
        "paid": "paid",
        "async_ok": "paid",
        "async_failed": "failed",
        "unpaid": "pending",
    }
    assert await Order.count() == 4
    assert await OrderGrant.count() == 2
    assert await Entitlement.count().where(Entitlement.source == "purchase") == 2
    assert await LedgerEntry.count().where(LedgerEntry.kind == "sale") == 2
    for name, expected in (("paid", 200), ("async_ok", 200), ("async_failed", 403), ("unpaid", 403)):
        assert await can_download(client, orders[name][2], item) == expected, name


async def test_the_success_page_racing_the_webhook_grants_once(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=700)
    for _ in range(3):
        order_id, sid, buyer = await _order(client, item)
        paid = event("checkout.session.completed", session_object(stripe_mock.url, sid, order_id, "paid", "pi_race"))
        confirm = client.post("/api/v1/checkout/confirm", json={"session_id": sid}, headers=buyer)
        answers = await asyncio.gather(
            confirm, deliver(client, paid), confirm_again(client, sid, buyer), deliver(client, paid)
        )
        assert [a.status_code for a in answers] == [200, 200, 200, 200], [a.text for a in answers]
        assert answers[0].json()["status"] == "paid"
        assert await OrderGrant.count().where(OrderGrant.order == uuid.UUID(order_id)) == 1
        assert await can_download(client, buyer, item) == 200
    assert await Entitlement.count().where(Entitlement.source == "purchase") == 3


def confirm_again(client: httpx.AsyncClient, sid: str, buyer: dict[str, str]) -> Any:
    return client.post("/api/v1/checkout/confirm", json={"session_id": sid}, headers=buyer)


async def test_forged_webhooks_are_400_and_write_nothing(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=700)
    order_id, sid, buyer = await _order(client, item)
    genuine = event("checkout.session.completed", session_object(stripe_mock.url, sid, order_id, "paid", "pi_forged"))
    body, good = signed(genuine)
    tampered = json.loads(body)
    tampered["data"]["object"]["amount_total"] = 1
    now = int(time.time())
    cases: list[tuple[str, bytes, dict[str, str]]] = [
        ("missing signature", body, {"Content-Type": "application/json"}),
        ("wrong signature", body, {"Stripe-Signature": f"t={now},v1={'0' * 64}"}),
        ("tampered body", json.dumps(tampered).encode(), good),
        ("stale timestamp", *signed(genuine, at=now - 301)),
        # 30 s past the 300 s tolerance: the cases before it may take seconds on a loaded machine,
        # and one second's margin once let "now + 301" arrive inside the tolerance.
        ("future timestamp", *signed(genuine, at=now + 330)),
        ("wrong secret", *signed(genuine, secret="whsec_someone_else")),
        ("no timestamp", body, {"Stripe-Signature": "v1=" + good["Stripe-Signature"].split("v1=")[1]}),
        ("signed garbage", *signed(b"not json", secret=WEBHOOK_SECRET)),
    ]
    for name, payload, headers in cases:
        r = await client.post("/api/v1/stripe/webhook", content=payload, headers=headers)
        assert r.status_code == 400, (name, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), name
    assert await WebhookEvent.count() == 0
    assert await _status(order_id) == "pending"
    assert await Entitlement.count() == 0
    # The same event, correctly signed within the window, is accepted: the cases above failed
    # for their forgery alone.
    ok = await client.post("/api/v1/stripe/webhook", content=body, headers=good)
    assert ok.status_code == 200 and ok.json()["outcome"] == "fulfilled"
    assert await can_download(client, buyer, item) == 200
