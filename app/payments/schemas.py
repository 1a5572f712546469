"""Request and response bodies of the payments API."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from msgspec import Meta, Struct

Money = Annotated[int, Meta(ge=0, le=100_000_000)]
Handle = Annotated[str, Meta(min_length=1, max_length=40)]
Code = Annotated[str, Meta(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class Body(Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error."""


class CartLine(Body):
    listing_id: uuid.UUID
    # Pay-what-you-want: what the buyer chose (at least the minimum). Fixed price: omit it.
    amount: Money | None = None


class Tip(Body):
    creator: Handle
    amount: Annotated[int, Meta(ge=1, le=100_000_000)]


class CheckoutCreate(Body):
    # The client's id for this cart: retrying the same cart returns the same order and session.
    cart_id: uuid.UUID
    items: Annotated[list[CartLine], Meta(max_length=50)] = []
    tips: Annotated[list[Tip], Meta(max_length=10)] = []
    codes: Annotated[list[Code], Meta(max_length=10)] = []
    # The creator whose own link brought the buyer (?ref=<handle>).
    ref: Handle | None = None


class CheckoutOut(Struct, kw_only=True):
    order_id: uuid.UUID
    status: str
    total: int
    currency: str
    # Stripe's hosted Checkout page; None when nothing is left to pay (free or 100% off).
    checkout_url: str | None


class ConfirmIn(Body):
    session_id: Annotated[str, Meta(min_length=1, max_length=255)]


class OrderItemOut(Struct, kw_only=True):
    kind: str
    listing_id: uuid.UUID | None
    creator: str
    title: str
    list_amount: int
    discount: int
    amount: int
    license_key: str | None = None


class OrderOut(Struct, kw_only=True):
    id: uuid.UUID
    status: str
    currency: str
    subtotal: int
    discount: int
    total: int
    # How much of ``total`` Stripe has refunded so far: 0 < refunded < total is a partial refund
    # (the order stays ``paid``); a full refund makes it ``refunded``.
    refunded: int
    created_at: int
    paid_at: int | None
    items: list[OrderItemOut]


class DiscountCreate(Body):
    code: Code
    kind: Literal["percent", "fixed"]
    value: Annotated[int, Meta(ge=1, le=100_000_000)]
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] | None = None
    max_uses: Annotated[int, Meta(ge=1)] | None = None
    expires_at: int | None = None


class DiscountOut(Struct, kw_only=True):
    id: uuid.UUID
    code: str
    kind: str
    value: int
    currency: str
    max_uses: int | None
    uses: int
    expires_at: int | None


class LicenseSettingIn(Body):
    enabled: bool = True
    activation_limit: Annotated[int, Meta(ge=1, le=1000)] = 3


class LicenseVerify(Body):
    key: Annotated[str, Meta(min_length=1, max_length=40)]
    machine: Annotated[str, Meta(min_length=1, max_length=120)]


class LicenseOut(Struct, kw_only=True):
    valid: bool
    listing_id: uuid.UUID
    activations: int
    activation_limit: int


class DayPoint(Struct, kw_only=True):
    day: str
    count: int
    gross: int
    net: int


class SalesOut(Struct, kw_only=True):
    currency: str
    gross: int
    fee: int
    commission: int
    refunds: int
    net: int
    # What transfer reversals took back from the creator's connected account for refunds and
    # lost disputes of sales already paid out: part of ``refunds``, no longer owed by them.
    recovered: int
    balance: int
    held: int
    days: list[DayPoint]


class LedgerEntryOut(Struct, kw_only=True):
    id: uuid.UUID
    created_at: int
    kind: str  # sale | refund | reversal
    title: str
    currency: str
    gross: int
    fee: int
    commission: int
    net: int
    # Of a refund or reversal's ``-net``: how much a transfer reversal took back (see SalesOut).
    recovered: int
    held: bool
    settled: bool


class LedgerPage(Struct, kw_only=True):
    items: list[LedgerEntryOut]
    # Pass as ``cursor`` for the next (older) page; None on the last page.
    next: str | None


class PayoutLine(Struct, kw_only=True):
    creator: str
    email: str
    currency: str
    amount: int
    entries: int


class SettleIn(Body):
    creator: Handle
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] = "USD"


class LinkOut(Struct, kw_only=True):
    url: str


class CurrenciesOut(Struct, kw_only=True):
    """How many decimals each currency's minor unit has, as Stripe counts them."""

    # For any currency not in ``digits``.
    default: int
    digits: dict[str, int]
    # The store's currency (settings): new listings and the search page's price range use it.
    store: str
