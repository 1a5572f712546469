"""A paid checkout announces itself once: one signed ``sale.completed`` to the operator's webhook URL."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.security import signature_problem
from app.core.settings import Settings
from tests.integration.ops.receiver import Receiver, webhook_jobs
from tests.integration.payments.conftest import stripe_env
from tests.integration.payments.helpers import checkout, deliver, event, for_sale, session_id, session_object, user
from tests.integration.payments.stripe_server import PaidStripeMock
from tests.support import test_settings

SECRET = "whsec-outbound-" + "o" * 24


@pytest.fixture
def settings(db_url: str, var_dir: Path, stripe_mock: PaidStripeMock, receiver: Receiver) -> Settings:
    extra = {"ECHOEL_WEBHOOK_URLS": receiver.url, "ECHOEL_WEBHOOK_SECRET": SECRET}
    return test_settings(db_url, var_dir, **stripe_env(stripe_mock, **extra))


async def sales_delivered() -> list[dict[str, Any]]:
    for _ in range(200):
        rows = await webhook_jobs("sale.completed")
        if rows and all(r["status"] == "done" for r in rows):
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"sale webhook jobs never finished: {rows}")


def sales_received(receiver: Receiver) -> list[dict[str, Any]]:
    return [r for r in receiver.requests if r["headers"].get("X-Echoel-Event") == "sale.completed"]


async def test_paid_checkout_delivers_one_signed_sale_completed_though_stripe_says_so_three_times(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, receiver: Receiver
) -> None:
    handle, creator = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1500, currency="JPY", title="Koto Keys")
    r = await checkout(client, buyer, items=[{"listing_id": item["id"]}])
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    sid = await session_id(order_id)
    # Not paid yet (an asynchronous payment method): nothing to announce.
    unpaid = session_object(stripe_mock.url, sid, order_id, "unpaid", "pi_sale")
    assert (await deliver(client, event("checkout.session.completed", unpaid))).json()["outcome"].startswith("waiting")
    assert await webhook_jobs("sale.completed") == []
    paid = event("checkout.session.completed", session_object(stripe_mock.url, sid, order_id, "paid", "pi_sale"))
    # The same event three times (Stripe's retries), a second event for the same session, and the
    # success page: one sale, so one announcement.
    outcomes = [(await deliver(client, paid)).json()["outcome"] for _ in range(3)]
    assert outcomes == ["fulfilled", "duplicate", "duplicate"]
    again = event(
        "checkout.session.async_payment_succeeded", session_object(stripe_mock.url, sid, order_id, "paid", "pi_sale")
    )
    assert (await deliver(client, again)).json()["outcome"] == "already fulfilled"
    assert (await client.post("/api/v1/checkout/confirm", json={"session_id": sid}, headers=buyer)).status_code == 200

    assert len(await sales_delivered()) == 1
    (request,) = sales_received(receiver)
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-echoel-event"] == "sale.completed" and headers["x-echoel-delivery"] == f"sale:{order_id}"
    assert signature_problem(SECRET, headers["x-echoel-signature"], request["body"], 300) is None
    data = json.loads(request["body"])["echoel"]["data"]
    assert data == {
        "title": "Koto Keys",
        "url": f"http://localhost:8000/listing.html?id={item['id']}",
        "amount": "1500 JPY",  # yen have no minor unit: not "15.00 JPY"
        "creator": f"@{handle}",
        "items": 1,
    }
