"""Refunds and lost disputes after a Connect transfer went out take the creator's share back, once.

Against stripe-mock: it answers a transfer reversal with the amount asked for (and a fresh id on
every call: it keeps no idempotency keys, so "once" is ours to show). The gateway is the real one,
watched: it notes every reversal asked for, and can fail once after Stripe answered (a worker
dying before the write) or hold a transfer back (a refund arriving while it is in flight).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.core.settings import Settings
from app.jobs.tables import Job
from app.payments import reversals
from app.payments.money import allocate, commission
from app.payments.stripe import StripeGateway
from app.payments.tables import LedgerEntry, OrderItem
from tests.integration.payments.conftest import stripe_env
from tests.integration.payments.helpers import (
    BPS,
    buy,
    deliver,
    deliver_all,
    dispute_object,
    event,
    for_sale,
    refunded,
    shuffled,
    user,
    wait_for,
)
from tests.integration.payments.stripe_server import FEE, PaidStripeMock
from tests.services.stripe_mock import TEST_API_KEY
from tests.support import test_settings


class Watched(StripeGateway):
    """The real gateway against stripe-mock, noting each transfer reversal it asks for."""

    def __init__(self, url: str) -> None:
        super().__init__(TEST_API_KEY, url)
        self.reversals: list[dict[str, Any]] = []
        self.transfers: list[int] = []
        self.crash_once = False
        self.hold_transfers: asyncio.Event | None = None
        self.transferring = asyncio.Event()

    async def create_transfer(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        self.transferring.set()
        if self.hold_transfers is not None:
            await self.hold_transfers.wait()
        self.transfers.append(params["amount"])
        return await super().create_transfer(params, idempotency_key)

    async def create_transfer_reversal(
        self, transfer: str, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        answer = await super().create_transfer_reversal(transfer, params, idempotency_key)
        self.reversals.append({"transfer": transfer, "key": idempotency_key, **params, "answer": answer})
        if self.crash_once:
            self.crash_once = False
            raise RuntimeError("the worker died after Stripe answered, before writing it down")
        return answer


@pytest.fixture
def settings(db_url: str, var_dir: Path, stripe_mock: PaidStripeMock) -> Settings:
    env = stripe_env(stripe_mock, ECHOEL_STRIPE_CONNECT="true", ECHOEL_JOBS_BACKOFF_SECONDS="0.2")
    return test_settings(db_url, var_dir, **env)


@pytest.fixture
def gateway(app: Litestar, stripe_mock: PaidStripeMock) -> Watched:
    """The gateway the app's jobs use, watched."""
    watched = Watched(stripe_mock.url)
    app.state.payment_gateway = watched
    return watched


async def connected_creator(client: httpx.AsyncClient) -> dict[str, str]:
    _, headers = await user(client, creator=True)
    assert (await client.post("/api/v1/payouts/connect", headers=headers)).status_code == 200
    return headers


async def sold(
    client: httpx.AsyncClient, stripe_url: str, price: int, wait: bool = True
) -> tuple[dict[str, str], str, str, str]:
    """A connected creator's listing bought at ``price``, its transfer gone out (if ``wait``).

    The creator's headers, the order id, its PaymentIntent and the line's title.
    """
    creator = await connected_creator(client)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=price)
    order_id, pi = await buy(client, stripe_url, buyer, [{"listing_id": item["id"]}])
    if wait:
        await wait_for(transferred(order_id, item["title"]))
    return creator, order_id, pi, item["title"]


async def line_entries(order_id: str, title: str) -> dict[str, LedgerEntry]:
    """A line's ledger entries by kind and, for refunds, cumulative total: "sale", "refund:500", "reversal"."""
    line = await OrderItem.objects().where(OrderItem.order == uuid.UUID(order_id), OrderItem.title == title).first()
    assert line is not None
    out = {}
    for e in await LedgerEntry.objects().where(LedgerEntry.order_item == line.id):
        out[e.kind if e.kind != "refund" else f"refund:{e.entry_key.rsplit(':', 1)[1]}"] = e
    return out


def transferred(order_id: str, title: str) -> Any:
    async def check() -> bool:
        return bool((await line_entries(order_id, title))["sale"].transfer_id)

    return check


def reversed_(order_id: str, title: str, kind: str) -> Any:
    async def check() -> bool:
        entry = (await line_entries(order_id, title)).get(kind)
        return entry is not None and entry.transfer_id.startswith("trr_")

    return check


async def balance(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, int]:
    sales = (await client.get("/api/v1/sales", headers=headers)).json()[0]
    return {k: sales[k] for k in ("net", "balance", "refunds")}


