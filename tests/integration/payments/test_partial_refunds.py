"""Partial refunds: cumulative, to the cent, split over a cart's lines, access revoked per fully refunded line."""

from __future__ import annotations

import uuid
from collections import defaultdict

import httpx

from app.payments.money import allocate, commission
from app.payments.tables import LedgerEntry, Order, OrderItem
from tests.integration.payments.helpers import (
    BPS,
    buy,
    can_download,
    deliver,
    deliver_all,
    dispute_object,
    event,
    fee_recorded,
    for_sale,
    refunded,
    shuffled,
    user,
    verify,
    wait_for,
)
from tests.integration.payments.stripe_server import FEE, PaidStripeMock


async def refunds_by_title(order_id: str) -> dict[str, tuple[int, int, int, int]]:
    """Each line's refund entries summed: (gross, fee, commission, net), by the line's title."""
    titles = {i.id: i.title for i in await OrderItem.objects().where(OrderItem.order == uuid.UUID(order_id))}
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in await LedgerEntry.objects().where(LedgerEntry.order == uuid.UUID(order_id), LedgerEntry.kind == "refund"):
        assert e.order_item is not None
        for i, v in enumerate((e.gross, e.fee, e.commission, e.net)):
            sums[titles[e.order_item]][i] += v
    return {k: (v[0], v[1], v[2], v[3]) for k, v in sums.items()}


async def ledger_rows(order_id: str) -> list[tuple[str, int, int, int, int]]:
    rows = await LedgerEntry.objects().where(LedgerEntry.order == uuid.UUID(order_id))
    return sorted((e.entry_key, e.gross, e.fee, e.commission, e.net) for e in rows)


async def order_row(order_id: str) -> Order:
    row = await Order.objects().where(Order.id == uuid.UUID(order_id)).first()
    assert row is not None
    return row


async def test_one_partial_refund_returns_its_share_of_gross_and_commission_and_keeps_access(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1500)
    order_id, pi = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])
    await wait_for(lambda: fee_recorded(order_id))

    r = await deliver(client, refunded(stripe_mock.url, pi, 1500, 500))
    assert r.json()["outcome"] == "partial refund: access kept"
    title = item["title"]
    # 500 of 1500 back to the buyer; our 30% of those 500 back to the creator; no fee back.
    assert await refunds_by_title(order_id) == {title: (-500, 0, -150, -350)}
    assert await can_download(client, buyer, item) == 200
    row = await order_row(order_id)
    assert row.status == "paid" and row.refunded == 500
    mine = (await client.get(f"/api/v1/orders/{order_id}", headers=buyer)).json()
    assert (mine["status"], mine["total"], mine["refunded"]) == ("paid", 1500, 500)

    sales = (await client.get("/api/v1/sales", headers=creator)).json()[0]
    assert sales["refunds"] == 500 and sales["fee"] == FEE
    # Kept: 1000 of gross, less 30% of it, less Stripe's whole fee (Stripe keeps it on refunds).
    assert sales["net"] == 1000 - commission(1000, BPS) - FEE

    # A dispute lost afterwards takes back what was not refunded, not the whole price again.
    await deliver(client, event("charge.dispute.closed", dispute_object(pi, "lost")))
    reversal = await LedgerEntry.objects().where(LedgerEntry.kind == "reversal").first()
    assert reversal is not None and (reversal.gross, reversal.commission) == (-1000, -(450 - 150))
    assert (await client.get("/api/v1/sales", headers=creator)).json()[0]["net"] == -FEE
    assert await can_download(client, buyer, item) == 403


async def test_two_partial_refunds_adding_up_to_the_whole_revoke_at_the_second(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, creator = await user(client, creator=True)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=1299)
    assert (await client.put(f"/api/v1/licenses/settings/{item['id']}", json={}, headers=creator)).status_code == 200
    order_id, pi = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])
    key = (await client.get("/api/v1/orders", headers=buyer)).json()[0]["items"][0]["license_key"]
    assert key and (await verify(client, key)).status_code == 200

    first = await deliver(client, refunded(stripe_mock.url, pi, 1299, 433))
    assert first.json()["outcome"] == "partial refund: access kept"
    assert await can_download(client, buyer, item) == 200 and (await verify(client, key)).status_code == 200

    # The second event says 1299 refunded in all (not 866 more): Stripe's amounts are cumulative.
    second = await deliver(client, refunded(stripe_mock.url, pi, 1299, 1299))
    assert second.json()["outcome"] == "refunded"
    assert await can_download(client, buyer, item) == 403 and (await verify(client, key)).status_code == 403
    assert (await order_row(order_id)).status == "refunded"
    sale_cut = commission(1299, BPS)
    assert await refunds_by_title(order_id) == {item["title"]: (-1299, 0, -sale_cut, -(1299 - sale_cut))}
    entries = [e for e in await ledger_rows(order_id) if e[0].startswith("refund:")]
    assert [e[1] for e in entries] == [-866, -433]  # keyed by cumulative total: ":1299" sorts before ":433"


