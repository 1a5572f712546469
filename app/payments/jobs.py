"""After-commit work of a fulfilled order: the Stripe fee and transfers, and the receipt email.

Both are idempotent by the order's id (a job may run more than once): the fee is recorded by a
conditional UPDATE on ``fee_recorded``, transfers carry an idempotency key per ledger entry and
are written back only where none is recorded yet, and the receipt has a stable Message-ID.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.accounts.tables import User
from app.core.db import now
from app.core.mail import Mailer
from app.jobs import JobContext, PermanentError, register
from app.payments.fulfilment import atomic
from app.payments.money import allocate, format_money
from app.payments.stripe import PaymentGateway
from app.payments.tables import ConnectAccount, LedgerEntry, LicenseKey, Order, OrderItem


def _gateway(job: JobContext) -> PaymentGateway:
    gateway: PaymentGateway | None = getattr(job.state, "payment_gateway", None)
    if gateway is None:
        raise PermanentError("payments are not configured")
    return gateway


async def record_fee(order_id: uuid.UUID, charge: dict[str, Any]) -> None:
    """Record the charge's Stripe fee on the order and spread it over its sale entries."""
    bt = charge.get("balance_transaction")
    fee = int(bt.get("fee") or 0) if isinstance(bt, dict) else 0
    # One transaction: the order's fee and its entries' shares appear together or not at all.
    async with atomic():
        sales = (
            await LedgerEntry.objects()
            .where(LedgerEntry.order == order_id, LedgerEntry.kind == "sale")
            .order_by(LedgerEntry.order_item)
        )
        rows = (
            await Order.update({Order.fee: fee, Order.fee_recorded: True, Order.charge_id: str(charge.get("id") or "")})
            .where(Order.id == order_id, Order.fee_recorded == False)  # noqa: E712 - Piccolo query
            .returning(Order.id)
        )
        if not rows:
            return
        # Pro rata by gross, to the cent: the parts always sum to Stripe's fee.
        for sale, part in zip(sales, allocate(fee, [s.gross for s in sales]), strict=True):
            await LedgerEntry.update(
                {LedgerEntry.fee: part, LedgerEntry.net: sale.gross - part - sale.commission}
            ).where(LedgerEntry.id == sale.id)


@register("payments.settle", max_attempts=8)
async def settle(job: JobContext) -> None:
    """Fetch the fee from the balance transaction; with Connect, transfer each creator's net."""
    order_id = uuid.UUID(job.payload["order_id"])
    order = await Order.objects().where(Order.id == order_id).first()
    if order is None or not order.payment_intent:
        return
    gateway = _gateway(job)
    if not order.fee_recorded:
        await record_fee(order_id, await gateway.charge_of_payment_intent(order.payment_intent))
        order = await Order.objects().where(Order.id == order_id).first()
        assert order is not None
    if not job.state.settings.stripe_connect or order.status != "paid":
        return
    sales = await LedgerEntry.objects().where(
        LedgerEntry.order == order_id, LedgerEntry.kind == "sale", LedgerEntry.settled_at.is_null()
    )
    if not sales:
        return
    # Only this order's creators, not every connected account on the site.
    linked = await ConnectAccount.objects().where(ConnectAccount.creator.is_in([s.creator for s in sales]))
    accounts = {a.creator: a.account_id for a in linked}
    for sale in sales:
        destination = accounts.get(sale.creator)
        if destination is None or sale.net <= 0:
            continue  # not onboarded yet: it stays in the payout report
        transfer = await gateway.create_transfer(
            {
                "amount": sale.net,
                "currency": sale.currency.lower(),
                "destination": destination,
                # Ties the transfer to the sale's charge: Stripe pays it out once the funds settle.
                "source_transaction": order.charge_id,
                "transfer_group": str(order_id),
                "metadata": {"order_id": str(order_id), "ledger_entry": str(sale.id)},
            },
            idempotency_key=f"transfer:{sale.id}",
        )
        await LedgerEntry.update({LedgerEntry.settled_at: now(), LedgerEntry.transfer_id: transfer["id"]}).where(
            LedgerEntry.id == sale.id, LedgerEntry.settled_at.is_null()
        )


@register("payments.receipt", max_attempts=8)
async def receipt(job: JobContext) -> None:
    """Email the buyer a receipt with a link to their library."""
    order_id = uuid.UUID(job.payload["order_id"])
    order = await Order.objects().where(Order.id == order_id).first()
    if order is None:
        return
    buyer = await User.objects().where(User.id == order.buyer).first()
    if buyer is None:
        return
    items = await OrderItem.objects().where(OrderItem.order == order_id)
    keys = {k.order_item: k.key for k in await LicenseKey.objects().where(LicenseKey.order == order_id)}
    base = job.state.settings.public_url.rstrip("/")
    lines = [f"Thank you for your order {order_id}.", ""]
    for item in items:
        lines.append(f"  {item.title}: {format_money(item.amount, order.currency)}")
        if item.id in keys:
            lines.append(f"    license key: {keys[item.id]}")
    lines += [
        "",
        f"Total: {format_money(order.total, order.currency)}",
        "",
        f"Your files are in your library: {base}/library.html",
    ]
    mailer: Mailer = job.state.mailer
    await mailer.send(
        buyer.email, "Your Echoel receipt", "\n".join(lines), message_id=f"<receipt-{order_id}@echoel.local>"
    )
