"""Refunds and disputes revoke access at once; commission, Stripe fee and net to the cent; receipts."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from app.accounts.tables import User
from app.core.settings import Settings
from app.payments.money import commission
from app.payments.tables import LedgerEntry, Order
from tests.integration.payments.conftest import stripe_env
from tests.integration.payments.helpers import (
    admin as make_admin,
)
from tests.integration.payments.helpers import (
    buy,
    can_download,
    charge_object,
    deliver,
    dispute_object,
    event,
    fee_recorded,
    for_sale,
    user,
    wait_for,
)
from tests.integration.payments.stripe_server import FEE, PaidStripeMock
from tests.support import test_settings


async def test_refund_and_lost_dispute_revoke_download_access_won_dispute_keeps_it(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1500)
    buyers = [(await user(client))[1] for _ in range(3)]
    refunded, lost, won = [await buy(client, stripe_mock.url, b, [{"listing_id": item["id"]}]) for b in buyers]
    assert [await can_download(client, b, item) for b in buyers] == [200, 200, 200]

    partial = charge_object(stripe_mock.url, refunded[1], refunded=False, amount=1500, amount_refunded=500)
    r = await deliver(client, event("charge.refunded", partial))
    assert r.json()["outcome"] == "partial refund: access kept"
    assert await can_download(client, buyers[0], item) == 200
    r = await deliver(client, event("charge.refunded", charge_object(stripe_mock.url, refunded[1])))
    assert r.json()["outcome"] == "refunded"
    assert await can_download(client, buyers[0], item) == 403

    for order in (lost, won):
        r = await deliver(client, event("charge.dispute.created", dispute_object(order[1], "needs_response")))
        assert r.json()["outcome"] == "held"
    sales = (await client.get("/api/v1/sales", headers=creator)).json()[0]
    assert sales["held"] > 0
    await deliver(client, event("charge.dispute.closed", dispute_object(lost[1], "lost")))
    await deliver(client, event("charge.dispute.closed", dispute_object(won[1], "won")))
    assert await can_download(client, buyers[1], item) == 403
    assert await can_download(client, buyers[2], item) == 200
    statuses = {
        o: (await Order.select(Order.status).where(Order.id == uuid.UUID(o)).first())["status"]
        for o, _ in (refunded, lost, won)
    }  # type: ignore[index]
    assert statuses == {refunded[0]: "refunded", lost[0]: "reversed", won[0]: "paid"}
    # A refund for a charge we know nothing of is ignored.
    r = await deliver(client, event("charge.refunded", charge_object(stripe_mock.url, "pi_unknown")))
    assert r.status_code == 200 and r.json()["outcome"].startswith("ignored")

    reversals = await LedgerEntry.objects().where(LedgerEntry.kind.is_in(["refund", "reversal"]))
    # The refunded order: 500, then the other 1000 of it; the lost dispute: all 1500.
    assert sorted(e.gross for e in reversals) == [-1500, -1000, -500]
    sales = (await client.get("/api/v1/sales", headers=creator)).json()[0]
    assert sales["refunds"] == 3000 and sales["held"] == 0


async def test_admin_refund_goes_through_stripe_once_and_revokes_at_once(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=900)
    _, buyer = await user(client)
    order_id, pi = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])
    admin = await make_admin(client)
    assert (await client.post(f"/api/v1/admin/orders/{order_id}/refund", headers=buyer)).status_code == 403
    r = await client.post(f"/api/v1/admin/orders/{order_id}/refund", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "refunded"
    assert await can_download(client, buyer, item) == 403
    assert (await client.post(f"/api/v1/admin/orders/{order_id}/refund", headers=admin)).status_code == 409
    # Stripe's charge.refunded that follows changes nothing more.
    late = await deliver(client, event("charge.refunded", charge_object(stripe_mock.url, pi)))
    assert late.json()["outcome"] == "no change"
    assert await LedgerEntry.count().where(LedgerEntry.kind == "refund") == 1


async def test_commission_fee_and_net_to_the_cent_with_the_creators_own_link(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, var_dir: Path
) -> None:
    a_handle, a = await user(client, creator=True)
    _, b = await user(client, creator=True)
    _, buyer = await user(client)
    a1 = await for_sale(client, a, price_kind="fixed", price_amount=1299)
    a2 = await for_sale(client, a, price_kind="pwyw", price_amount=0, pwyw_minimum=250)
    b1 = await for_sale(client, b, price_kind="fixed", price_amount=705)
    order_id, _ = await buy(
        client,
        stripe_mock.url,
        buyer,
        [{"listing_id": a1["id"]}, {"listing_id": a2["id"], "amount": 333}, {"listing_id": b1["id"]}],
        tips=[{"creator": a_handle, "amount": 101}],
        ref=a_handle,
    )
    await wait_for(lambda: fee_recorded(order_id))
    entries = await LedgerEntry.objects().where(LedgerEntry.kind == "sale")
    total = 1299 + 333 + 705 + 101
    assert sum(e.gross for e in entries) == total
    assert sum(e.fee for e in entries) == FEE  # stripe-mock's balance transaction, spread exactly
    a_id = (await User.select(User.id).where(User.handle == a_handle).first())["id"]  # type: ignore[index]
    for e in entries:
        bps = 1000 if e.creator == a_id else 3000  # the creator's own link: 10%; marketplace: 30%
        assert e.commission == commission(e.gross, bps)
        assert abs(e.fee - FEE * e.gross / total) < 1
        assert e.net == e.gross - e.fee - e.commission
    assert commission(1299, 1000) == 130 and commission(705, 3000) == 212  # half up: 129.9, 211.5

    sales = {s["currency"]: s for s in (await client.get("/api/v1/sales", headers=a)).json()}["USD"]
    mine = [e for e in entries if e.creator == a_id]
    assert sales["gross"] == 1299 + 333 + 101 and sales["net"] == sum(e.net for e in mine) == sales["balance"]
    assert sum(d["gross"] for d in sales["days"]) == sales["gross"]

    # The receipt email (file backend) names what was bought and links to the library.
    # Other orders of this test send receipts too: wait for this order's.
    await wait_for(lambda: _mail_about(var_dir, order_id))
    text = next(t for t in _mails(var_dir) if order_id in t)
    assert "library.html" in text and order_id in text


class TestOperatorsRates:
    """An operator's own rates (25% marketplace, 5% own link): the ledger follows them to the cent."""

    @pytest.fixture
    def settings(self, db_url: str, var_dir: Path, stripe_mock: PaidStripeMock) -> Settings:
        rates = {"ECHOEL_COMMISSION_MARKETPLACE_BPS": "2500", "ECHOEL_COMMISSION_DIRECT_BPS": "500"}
        return test_settings(db_url, var_dir, **stripe_env(stripe_mock, **rates))

    async def test_commission_fee_and_net_at_the_operators_rates(
        self, client: httpx.AsyncClient, stripe_mock: PaidStripeMock
    ) -> None:
        a_handle, a = await user(client, creator=True)
        _, b = await user(client, creator=True)
        _, buyer = await user(client)
        a1 = await for_sale(client, a, price_kind="fixed", price_amount=1299)
        b1 = await for_sale(client, b, price_kind="fixed", price_amount=705)
        items = [{"listing_id": a1["id"]}, {"listing_id": b1["id"]}]
        order_id, _ = await buy(client, stripe_mock.url, buyer, items, ref=a_handle)
        await wait_for(lambda: fee_recorded(order_id))
        entries = await LedgerEntry.objects().where(LedgerEntry.kind == "sale").order_by(LedgerEntry.gross)
        # 705 at 25% = 176.25 -> 176; 1299 at 5% (the creator's own link) = 64.95 -> 65. The fee
        # (317) split by gross: 111.52 and 205.48, the odd cent to the larger remainder (B's).
        assert [(e.gross, e.commission, e.fee, e.net) for e in entries] == [
            (705, 176, 112, 705 - 112 - 176),
            (1299, 65, 205, 1299 - 205 - 65),
        ]
        mine = (await client.get("/api/v1/sales", headers=a)).json()[0]
        assert (mine["commission"], mine["fee"], mine["net"], mine["balance"]) == (65, 205, 1029, 1029)


def _mails(var_dir: Path) -> list[str]:
    return [p.read_text() for p in (var_dir / "mail").glob("*.eml")] if (var_dir / "mail").exists() else []


async def _mail_about(var_dir: Path, order_id: str) -> bool:
    return any(order_id in text for text in _mails(var_dir))
