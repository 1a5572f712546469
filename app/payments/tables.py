"""Payments tables: orders and their items, the creators' ledger, webhook events, codes, licenses.

Money is integer minor units of the order's currency. Times are epoch seconds. Every row that a
retried or concurrent fulfilment could write twice has a unique key naming what it is for, so
the database, not the code path, guarantees "exactly once" on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import uuid

from piccolo.columns import UUID, BigInt, Boolean, ForeignKey, Integer, Varchar
from piccolo.table import Table

from app.accounts.tables import User
from app.catalog.tables import Entitlement, Listing


class Order(Table, tablename="orders"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    buyer = ForeignKey(references=User, null=False, index=True)
    # pending → paid | failed | canceled; paid → refunded | disputed → paid (won) | reversed (lost).
    # A partial refund leaves it paid (``refunded`` < ``total``); the full one makes it refunded.
    status = Varchar(length=10, default="pending", index=True)
    currency = Varchar(length=3)
    subtotal = Integer(default=0)
    discount = Integer(default=0)
    total = Integer(default=0)
    # What Stripe has refunded so far (cumulative, minor units of ``currency``): a high-water
    # mark raised by a conditional UPDATE, so redelivered or shuffled refund events count once.
    refunded = Integer(default=0)
    # Sent with every Stripe create call for this order: a retry never makes a second session.
    idempotency_key = Varchar(length=80, unique=True)
    stripe_session_id = Varchar(length=255, null=True, default=None, unique=True)
    payment_intent = Varchar(length=255, default="", index=True)
    charge_id = Varchar(length=255, default="")
    fee = Integer(default=0)
    fee_recorded = Boolean(default=False)
    # The creator whose own link the buyer came from (lower commission on their items).
    ref_creator = UUID(null=True, default=None)
    created_at = BigInt(index=True)
    paid_at = BigInt(null=True, default=None)


class OrderItem(Table, tablename="order_items"):
    """One line: a listing bought, or a tip to a creator (listing empty)."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    order = ForeignKey(references=Order, null=False, index=True)
    listing = ForeignKey(references=Listing, null=True, default=None, index=True)
    creator = ForeignKey(references=User, null=False, index=True)
    kind = Varchar(length=8)  # listing | tip
    title = Varchar(length=140)
    list_amount = Integer()
    discount = Integer(default=0)
    amount = Integer()  # what the buyer pays for this line
    discount_code = UUID(null=True, default=None)
    commission_bps = Integer()


class OrderGrant(Table, tablename="order_grants"):
    """The entitlement an order item gave; unique per item, so fulfilment grants once."""

    order_item = UUID(unique=True)
    order = UUID(index=True)
    entitlement = ForeignKey(references=Entitlement, null=False)


class LedgerEntry(Table, tablename="ledger_entries"):
    """A creator's money per order item: a sale, its refund or reversal, a payout."""

    id = UUID(primary_key=True, default=uuid.uuid4)
    # "sale:<item>", "reversal:<item>", "refund:<item>:<order's cumulative refunded total>":
    # one sale and one reversal per item, one refund entry per item and total, whoever writes it.
    entry_key = Varchar(length=80, unique=True)
    creator = ForeignKey(references=User, null=False, index=True)
    order = UUID(index=True)
    order_item = UUID(null=True, default=None)
    kind = Varchar(length=10)  # sale | refund | reversal (a refund may be partial: see refunds.py)
    currency = Varchar(length=3)
    gross = Integer()
    fee = Integer(default=0)
    commission = Integer()
    net = Integer()
    held = Boolean(default=False)
    created_at = BigInt(index=True)
    # Paid out: by a Connect transfer (its id) or by the operator marking the report settled.
    # A refund or reversal of a sale that went out by transfer is paid back by a transfer
    # reversal (``transfer_id`` is then its trr_ id, see ``reversals``): settled when it covered
    # the whole entry, else ``recovered`` says how much of ``-net`` it took back.
    settled_at = BigInt(null=True, default=None)
    transfer_id = Varchar(length=255, default="")
    recovered = Integer(default=0)


class WebhookEvent(Table, tablename="stripe_events"):
    """Stripe event ids seen: inserted first, so a redelivery is recognised at once."""

    event_id = Varchar(length=255, unique=True)
    type = Varchar(length=80)
    received_at = BigInt()


class DiscountCode(Table, tablename="discount_codes"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    creator = ForeignKey(references=User, null=False, index=True)
    # "<creator id>:<CODE>": a code is unique per creator.
    code_key = Varchar(length=120, unique=True)
    code = Varchar(length=40)
    kind = Varchar(length=8)  # percent | fixed
    value = Integer()  # percent 1..100, or minor units
    currency = Varchar(length=3, default="")
    max_uses = Integer(null=True, default=None)
    uses = Integer(default=0)
    expires_at = BigInt(null=True, default=None)
    created_at = BigInt()


class LicenseSetting(Table, tablename="license_settings"):
    listing = ForeignKey(references=Listing, null=False, unique=True)
    enabled = Boolean(default=True)
    activation_limit = Integer(default=3)


class LicenseKey(Table, tablename="license_keys"):
    id = UUID(primary_key=True, default=uuid.uuid4)
    key = Varchar(length=40, unique=True)
    order_item = UUID(unique=True)
    order = UUID(index=True)
    listing = ForeignKey(references=Listing, null=False, index=True)
    user = ForeignKey(references=User, null=False, index=True)
    activation_limit = Integer()
    # Counted with a conditional UPDATE, so concurrent activations never pass the limit.
    activations = Integer(default=0)
    created_at = BigInt()
    revoked_at = BigInt(null=True, default=None)


class LicenseActivation(Table, tablename="license_activations"):
    activation_key = Varchar(length=200, unique=True)  # "<license id>:<machine>"
    license = ForeignKey(references=LicenseKey, null=False, index=True)
    machine = Varchar(length=120)
    created_at = BigInt()


class ConnectAccount(Table, tablename="connect_accounts"):
    creator = ForeignKey(references=User, null=False, unique=True)
    account_id = Varchar(length=255)
    created_at = BigInt()