async def recovered(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, dict[uuid.UUID, int]]:
    """The sales page's figure taken back by transfer reversals, and each ledger entry's part of it."""
    total = (await client.get("/api/v1/sales", headers=headers)).json()[0]["recovered"]
    items = (await client.get("/api/v1/sales/entries", headers=headers)).json()["items"]
    return total, {uuid.UUID(e["id"]): e["recovered"] for e in items}


async def reversal_jobs() -> int:
    return await Job.count().where(Job.kind == reversals.JOB)


async def test_refunds_after_the_transfer_reverse_the_creators_share_once_and_no_more_than_was_sent(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, gateway: Watched
) -> None:
    creator, order_id, pi, title = await sold(client, stripe_mock.url, 1500)
    sale = (await line_entries(order_id, title))["sale"]
    sent = 1500 - commission(1500, BPS) - FEE
    assert sale.net == sent and sale.settled_at is not None
    assert await balance(client, creator) == {"net": sent, "balance": 0, "refunds": 0}

    # 500 of 1500 refunded, the event redelivered, shuffled, ten at a time: one reversal of the
    # creator's share of those 500 (the 500 less our 30% commission on them).
    await deliver_all(client, shuffled([refunded(stripe_mock.url, pi, 1500, 500) for _ in range(2)], 3))
    await wait_for(reversed_(order_id, title, "refund:500"))
    share = 500 - commission(500, BPS)
    first = (await line_entries(order_id, title))["refund:500"]
    assert (first.net, first.recovered, first.settled_at is not None) == (-share, share, True)
    assert [(r["transfer"], r["amount"], r["answer"]["amount"]) for r in gateway.reversals] == [
        (sale.transfer_id, share, share)
    ]
    assert gateway.reversals[0]["key"] == f"transfer-reversal:{first.entry_key}:{sale.transfer_id}"
    assert gateway.reversals[0]["answer"]["id"] == first.transfer_id
    # Paid back through Stripe: nothing is owed either way, and the sales page says what came back.
    assert await balance(client, creator) == {"net": sent - share, "balance": 0, "refunds": 500}
    assert await recovered(client, creator) == (share, {first.id: share, sale.id: 0})

    # The rest refunded: the creator's share of it (700) is more than is left of the transfer
    # (733 - 350 = 383) by Stripe's fee, which Stripe keeps; 383 comes back, the fee stays owed.
    await deliver(client, refunded(stripe_mock.url, pi, 1500, 1500))
    await wait_for(reversed_(order_id, title, "refund:1500"))
    rest = (await line_entries(order_id, title))["refund:1500"]
    assert (rest.net, rest.recovered, rest.settled_at) == (-(1000 - commission(1000, BPS)), sent - share, None)
    assert [r["amount"] for r in gateway.reversals] == [share, sent - share]
    assert await balance(client, creator) == {"net": -FEE, "balance": -FEE, "refunds": 1500}
    assert await recovered(client, creator) == (sent, {first.id: share, rest.id: sent - share, sale.id: 0})
    assert await reversal_jobs() == 2

    # Late and repeated events change nothing: no new entry, no new reversal. A reversal is
    # only asked for by a job queued in the webhook's own transaction, so once the deliveries
    # have answered, the job count already shows that none was.
    await deliver_all(client, shuffled([refunded(stripe_mock.url, pi, 1500, s) for s in (500, 1500)], 3))
    assert len(gateway.reversals) == 2 and await reversal_jobs() == 2


async def test_lost_dispute_after_a_partial_refund_reverses_each_connected_creators_share_to_the_cent(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, gateway: Watched
) -> None:
    a = await connected_creator(client)
    _, b = await user(client, creator=True)  # not onboarded: nothing of theirs goes out by transfer
    _, buyer = await user(client)
    a1 = await for_sale(client, a, price_kind="fixed", price_amount=1299, title="A fixed")
    b1 = await for_sale(client, b, price_kind="fixed", price_amount=705, title="B fixed")
    order_id, pi = await buy(client, stripe_mock.url, buyer, [{"listing_id": a1["id"]}, {"listing_id": b1["id"]}])
    await wait_for(transferred(order_id, "A fixed"))
    fee_a, fee_b = allocate(FEE, [1299, 705])
    sent = 1299 - commission(1299, BPS) - fee_a
    assert (await line_entries(order_id, "A fixed"))["sale"].net == sent

    # 1000 of 2004 refunded: split 648 / 352 by largest remainder; A's share of 648 comes back.
    await deliver(client, refunded(stripe_mock.url, pi, 2004, 1000))
    await wait_for(reversed_(order_id, "A fixed", "refund:1000"))
    to_a, to_b = allocate(1000, [1299, 705])
    assert (to_a, to_b) == (648, 352)
    first = to_a - commission(to_a, BPS)
    assert [r["amount"] for r in gateway.reversals] == [first]

    await deliver(client, event("charge.dispute.created", dispute_object(pi, "needs_response")))
    await deliver(client, event("charge.dispute.closed", dispute_object(pi, "lost")))
    await wait_for(reversed_(order_id, "A fixed", "reversal"))
    entries = await line_entries(order_id, "A fixed")
    # What was not refunded yet, less its commission, taken from what is left of the transfer.
    claim = (1299 - to_a) - (commission(1299, BPS) - commission(to_a, BPS))
    assert -entries["reversal"].net == claim
    assert entries["reversal"].recovered == min(claim, sent - first)
    assert (
        gateway.reversals[-1]["key"]
        == f"transfer-reversal:reversal:{entries['reversal'].order_item}:{entries['sale'].transfer_id}"
    )
    assert [r["amount"] for r in gateway.reversals] == [first, min(claim, sent - first)]
    # A's whole sale came back but for the fee Stripe kept; B's refund and reversal lower B's
    # payable balance as before (nothing of B's was sent) to B's part of that fee, and no
    # reversal was asked for B.
    assert await balance(client, a) == {"net": -fee_a, "balance": -fee_a, "refunds": 1299}
    assert await balance(client, b) == {"net": -fee_b, "balance": -fee_b, "refunds": 705}
    assert all(not e.transfer_id for e in (await line_entries(order_id, "B fixed")).values())
    assert await reversal_jobs() == 2


