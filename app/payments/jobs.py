"""After-commit work: a fulfilled order's Stripe fee and transfers, transfer reversals, the receipt email.

Each is idempotent (a job may run more than once): the fee is recorded by a conditional UPDATE
on ``fee_recorded``, transfers and transfer reversals carry an idempotency key per ledger entry
and are written back only where none is recorded yet, and the receipt has a stable Message-ID.
"""

from __future__ import annotations

import uuid
from typing import Any

from app.accounts.tables import User
from app.core.db import now
from app.core.mail import Mailer
from app.jobs import JobContext, PermanentError, register
from app.payments import reversals
from app.payments.fulfilment import atomic
from app.payments.money import allocate, format_money, whole_payout
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
            # Where Stripe transfers whole units only (HUF, TWD, ISK), the net is made whole here,
            # once, so the ledger says what a transfer can send.
            net, cut = whole_payout(sale.gross - part - sale.commission, sale.commission, sale.currency)
            await LedgerEntry.update({LedgerEntry.fee: part, LedgerEntry.net: net, LedgerEntry.commission: cut}).where(
                LedgerEntry.id == sale.id
            )


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
        await _transferred(sale, transfer["id"])


async def _transferred(sale: LedgerEntry, transfer: str) -> None:
    """Record the sale's transfer, and reverse what was refunded of the line before it went out.

    The order's row lock (the same one a refund takes first) orders this against a refund or
    lost dispute being written now: either that one sees the transfer and queues its reversal,
    or this one sees its entry and does.
    """
    async with atomic():
        await Order.update({Order.status: Order.status}).where(Order.id == sale.order)
        await LedgerEntry.update({LedgerEntry.settled_at: now(), LedgerEntry.transfer_id: transfer}).where(
            LedgerEntry.id == sale.id, LedgerEntry.settled_at.is_null()
        )
        claims = await LedgerEntry.objects().where(
            LedgerEntry.order_item == sale.order_item,
            LedgerEntry.kind != "sale",
            LedgerEntry.transfer_id == "",
            LedgerEntry.settled_at.is_null(),
        )
        sale.transfer_id = transfer
        await reversals.queue(list(claims), {sale.order_item: sale} if sale.order_item else {})


@register(reversals.JOB, max_attempts=8)
async def reverse_transfer(job: JobContext) -> None:
    """Take a refund's or lost dispute's share back from the creator's transfer (see ``reversals``)."""
    entry = await LedgerEntry.objects().where(LedgerEntry.id == uuid.UUID(job.payload["entry_id"])).first()
    if entry is None or entry.transfer_id or entry.settled_at is not None or entry.order_item is None:
        return  # already reversed (a second run) or settled by hand, or nothing to reverse against
    line = await LedgerEntry.objects().where(LedgerEntry.order_item == entry.order_item)
    sale = next((e for e in line if e.kind == "sale"), None)
    if sale is None or not sale.transfer_id:
        return
    take = reversals.amount(sale, [e for e in line if e.kind != "sale"], entry)
    if take <= 0:
        return  # the transfer is all taken back already: the entry stays on the balance
    reversal = await _gateway(job).create_transfer_reversal(
        sale.transfer_id,
        {"amount": take, "metadata": {"order_id": str(entry.order), "ledger_entry": str(entry.id)}},
        idempotency_key=reversals.idempotency_key(entry, sale.transfer_id),
    )
    # All of the entry taken back: it is settled. Only part: the rest stays on the balance.
    await LedgerEntry.update(
        {
            LedgerEntry.transfer_id: reversal["id"],
            LedgerEntry.recovered: take,
            LedgerEntry.settled_at: now() if take >= -entry.net else None,
        }
    ).where(LedgerEntry.id == entry.id, LedgerEntry.transfer_id == "")


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
