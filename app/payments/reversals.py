"""Transfer reversals: money refunded after a sale went out to the creator comes back from them.

With Stripe Connect a sale's net is transferred to the creator's connected account (``jobs.settle``).
When that sale is then refunded, in part or in full, or its dispute is lost, ``refunds`` writes a
refund or reversal entry whose ``-net`` is the creator's share of what went back to the buyer
(largest remainder over the cart's lines, to the minor unit). For a line whose sale went out by
transfer, that share is taken back with a transfer reversal (the ``payments.reverse_transfer``
job); where it has not gone out (no Connect, not onboarded yet, or settled by hand), the entry
only lowers the creator's payable balance, as it always did.

How much: the entry's ``-net``, but never more than what is left of the transfer. Stripe reverses
at most what was transferred, and the creator's share of a full refund is larger than the
transfer by Stripe's fee (which Stripe keeps and the creator bears); what cannot be reversed stays
on the ledger as a negative balance. The amount is a function of the ledger alone: the line's
refund and reversal entries in the order they were written (refunds by cumulative total, the
dispute last), each taking from what the earlier ones left. So every run of the job computes the
same amount, whatever ran before it.

Exactly once: the entry, written with its job in the refund's transaction under a unique key,
is the recorded intent. The Stripe call's idempotency key names the entry (so the refund's
cumulative total or the dispute) and the transfer: after a crash between Stripe's answer and our
write, the job runs again and gets the same reversal back. The write is conditional on no
reversal being recorded yet, and the ledger marks the entry paid back (``settled_at``, or
``recovered`` when only part of it could be), so the creator's balance stays right.
"""

from __future__ import annotations

import uuid

from app.jobs import enqueue
from app.payments.money import payout_step
from app.payments.tables import LedgerEntry

JOB = "payments.reverse_transfer"


def idempotency_key(entry: LedgerEntry, transfer: str) -> str:
    return f"transfer-reversal:{entry.entry_key}:{transfer}"


def _position(entry: LedgerEntry) -> tuple[int, int]:
    """Where a claim falls among its line's: refunds by their cumulative total, then the dispute."""
    if entry.kind == "refund":
        return 0, int(entry.entry_key.rsplit(":", 1)[1])
    return 1, 0


def amount(sale: LedgerEntry, claims: list[LedgerEntry], entry: LedgerEntry) -> int:
    """What of ``sale``'s transfer the reversal for ``entry`` takes back (0: nothing left to take).

    ``claims`` are the line's refund and reversal entries. A claim with a positive net (a cent
    given back by a later split) takes nothing: a reversal cannot be undone.
    """
    left, step = sale.net, payout_step(sale.currency)
    for claim in sorted(claims, key=_position):
        # Whole units where Stripe transfers only those: the creator keeps the fraction, owed.
        take = max(0, min(-claim.net, left)) // step * step
        if claim.id == entry.id:
            return take
        left -= take
    raise ValueError("the entry is not one of the line's claims")


async def queue(entries: list[LedgerEntry], sales: dict[uuid.UUID, LedgerEntry]) -> None:
    """Queue a reversal for each entry whose line's sale went out by transfer (in the entry's transaction)."""
    for entry in entries:
        sale = sales.get(entry.order_item) if entry.order_item is not None else None
        if entry.net < 0 and sale is not None and sale.transfer_id and not entry.transfer_id:
            await enqueue(JOB, {"entry_id": str(entry.id)}, dedupe_key=f"transfer-reversal:{entry.id}")
