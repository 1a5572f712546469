"""Refunds (partial or full) and lost disputes: the creators' ledger to the cent, access revoked per line.

Cumulative, not per event. Stripe's ``charge.refunded`` carries ``amount_refunded``, the total
refunded so far; ``Order.refunded`` keeps the highest total recorded and is raised by a
conditional UPDATE (``… WHERE refunded < :new``), which also takes the order's row lock. Only an
event that raises it writes anything, so redelivered, late or shuffled events change nothing, and
the ledger ends up as a function of the largest total alone, whatever order the events came in.

The split over an order's lines (several creators in one cart) is ``money.allocate``: in
proportion to what each line cost, largest remainder to the cent, lines taken in the order of
their ids. Each line's refunded share of the cumulative total is the target; what is written
is the difference from what that line already has, in an entry keyed ``refund:<line>:<total>``.
(Largest remainder can, rarely, give a line one cent less of a larger total; the difference is
then a one-cent correction entry, and the sums still match the refunded total exactly.)

Commission comes back in the same share: ``commission(refunded share, line's bps)``, which is
the sale's whole commission once the line is fully refunded. Stripe's fee does not come back:
Stripe keeps its processing fee on refunds, so it stays on the creator's sale entry, as it always
did for full refunds; a refund entry has fee 0 and net = -(gross share - commission share).

Where a line's sale already went out to the creator by a Connect transfer, each refund or
reversal entry queues a transfer reversal of the creator's share (``reversals``); otherwise the
entry lowers the creator's payable balance.

Access: a line whose refunded share reaches its amount loses its entitlement and license key;
when the whole order is refunded it becomes ``refunded`` and every line is revoked.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from app.catalog.tables import Entitlement
from app.core.db import now
from app.payments import reversals
from app.payments.fulfilment import PAID_STATES, atomic
from app.payments.money import allocate, commission
from app.payments.tables import LedgerEntry, LicenseKey, Order, OrderGrant, OrderItem
from app.search import outbox as search_outbox


async def _lines(order_id: uuid.UUID) -> list[OrderItem]:
    # A fixed order (by id), so the split of a total is the same on every delivery.
    return sorted(await OrderItem.objects().where(OrderItem.order == order_id), key=lambda i: i.id)


async def _entries(order_id: uuid.UUID) -> tuple[dict[uuid.UUID, LedgerEntry], dict[uuid.UUID, list[int]]]:
    """The order's sale entries by line, and each line's refunded (gross, commission) so far."""
    sales: dict[uuid.UUID, LedgerEntry] = {}
    refunded: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    for e in await LedgerEntry.objects().where(LedgerEntry.order == order_id):
        if e.order_item is None:
            continue
        if e.kind == "sale":
            sales[e.order_item] = e
        elif e.kind == "refund":
            refunded[e.order_item][0] -= e.gross
            refunded[e.order_item][1] -= e.commission
    return sales, refunded


async def _revoke(order_id: uuid.UUID, items: list[uuid.UUID] | None, at: int) -> None:
    """Revoke the entitlements and license keys of ``items`` (every line of the order if None)."""
    if items == []:
        return
    grants = OrderGrant.select(OrderGrant.entitlement).where(OrderGrant.order == order_id)
    keys = LicenseKey.update({LicenseKey.revoked_at: at}).where(
        LicenseKey.order == order_id, LicenseKey.revoked_at.is_null()
    )
    if items is not None:
        grants = grants.where(OrderGrant.order_item.is_in(items))
        keys = keys.where(LicenseKey.order_item.is_in(items))
    ids = [g["entitlement"] for g in await grants]
    if ids:
        revoked = (
            await Entitlement.update({Entitlement.revoked_at: at})
            .where(Entitlement.id.is_in(ids), Entitlement.revoked_at.is_null())
            .returning(Entitlement.listing)
        )
        # Live entitlements are the listing's popularity in search: one fewer now.
        await search_outbox.note_many(list({r["listing"] for r in revoked}))
    await keys


def _entry(
    key: str, kind: str, line: OrderItem, sale: LedgerEntry | None, currency: str, *, gross: int, cut: int
) -> LedgerEntry:
    return LedgerEntry(
        entry_key=key,
        creator=line.creator,
        order=line.order,
        order_item=line.id,
        kind=kind,
        currency=currency,
        gross=gross,
        commission=cut,
        net=gross - cut,
        held=bool(sale and sale.held),
        created_at=now(),
    )


async def _give_back(
    order_id: uuid.UUID,
    currency: str,
    targets: list[tuple[OrderItem, int, int]],
    *,
    kind: str,
    suffix: str,
    sales: dict[uuid.UUID, LedgerEntry],
    before: dict[uuid.UUID, list[int]],
    revoke: list[uuid.UUID] | None,
) -> None:
    """Bring what each line has given back to its target (line, gross, commission).

    One ``kind`` entry, keyed ``<kind>:<line><suffix>``, per line whose refunded (gross,
    commission) so far (``before``) differs from its target; a transfer reversal queued for each
    where the sale went out by transfer; access revoked for the lines in ``revoke``, or for the
    whole order if None, which also releases the order's held entries.
    """
    written: list[LedgerEntry] = []
    for line, target, target_cut in targets:
        gross, cut = before[line.id][0] - target, before[line.id][1] - target_cut
        if gross or cut:
            entry = _entry(f"{kind}:{line.id}{suffix}", kind, line, sales.get(line.id), currency, gross=gross, cut=cut)
            await entry.save()
            written.append(entry)
    await reversals.queue(written, sales)
    await _revoke(order_id, revoke, now())
    if revoke is None:
        await LedgerEntry.update({LedgerEntry.held: False}).where(LedgerEntry.order == order_id)


def refunded_amount(order_total: int, charge: dict[str, Any]) -> int:
    """How much of the order a Stripe charge says is refunded, in the order's minor units.

    The charge is for the order's total, so this is ``amount_refunded`` itself; should Stripe
    ever charge another amount (another presentment currency), the refunded fraction of the
    charge is applied to the total, rounded down so that only a full refund counts as full.
    """
    amount, done = int(charge.get("amount") or 0), int(charge.get("amount_refunded") or 0)
    if charge.get("refunded") or (amount > 0 and done >= amount):
        return order_total
    if amount <= 0 or done <= 0:
        return 0
    return order_total * done // amount


async def refund(order_id: uuid.UUID, refunded: int) -> str:
    """Record that ``refunded`` of the order is refunded in all (cumulative); the outcome."""
    async with atomic():
        rows = (
            await Order.update({Order.refunded: refunded})
            .where(
                Order.id == order_id,
                Order.status.is_in(list(PAID_STATES)),
                (Order.refunded < refunded) | (Order.total <= refunded),
            )
            .returning(Order.total, Order.currency)
        )
        if not rows:
            return "no change"
        total, currency = rows[0]["total"], rows[0]["currency"]
        full = refunded >= total
        lines = await _lines(order_id)
        sales, before = await _entries(order_id)
        shares = allocate(min(refunded, total), [i.amount for i in lines])
        targets = [
            (line, share, commission(share, line.commission_bps)) for line, share in zip(lines, shares, strict=True)
        ]
        done = [line.id for line, share in zip(lines, shares, strict=True) if 0 < line.amount <= share]
        await _give_back(
            order_id,
            currency,
            targets,
            kind="refund",
            suffix=f":{refunded}",
            sales=sales,
            before=before,
            revoke=None if full else done,
        )
        if full:
            await Order.update({Order.status: "refunded"}).where(Order.id == order_id)
            return "refunded"
    return f"partial refund: {len(done)} line(s) revoked" if done else "partial refund: access kept"


async def reverse(order_id: uuid.UUID) -> bool:
    """A lost dispute: the order is reversed, all access revoked, and what was not refunded
    already comes off the creators' ledger (Stripe's fee stays on the sale, as for refunds)."""
    async with atomic():
        rows = (
            await Order.update({Order.status: "reversed"})
            .where(Order.id == order_id, Order.status.is_in(list(PAID_STATES)))
            .returning(Order.currency)
        )
        if not rows:
            return False
        sales, before = await _entries(order_id)
        targets = [
            (line, line.amount, sale.commission if sale is not None else commission(line.amount, line.commission_bps))
            for line in await _lines(order_id)
            for sale in [sales.get(line.id)]
        ]
        await _give_back(
            order_id, rows[0]["currency"], targets, kind="reversal", suffix="", sales=sales, before=before, revoke=None
        )
    return True