async def test_a_crash_after_stripe_answered_is_retried_with_the_same_key_and_written_once(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, gateway: Watched
) -> None:
    creator, order_id, pi, title = await sold(client, stripe_mock.url, 2000)

    gateway.crash_once = True
    await deliver(client, refunded(stripe_mock.url, pi, 2000, 999))
    await wait_for(reversed_(order_id, title, "refund:999"))
    entry = (await line_entries(order_id, title))["refund:999"]
    share = 999 - commission(999, BPS)
    # Two calls, the same request under the same key (Stripe would answer the second with the
    # first reversal); one reversal written down.
    assert len(gateway.reversals) == 2
    assert {(r["key"], r["amount"]) for r in gateway.reversals} == {
        (reversals.idempotency_key(entry, (await line_entries(order_id, title))["sale"].transfer_id), share)
    }
    assert (entry.recovered, entry.transfer_id) == (share, gateway.reversals[1]["answer"]["id"])
    job = await Job.objects().where(Job.kind == reversals.JOB).first()
    assert job is not None and (job.status, job.attempts) == ("done", 2)
    assert (await balance(client, creator))["balance"] == 0


async def test_a_refund_while_the_transfer_is_in_flight_is_reversed_once_the_transfer_is_recorded(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, gateway: Watched
) -> None:
    gateway.hold_transfers = asyncio.Event()
    creator, order_id, pi, title = await sold(client, stripe_mock.url, 1000, wait=False)
    await asyncio.wait_for(gateway.transferring.wait(), 15)

    # The refund sees no transfer yet: it only lowers the balance, as without Connect.
    await deliver(client, refunded(stripe_mock.url, pi, 1000, 400))
    assert await reversal_jobs() == 0
    gateway.hold_transfers.set()
    await wait_for(reversed_(order_id, title, "refund:400"))
    share = 400 - commission(400, BPS)
    assert [r["amount"] for r in gateway.reversals] == [share]
    assert (await balance(client, creator))["balance"] == 0


async def test_forint_sales_go_out_and_come_back_in_whole_forints(
    client: httpx.AsyncClient, stripe_mock: PaidStripeMock, gateway: Watched
) -> None:
    creator = await connected_creator(client)
    _, buyer = await user(client)
    item = await for_sale(client, creator, price_kind="fixed", price_amount=150000, currency="HUF")
    order_id, pi = await buy(client, stripe_mock.url, buyer, [{"listing_id": item["id"]}])
    await wait_for(transferred(order_id, item["title"]))
    # Stripe transfers HUF in whole forints: 150000 - 45000 - 317 = 104683 goes up to 104700,
    # the 17 out of our commission, and the ledger says what went out.
    sale = (await line_entries(order_id, item["title"]))["sale"]
    assert (sale.net, sale.commission, sale.fee) == (104700, commission(150000, BPS) - 17, FEE)
    assert gateway.transfers == [104700]

    # 333.33 Ft refunded: the creator's share (33333 - 10000) is taken back in whole forints;
    # the 33 fillér left stay owed on the balance.
    await deliver(client, refunded(stripe_mock.url, pi, 150000, 33333))
    await wait_for(reversed_(order_id, item["title"], "refund:33333"))
    entry = (await line_entries(order_id, item["title"]))["refund:33333"]
    assert (entry.net, entry.recovered, entry.settled_at) == (-23333, 23300, None)
    assert [r["amount"] for r in gateway.reversals] == [23300]
    assert (await balance(client, creator))["balance"] == -33
