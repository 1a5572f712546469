"""Fulfilment, and a dispute's hold and release, each exactly once, in one short transaction.

Refunds and lost disputes (the undoing) are in ``refunds``.

Exactly once comes from the database: the order moves ``pending → paid`` by a conditional
UPDATE … WHERE status = 'pending' RETURNING, so of any number of concurrent deliveries (webhook
retries, the success page) only one gets the row back and goes on to grant. On PostgreSQL the
losers wait on the row lock and then see the new status; on SQLite the transaction takes the
write lock up front (BEGIN IMMEDIATE). Unique keys on grants, ledger entries and license keys
back this up. Side effects that talk to the outside (fee lookup, transfers, the receipt email)
are enqueued as jobs in the same transaction, so they exist iff the fulfilment committed.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from app.accounts.tables import User
from app.catalog.tables import Entitlement
from app.core.db import now, write_transaction
from app.core.settings import Settings
from app.jobs import enqueue
from app.ops import metrics, webhooks
from app.payments.money import commission, format_money
from app.payments.tables import LedgerEntry, LicenseKey, LicenseSetting, Order, OrderGrant, OrderItem
from app.search import outbox as search_outbox

PAID_STATES = ("paid", "disputed")


def atomic() -> Any:
    """The payments write transaction (``core.db.write_transaction`` on the bound engine)."""
    return write_transaction(Order._meta.db)


def license_key() -> str:
    raw = secrets.token_hex(10).upper()
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


async def _announce(settings: Settings, order_id: uuid.UUID, currency: str, items: list[OrderItem]) -> None:
    """Queue the ``sale.completed`` outbound webhook (flat data, one event per order)."""
    if not webhooks.webhook_urls(settings):
        return  # none configured (the default): no lookup inside the sale's transaction
    base = settings.public_url.rstrip("/")
    handles = {
        u["id"]: u["handle"]
        for u in await User.select(User.id, User.handle).where(User.id.is_in([i.creator for i in items] or [order_id]))
    }
    creators = list(dict.fromkeys(handles.get(i.creator, "") for i in items))
    listed = sorted((i.title, str(i.listing)) for i in items if i.listing is not None)
    # The (first) listing sold; a tip-only order links to the creator's storefront.
    url = f"{base}/listing.html?id={listed[0][1]}" if listed else f"{base}/creator.html?handle={creators[0]}"
    data = {
        "title": ", ".join(sorted(i.title for i in items)),
        "url": url,
        "amount": format_money(sum(i.amount for i in items), currency),
        "creator": ", ".join(f"@{c}" for c in creators),
        "items": len(items),
    }
    await webhooks.emit(settings, "sale.completed", data, event_id=f"sale:{order_id}")


async def fulfil(order_id: uuid.UUID, payment_intent: str = "", *, settings: Settings) -> bool:
    """Mark a pending order paid and grant what it bought; False if it was not pending.

    The ``sale.completed`` outbound webhook is queued in the same transaction: it exists iff
    the sale does, and only the one fulfilment that moved the order out of pending queues it.
    """
    async with atomic():
        t = now()
        values: dict[Any, Any] = {Order.status: "paid", Order.paid_at: t}
        if payment_intent:
            values[Order.payment_intent] = payment_intent
        rows = (
            await Order.update(values)
            .where(Order.id == order_id, Order.status == "pending")
            .returning(Order.id, Order.buyer, Order.currency)
        )
        if not rows:
            return False
        buyer, currency = rows[0]["buyer"], rows[0]["currency"]
        items = await OrderItem.objects().where(OrderItem.order == order_id)
        licensing = {
            s.listing: s
            for s in await LicenseSetting.objects().where(
                LicenseSetting.listing.is_in([i.listing for i in items if i.listing] or [uuid.uuid4()]),
                LicenseSetting.enabled == True,  # noqa: E712 - Piccolo query
            )
        }
        # A sale raises each listing's popularity in search (its live entitlements): one note.
        await search_outbox.note_many([i.listing for i in items if i.kind == "listing" and i.listing is not None])
        for item in items:
            if item.kind == "listing" and item.listing is not None:
                ent = Entitlement(user=buyer, listing=item.listing, source="purchase", created_at=t)
                await ent.save()
                await OrderGrant(order_item=item.id, order=order_id, entitlement=ent.id).save()
                setting = licensing.get(item.listing)
                if setting is not None:
                    await LicenseKey(
                        key=license_key(),
                        order_item=item.id,
                        order=order_id,
                        listing=item.listing,
                        user=buyer,
                        activation_limit=setting.activation_limit,
                        created_at=t,
                    ).save()
            cut = commission(item.amount, item.commission_bps)
            await LedgerEntry(
                entry_key=f"sale:{item.id}",
                creator=item.creator,
                order=order_id,
                order_item=item.id,
                kind="sale",
                currency=currency,
                gross=item.amount,
                commission=cut,
                net=item.amount - cut,
                created_at=t,
            ).save()
        await _announce(settings, order_id, currency, items)
        await enqueue("payments.receipt", {"order_id": str(order_id)}, dedupe_key=f"receipt:{order_id}")
        if payment_intent:
            await enqueue("payments.settle", {"order_id": str(order_id)}, dedupe_key=f"settle:{order_id}")
    # After the commit, and only by the one delivery that moved the order out of pending (a
    # redelivered webhook returned False above), so each sale counts once and only if it stands.
    metrics.SALES.labels(currency=currency).inc()
    metrics.SALES_AMOUNT.labels(currency=currency).inc(sum(i.amount for i in items))
    return True


async def fail(order_id: uuid.UUID) -> bool:
    """An asynchronous payment failed: the pending order ends, nothing granted."""
    rows = (
        await Order.update({Order.status: "failed"})
        .where(Order.id == order_id, Order.status == "pending")
        .returning(Order.id)
    )
    return bool(rows)


async def hold(order_id: uuid.UUID) -> bool:
    """A dispute opened: flag the order and hold its money from payouts until it closes."""
    async with atomic():
        rows = (
            await Order.update({Order.status: "disputed"})
            .where(Order.id == order_id, Order.status == "paid")
            .returning(Order.id)
        )
        if rows:
            await LedgerEntry.update({LedgerEntry.held: True}).where(LedgerEntry.order == order_id)
    return bool(rows)


async def release(order_id: uuid.UUID) -> bool:
    """A dispute was won: the order is paid again and its money payable."""
    async with atomic():
        rows = (
            await Order.update({Order.status: "paid"})
            .where(Order.id == order_id, Order.status == "disputed")
            .returning(Order.id)
        )
        if rows:
            await LedgerEntry.update({LedgerEntry.held: False}).where(LedgerEntry.order == order_id)
    return bool(rows)
