"""Discount codes, license keys, payouts (the manual report, and Stripe Connect against stripe-mock)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from app.payments.tables import DiscountCode, LedgerEntry, Order
from tests.integration.payments.conftest import stripe_env
from tests.integration.payments.helpers import (
    admin as make_admin,
)
from tests.integration.payments.helpers import (
    buy,
    can_download,
    charge_object,
    checkout,
    deliver,
    event,
    fee_recorded,
    for_sale,
    user,
    verify,
    wait_for,
)
from tests.integration.payments.stripe_server import PaidStripeMock
from tests.support import test_settings


async def test_discount_codes_percent_fixed_limits_expiry_and_free_checkout_without_stripe(
    client: httpx.AsyncClient,
) -> None:
    a_handle, a = await user(client, creator=True)
    _, b = await user(client, creator=True)
    _, buyer = await user(client)
    a1 = await for_sale(client, a, price_kind="fixed", price_amount=1000)
    b1 = await for_sale(client, b, price_kind="fixed", price_amount=800)

    async def code(headers: dict[str, str], **body: object) -> httpx.Response:
        return await client.post("/api/v1/discounts", json=body, headers=headers)

    assert (await code(a, code="QUARTER", kind="percent", value=25)).status_code == 201
    assert (await code(a, code="quarter", kind="percent", value=10)).status_code == 409
    assert (await code(a, code="BAD", kind="percent", value=101)).status_code == 422
    assert (await code(b, code="TWOBUCKS", kind="fixed", value=200, currency="USD")).status_code == 201
    # Not a currency payments can be taken in; fractional króna, which Stripe refuses.
    for bad in ({"currency": "XYZ", "value": 200}, {"currency": "ISK", "value": 150}):
        r = await code(b, code="BADMONEY", kind="fixed", **bad)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
    assert (await code(a, code="ALLFREE", kind="percent", value=100, max_uses=1)).status_code == 201
    assert (await code(a, code="OLD", kind="percent", value=50)).status_code == 201
    assert (await code(buyer, code="NOPE", kind="percent", value=50)).status_code == 403
    await DiscountCode.update({DiscountCode.expires_at: int(time.time()) - 1}).where(DiscountCode.code == "OLD")

    # A creator's code discounts that creator's items only, never tips.
    r = await checkout(
        client,
        buyer,
        items=[{"listing_id": a1["id"]}, {"listing_id": b1["id"]}],
        tips=[{"creator": a_handle, "amount": 100}],
        codes=["quarter", "TWOBUCKS"],
    )
    assert r.status_code == 201, r.text
    assert r.json()["total"] == 750 + 600 + 100
    # Expired, unknown, another creator's (TWOBUCKS is B's, the cart A's), two of one creator's.
    for bad, status in ((["OLD"], 422), (["NOSUCH"], 422), (["TWOBUCKS"], 422), (["QUARTER", "ALLFREE"], 422)):
        r = await checkout(client, buyer, items=[{"listing_id": a1["id"]}], codes=bad)
        assert r.status_code == status, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # B's own listing, but in EUR: two dollars off cannot come off euros.
    b_eur = await for_sale(client, b, price_kind="fixed", price_amount=800, currency="EUR")
    r = await checkout(client, buyer, items=[{"listing_id": b_eur["id"]}], codes=["TWOBUCKS"])
    assert r.status_code == 422 and r.json()["detail"] == "The code TWOBUCKS is in another currency.", r.text

    # 100% off: paid at once, no Stripe session, the files are the buyer's.
    free = await checkout(client, buyer, items=[{"listing_id": a1["id"]}], codes=["ALLFREE"])
    assert free.status_code == 201, free.text
    assert free.json() | {"order_id": None} == {
        "order_id": None,
        "status": "paid",
        "total": 0,
        "currency": "USD",
        "checkout_url": None,
    }
    row = await Order.objects().where(Order.id == uuid.UUID(free.json()["order_id"])).first()
    assert row is not None and row.stripe_session_id is None
    assert await can_download(client, buyer, a1) == 200
    _, other = await user(client)
    used_up = await checkout(client, other, items=[{"listing_id": a1["id"]}], codes=["ALLFREE"])
    assert used_up.status_code == 409
    listed = {c["code"]: c for c in (await client.get("/api/v1/discounts", headers=a)).json()}
    assert listed["ALLFREE"]["uses"] == 1 and listed["QUARTER"]["uses"] == 1
    assert "BADMONEY" not in {c["code"] for c in (await client.get("/api/v1/discounts", headers=b)).json()}


async def test_license_keys_issued_verified_up_to_the_limit_and_revoked_on_refund(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, a = await user(client, creator=True)
    _, buyer = await user(client)
    synth = await for_sale(client, a, price_kind="fixed", price_amount=4900)
    plain = await for_sale(client, a, price_kind="fixed", price_amount=100)
    path = f"/api/v1/licenses/settings/{synth['id']}"
    assert (await client.put(path, json={"activation_limit": 2}, headers=buyer)).status_code == 403
    assert (await client.put(path, json={"activation_limit": 2}, headers=a)).status_code == 200
    _, pi = await buy(client, stripe_mock.url, buyer, [{"listing_id": synth["id"]}, {"listing_id": plain["id"]}])
    items = (await client.get("/api/v1/orders", headers=buyer)).json()[0]["items"]
    keys = {i["listing_id"]: i["license_key"] for i in items}
    key = keys[synth["id"]]
    assert key and keys[plain["id"]] is None

    first = await verify(client, key, "studio-mac")
    assert first.status_code == 200 and first.json()["activations"] == 1 and first.json()["valid"]
    assert (await verify(client, key, "studio-mac")).json()["activations"] == 1  # the same machine again is free
    assert (await verify(client, key, "laptop")).json()["activations"] == 2
    assert (await verify(client, key, "third")).status_code == 409
    assert (await verify(client, "AAAAA-BBBBB-CCCCC-DDDDD", "x")).status_code == 404

    await deliver(client, event("charge.refunded", charge_object(stripe_mock.url, pi)))
    revoked = await verify(client, key, "studio-mac")
    assert revoked.status_code == 403 and "revoked" in revoked.json()["detail"]


async def test_payout_report_csv_and_json_and_mark_settled(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    a_handle, a = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, a, price_kind="fixed", price_amount=2000)
    order_id, _ = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])
    await wait_for(lambda: fee_recorded(order_id))
    admin = await make_admin(client)
    assert (await client.get("/api/v1/admin/payouts", headers=a)).status_code == 403
    report = (await client.get("/api/v1/admin/payouts", headers=admin)).json()
    net = (await LedgerEntry.objects().first()).net  # type: ignore[union-attr]
    assert report == [
        {"creator": a_handle, "email": report[0]["email"], "currency": "USD", "amount": net, "entries": 1}
    ]
    csv = await client.get("/api/v1/admin/payouts?format=csv", headers=admin)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[1].startswith(f"{a_handle},") and f",USD,{net},1" in csv.text
    settled = await client.post("/api/v1/admin/payouts/settle", json={"creator": a_handle}, headers=admin)
    assert settled.json() == {"settled": 1}
    assert (await client.get("/api/v1/admin/payouts", headers=admin)).json() == []
    assert (await client.get("/api/v1/sales", headers=a)).json()[0]["balance"] == 0


class TestConnect:
    @pytest.fixture
    def settings(self, db_url: str, var_dir: Path, stripe_mock: PaidStripeMock) -> Settings:
        return test_settings(db_url, var_dir, **stripe_env(stripe_mock, ECHOEL_STRIPE_CONNECT="true"))

    async def test_express_onboarding_and_a_transfer_per_sale(
        self, client: httpx.AsyncClient, stripe_mock: PaidStripeMock
    ) -> None:
        _, a = await user(client, creator=True)
        _, buyer = await user(client)
        link = await client.post("/api/v1/payouts/connect", headers=a)
        assert link.status_code == 200, link.text
        assert link.json()["url"].startswith("https://")
        assert (await client.post("/api/v1/payouts/connect", headers=buyer)).status_code == 403
        item = await for_sale(client, a, price_kind="fixed", price_amount=3000)
        order_id, _ = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])

        async def transferred() -> bool:
            return bool(await LedgerEntry.exists().where(LedgerEntry.transfer_id != ""))

        await wait_for(transferred)
        entry = await LedgerEntry.objects().first()
        assert entry is not None and entry.transfer_id.startswith("tr_") and entry.settled_at is not None
        assert await fee_recorded(order_id)
