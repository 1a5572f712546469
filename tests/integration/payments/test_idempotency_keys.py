"""A crash after Stripe answered, then a retry: the same idempotency key, one row written.

stripe-mock keeps no idempotency keys (it answers every call afresh, with a new id), so what is
shown here is ours: the real gateway, watched, notes the key of every call that creates
something, and can die once right after Stripe answered, before the app wrote the answer down.
Against Stripe, the retry's key makes it answer with the first session or refund.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.accounts.tables import User
from app.core.settings import Settings
from app.payments.stripe import StripeGateway
from app.payments.tables import LedgerEntry, Order, OrderItem
from tests.integration.payments.conftest import stripe_env
from tests.integration.payments.helpers import admin, buy, can_download, for_sale, session_id, user
from tests.integration.payments.stripe_server import PaidStripeMock
from tests.services.stripe_mock import TEST_API_KEY
from tests.support import test_settings


class Crashing(StripeGateway):
    """The real gateway against stripe-mock, noting (call, key); ``crash`` names a call to fail once."""

    def __init__(self, url: str) -> None:
        super().__init__(TEST_API_KEY, url)
        self.keys: list[tuple[str, str]] = []
        self.crash = ""

    def _after(self, call: str, key: str) -> None:
        self.keys.append((call, key))
        if self.crash == call:
            self.crash = ""
            raise RuntimeError("the worker died after Stripe answered, before writing it down")

    async def create_checkout_session(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        answer = await super().create_checkout_session(params, idempotency_key)
        self._after("session", idempotency_key)
        return answer

    async def create_refund(self, payment_intent: str, idempotency_key: str) -> dict[str, Any]:
        answer = await super().create_refund(payment_intent, idempotency_key)
        self._after("refund", idempotency_key)
        return answer

    async def create_express_account(self, email: str, idempotency_key: str) -> dict[str, Any]:
        answer = await super().create_express_account(email, idempotency_key)
        self._after("account", idempotency_key)
        return answer

    async def create_account_link(
        self, account: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> dict[str, Any]:
        answer = await super().create_account_link(account, refresh_url, return_url, idempotency_key)
        self._after("link", idempotency_key)
        return answer


@pytest.fixture
def gateway(app: Litestar, stripe_mock: PaidStripeMock) -> Crashing:
    """The gateway the app's checkout and payments services use, watched."""
    watched = Crashing(stripe_mock.url)
    app.state.checkout.gateway = watched
    app.state.payments.gateway = watched
    return watched


async def test_checkout_retried_after_a_crash_sends_the_carts_key_again_and_keeps_one_order(
    client: httpx.AsyncClient, gateway: Crashing
) -> None:
    _, creator = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1200)
    cart = str(uuid.uuid4())
    body = {"cart_id": cart, "items": [{"listing_id": item["id"]}]}

    gateway.crash = "session"
    crashed = await client.post("/api/v1/checkout", json=body, headers=buyer)
    assert crashed.status_code == 500
    # The order was written before Stripe was called; the session it got was never noted.
    order = await Order.objects().first()
    assert order is not None and order.stripe_session_id is None

    retry = await client.post("/api/v1/checkout", json=body, headers=buyer)
    assert retry.status_code == 201, retry.text
    assert retry.json()["order_id"] == str(order.id) and retry.json()["checkout_url"]
    assert gateway.keys == [("session", f"checkout:{cart}")] * 2
    assert await Order.count() == 1 and await OrderItem.count() == 1
    assert await session_id(str(order.id))


async def test_refund_retried_after_a_crash_sends_the_orders_key_again_and_writes_one_refund(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, gateway: Crashing
) -> None:
    _, creator = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=900)
    order_id, _ = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])
    headers = await admin(client)
    url = f"/api/v1/admin/orders/{order_id}/refund"
    gateway.keys.clear()

    gateway.crash = "refund"
    assert (await client.post(url, headers=headers)).status_code == 500
    # Stripe refunded, we wrote nothing: the order is still paid and no refund is on the ledger.
    assert (await Order.select(Order.status).where(Order.id == uuid.UUID(order_id)).first()) == {"status": "paid"}
    assert await LedgerEntry.count().where(LedgerEntry.kind == "refund") == 0

    retry = await client.post(url, headers=headers)
    assert retry.status_code == 200, retry.text
    assert retry.json()["status"] == "refunded"
    assert gateway.keys == [("refund", f"refund:{order_id}")] * 2
    assert await LedgerEntry.count().where(LedgerEntry.kind == "refund") == 1
    assert await can_download(client, buyer, item) == 403


class TestConnect:
    @pytest.fixture
    def settings(self, db_url: str, var_dir: Path, stripe_mock: PaidStripeMock) -> Settings:
        return test_settings(db_url, var_dir, **stripe_env(stripe_mock, ECHOEL_STRIPE_CONNECT="true"))

    async def test_express_account_key_is_the_creators_and_each_onboarding_link_gets_its_own(
        self, client: httpx.AsyncClient, gateway: Crashing
    ) -> None:
        handle, creator = await user(client, creator=True)
        creator_id = (await User.select(User.id).where(User.handle == handle).first())["id"]  # type: ignore[index]
        for _ in range(2):
            assert (await client.post("/api/v1/payouts/connect", headers=creator)).status_code == 200
        (account, first), (link1, key1), (link2, key2) = gateway.keys
        assert (account, first) == ("account", f"connect:{creator_id}")
        # A link is single-use and short-lived: a stable key would replay a spent one for a day.
        assert (link1, link2) == ("link", "link") and key1 != key2
        assert key1.startswith("account-link:acct_") and key2.startswith(key1.rsplit(":", 1)[0])
