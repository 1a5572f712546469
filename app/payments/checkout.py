"""Checkout: validate a cart server-side, write the pending order, open a Stripe session.

The order (with its idempotency key) is written before Stripe is called: if we crash after
Stripe answered, the retry finds the order and asks Stripe again with the same key, getting the
same session back. Prices, minimums, currencies, codes and attribution are all decided here;
the client only names listings, chosen amounts and codes.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from asyncpg.exceptions import UniqueViolationError  # type: ignore[import-untyped]

from app.accounts.tables import User
from app.catalog import access
from app.catalog.tables import Listing
from app.core.db import now
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.core.settings import Settings
from app.payments import fulfilment, money
from app.payments.discounts import apply_codes
from app.payments.schemas import CheckoutCreate, CheckoutOut
from app.payments.stripe import PaymentGateway, require
from app.payments.tables import Order, OrderItem

# What anyone may see, anyone may buy: the catalog's one rule, not a copy of it.
FOR_SALE = access.VISIBLE_TO_ALL
# What a duplicate key raises on each database.
UNIQUE_VIOLATIONS = (sqlite3.IntegrityError, UniqueViolationError)


@dataclass
class Line:
    kind: str
    creator: uuid.UUID
    title: str
    list_amount: int
    listing: uuid.UUID | None = None
    discount: int = 0
    code: uuid.UUID | None = None

    @property
    def amount(self) -> int:
        return self.list_amount - self.discount


async def _listing_lines(buyer: User, data: CheckoutCreate) -> tuple[list[Line], str | None]:
    ids = [line.listing_id for line in data.items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("A listing appears twice in the cart.", field="items")
    found = {row.id: row for row in await Listing.objects().where(Listing.id.is_in(ids or [uuid.uuid4()]))}
    lines, currency = [], None
    for line in data.items:
        listing = found.get(line.listing_id)
        if listing is None or listing.status not in FOR_SALE:
            raise NotFound("A listing in the cart is not for sale.", field="items", listing_id=str(line.listing_id))
        if listing.creator == buyer.id:
            raise InvalidInput("You cannot buy your own listing.", field="items", listing_id=str(listing.id))
        if listing.price_kind == "free":
            raise InvalidInput("Free listings need no checkout.", field="items", listing_id=str(listing.id))
        if currency is not None and listing.currency != currency:
            raise InvalidInput("Every item in one checkout must be in the same currency.", field="items")
        currency = listing.currency
        # A listing priced before the currency rules existed must not reach Stripe to be refused.
        money.check_currency(currency, field="items")
        if listing.price_kind == "fixed":
            if line.amount is not None and line.amount != listing.price_amount:
                raise InvalidInput("This listing has a fixed price.", field="amount", listing_id=str(listing.id))
            amount = listing.price_amount
        else:
            amount = line.amount if line.amount is not None else listing.price_amount
            if amount < max(listing.pwyw_minimum, 1):
                raise InvalidInput(
                    f"The least you can pay for this listing is {max(listing.pwyw_minimum, 1)}.",
                    field="amount",
                    listing_id=str(listing.id),
                )
        money.check_amount(amount, currency, "amount")
        lines.append(Line("listing", listing.creator, listing.title, amount, listing=listing.id))
    return lines, currency


async def _tip_lines(buyer: User, data: CheckoutCreate) -> list[Line]:
    lines = []
    for tip in data.tips:
        creator = await User.objects().where(User.handle == tip.creator.lower()).first()
        if creator is None or creator.role not in ("creator", "admin"):
            raise NotFound("No such creator to tip.", field="tips")
        if creator.id == buyer.id:
            raise InvalidInput("You cannot tip yourself.", field="tips")
        lines.append(Line("tip", creator.id, f"Tip for {creator.handle}", tip.amount))
    return lines


class CheckoutService:
    def __init__(self, settings: Settings, gateway: PaymentGateway | None) -> None:
        self.settings, self.gateway = settings, gateway

    async def _ref_creator(self, ref: str | None) -> uuid.UUID | None:
        if not ref:
            return None
        creator = await User.objects().where(User.handle == ref.lower()).first()
        return creator.id if creator is not None else None

    async def _existing(self, key: str, buyer: User) -> Order | None:
        order = await Order.objects().where(Order.idempotency_key == key).first()
        if order is not None and order.buyer != buyer.id:
            raise Forbidden("This cart belongs to someone else.", field="cart_id")
        return order

    async def start(self, buyer: User, data: CheckoutCreate) -> CheckoutOut:
        key = f"checkout:{data.cart_id}"
        existing = await self._existing(key, buyer)
        if existing is not None:
            return await self._session_for(existing, buyer)
        lines, currency = await _listing_lines(buyer, data)
        currency = currency or "USD"
        tips = await _tip_lines(buyer, data)
        if not lines and not tips:
            raise InvalidInput("The cart is empty.", field="items")
        for tip in tips:
            money.check_amount(tip.amount, currency, "tips")
        try:
            order = await self._write_order(buyer, key, data, lines=lines, tips=tips, currency=currency)
        except UNIQUE_VIOLATIONS:
            # The same cart sent twice at once: the other request wrote the order; answer with it.
            existing = await self._existing(key, buyer)
            if existing is None:
                raise
            return await self._session_for(existing, buyer)
        if order.total == 0:
            # Nothing to pay (a 100% code): no Stripe, the order is paid at once.
            await fulfilment.fulfil(order.id, settings=self.settings)
            return CheckoutOut(order_id=order.id, status="paid", total=0, currency=order.currency, checkout_url=None)
        return await self._session_for(order, buyer)

    async def _write_order(
        self, buyer: User, key: str, data: CheckoutCreate, *, lines: list[Line], tips: list[Line], currency: str
    ) -> Order:
        """The pending order and its items, in one transaction with the discount codes' uses."""
        all_lines = lines + tips
        ref = await self._ref_creator(data.ref)
        async with fulfilment.atomic():
            # Code uses are taken inside the order's transaction: a failed checkout gives them back.
            await apply_codes(data.codes, lines, currency)
            total = sum(line.amount for line in all_lines)
            if total > 0:
                require(self.gateway)  # 503 before anything is written
            order = Order(
                buyer=buyer.id,
                currency=currency,
                subtotal=sum(line.list_amount for line in all_lines),
                discount=sum(line.discount for line in all_lines),
                total=total,
                idempotency_key=key,
                ref_creator=ref,
                created_at=now(),
            )
            await order.save()
            for line in all_lines:
                direct = ref is not None and line.creator == ref
                bps = self.settings.commission_direct_bps if direct else self.settings.commission_marketplace_bps
                await OrderItem(
                    order=order.id,
                    listing=line.listing,
                    creator=line.creator,
                    kind=line.kind,
                    title=line.title[:140],
                    list_amount=line.list_amount,
                    discount=line.discount,
                    amount=line.amount,
                    discount_code=line.code,
                    commission_bps=bps,
                ).save()
        return order

    async def _session_for(self, order: Order, buyer: User) -> CheckoutOut:
        """The Stripe session of a pending order (created, or the same one again on a retry)."""
        if order.status != "pending" or order.total == 0:
            return CheckoutOut(
                order_id=order.id, status=order.status, total=order.total, currency=order.currency, checkout_url=None
            )
        gateway = require(self.gateway)
        items = await OrderItem.objects().where(OrderItem.order == order.id, OrderItem.amount > 0)
        base = self.settings.public_url.rstrip("/")
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": str(order.id),
            "metadata": {"order_id": str(order.id)},
            "payment_intent_data": {"metadata": {"order_id": str(order.id)}},
            "customer_email": buyer.email,
            "success_url": f"{base}/checkout/success.html?session_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": f"{base}/checkout/cancel.html?order={order.id}",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": order.currency.lower(),
                        "unit_amount": item.amount,
                        "product_data": {"name": item.title},
                    },
                }
                for item in items
            ],
        }
        session = await gateway.create_checkout_session(params, order.idempotency_key)
        await Order.update({Order.stripe_session_id: session["id"]}).where(Order.id == order.id)
        return CheckoutOut(
            order_id=order.id,
            status="pending",
            total=order.total,
            currency=order.currency,
            checkout_url=session.get("url"),
        )

    async def confirm(self, buyer: User, session_id: str) -> uuid.UUID:
        """The success page: ask Stripe about the session and fulfil if it is paid."""
        order = await Order.objects().where(Order.stripe_session_id == session_id).first()
        if order is None or order.buyer != buyer.id:
            raise NotFound("No such checkout.", field="session_id")
        if order.status == "pending":
            session = await require(self.gateway).retrieve_checkout_session(session_id)
            ours = session.get("id") == session_id and session.get("client_reference_id") in (None, str(order.id))
            if not ours:
                raise Conflict("Stripe answered with another session.", field="session_id")
            if session.get("payment_status") in ("paid", "no_payment_required"):
                await fulfilment.fulfil(order.id, _id(session.get("payment_intent")), settings=self.settings)
        return order.id


def _id(value: Any) -> str:
    """An expandable Stripe field: the id string, or the expanded object's id."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")