async def test_refund_events_redelivered_and_shuffled_leave_the_ledger_as_the_largest_total_says(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    _, a = await user(client, creator=True)
    _, b = await user(client, creator=True)
    a1 = await for_sale(client, a, price_kind="fixed", price_amount=1299)
    b1 = await for_sale(client, b, price_kind="fixed", price_amount=705)
    cart = [{"listing_id": a1["id"]}, {"listing_id": b1["id"]}]
    steps = (500, 900, 1300)  # of 2004: a partial refund in three steps, the last one cumulative

    _, in_order_buyer = await user(client)
    first, pi = await buy(client, stripe_mock.url, in_order_buyer, cart)
    await wait_for(lambda: fee_recorded(first))  # the fee job writes the sale entries; let it finish
    events = [refunded(stripe_mock.url, pi, 2004, s) for s in steps]
    for e in events:
        assert (await deliver(client, e)).status_code == 200
    settled = await ledger_rows(first)
    expected = dict(zip((a1["title"], b1["title"]), allocate(1300, [1299, 705]), strict=True))
    assert {t: g[0] for t, g in (await refunds_by_title(first)).items()} == {t: -v for t, v in expected.items()}

    # The same events again (Stripe's redelivery) and new events with the same amounts, shuffled
    # and ten at once: nothing changes.
    again = events + [refunded(stripe_mock.url, pi, 2004, s) for s in steps]
    await deliver_all(client, shuffled(again, 3))
    assert await ledger_rows(first) == settled
    assert (await order_row(first)).refunded == 1300

    # Another order whose events arrive shuffled from the start ends with the same split.
    _, shuffled_buyer = await user(client)
    second, pi2 = await buy(client, stripe_mock.url, shuffled_buyer, cart)
    await deliver_all(client, shuffled([refunded(stripe_mock.url, pi2, 2004, s) for s in steps], 3))
    assert await refunds_by_title(second) == await refunds_by_title(first)
    assert (await order_row(second)).refunded == 1300
    for buyer in (in_order_buyer, shuffled_buyer):
        assert [await can_download(client, buyer, x) for x in (a1, b1)] == [200, 200]


async def test_partial_refund_of_a_two_creator_cart_splits_by_largest_remainder_to_the_cent(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock
) -> None:
    a_handle, a = await user(client, creator=True)
    _, b = await user(client, creator=True)
    _, buyer = await user(client)
    a1 = await for_sale(client, a, price_kind="fixed", price_amount=1299, title="A fixed")
    a2 = await for_sale(client, a, price_kind="pwyw", price_amount=0, pwyw_minimum=250, title="A pwyw")
    b1 = await for_sale(client, b, price_kind="fixed", price_amount=705, title="B fixed")
    order_id, pi = await buy(
        client,
        stripe_mock.url,
        buyer,
        [{"listing_id": a1["id"]}, {"listing_id": a2["id"], "amount": 333}, {"listing_id": b1["id"]}],
        tips=[{"creator": a_handle, "amount": 101}],
    )
    total = 1299 + 333 + 705 + 101
    r = await deliver(client, refunded(stripe_mock.url, pi, total, 1000))
    assert r.json()["outcome"] == "partial refund: access kept"
    # 1000 of 2438 in proportion: 532.83, 136.59, 289.17, 41.43; floors sum to 998, and the two
    # cents left go to the largest remainders (.83 and .59).
    shares = {"A fixed": 533, "A pwyw": 137, "B fixed": 289, f"Tip for {a_handle}": 41}
    assert await refunds_by_title(order_id) == {
        t: (-s, 0, -commission(s, BPS), -(s - commission(s, BPS))) for t, s in shares.items()
    }
    refunds_of = [(await client.get("/api/v1/sales", headers=h)).json()[0]["refunds"] for h in (a, b)]
    assert refunds_of == [533 + 137 + 41, 289]

    # 2437 of 2438: the split fills three lines to their price; those are revoked, the fourth kept.
    r = await deliver(client, refunded(stripe_mock.url, pi, total, 2437))
    assert r.json()["outcome"] == "partial refund: 3 line(s) revoked"
    assert {t: -v[0] for t, v in (await refunds_by_title(order_id)).items()} == {
        "A fixed": 1298,
        "A pwyw": 333,
        "B fixed": 705,
        f"Tip for {a_handle}": 101,
    }
    assert [await can_download(client, buyer, x) for x in (a1, a2, b1)] == [200, 403, 403]
    assert (await order_row(order_id)).status == "paid"

    r = await deliver(client, refunded(stripe_mock.url, pi, total, total))
    assert r.json()["outcome"] == "refunded"
    assert [await can_download(client, buyer, x) for x in (a1, a2, b1)] == [403, 403, 403]
    refunds = await refunds_by_title(order_id)
    assert sum(v[0] for v in refunds.values()) == -total
    for title, amount in (("A fixed", 1299), ("A pwyw", 333), ("B fixed", 705)):
        assert refunds[title][2] == -commission(amount, BPS)
