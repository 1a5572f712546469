"""Payments rules outside checkout: order history, refunds, Connect onboarding."""

from __future__ import annotations

import uuid

from app.accounts.tables import User
from app.core.db import now
from app.core.errors import Conflict, NotFound, ServiceUnavailable
from app.core.settings import Settings
from app.payments import fulfilment, refunds
from app.payments.schemas import LinkOut, OrderItemOut, OrderOut
from app.payments.stripe import PaymentGateway, require
from app.payments.tables import ConnectAccount, LicenseKey, Order, OrderItem


async def orders_out(orders: list[Order]) -> list[OrderOut]:
    ids = [o.id for o in orders] or [uuid.uuid4()]
    items = await OrderItem.objects().where(OrderItem.order.is_in(ids)).order_by(OrderItem.title)
    keys = {
        k.order_item: k.key
        for k in await LicenseKey.objects().where(LicenseKey.order.is_in(ids), LicenseKey.revoked_at.is_null())
    }
    handles = {
        u["id"]: u["handle"]
        for u in await User.select(User.id, User.handle).where(
            User.id.is_in([i.creator for i in items] or [uuid.uuid4()])
        )
    }
    by_order: dict[uuid.UUID, list[OrderItemOut]] = {o.id: [] for o in orders}
    for i in items:
        by_order[i.order].append(
            OrderItemOut(
                kind=i.kind,
                listing_id=i.listing,
                creator=handles.get(i.creator, ""),
                title=i.title,
                list_amount=i.list_amount,
                discount=i.discount,
                amount=i.amount,
                license_key=keys.get(i.id),
            )
        )
    return [
        OrderOut(
            id=o.id,
            status=o.status,
            currency=o.currency,
            subtotal=o.subtotal,
            discount=o.discount,
            total=o.total,
            refunded=o.refunded,
            created_at=o.created_at,
            paid_at=o.paid_at,
            items=by_order[o.id],
        )
        for o in orders
    ]


class PaymentsService:
    def __init__(self, settings: Settings, gateway: PaymentGateway | None) -> None:
        self.settings, self.gateway = settings, gateway

    async def orders(self, buyer: User) -> list[OrderOut]:
        rows = await Order.objects().where(Order.buyer == buyer.id).order_by(Order.created_at, ascending=False)
        return await orders_out(list(rows))

    async def order(self, buyer: User, order_id: uuid.UUID) -> OrderOut:
        row = await Order.objects().where(Order.id == order_id).first()
        # Someone else's order is not told apart from a missing one.
        if row is None or (row.buyer != buyer.id and buyer.role != "admin"):
            raise NotFound("No such order.")
        return (await orders_out([row]))[0]

    async def refund(self, order_id: uuid.UUID) -> OrderOut:
        """Refund (the rest of) a paid order through Stripe, and revoke what it granted at once.

        The refund's idempotency key is the order's: retrying after a crash never refunds twice.
        The ``charge.refunded`` webhook that follows finds the order already refunded.
        """
        order = await Order.objects().where(Order.id == order_id).first()
        if order is None:
            raise NotFound("No such order.")
        if order.status not in fulfilment.PAID_STATES:
            raise Conflict(f"Only a paid order can be refunded (this one is {order.status}).")
        if order.total > 0:
            if not order.payment_intent:
                raise Conflict("This order has no Stripe payment to refund.")
            await require(self.gateway).create_refund(order.payment_intent, f"refund:{order.id}")
        # The rest of the order, whatever part of it was refunded before.
        await refunds.refund(order.id, order.total)
        row = await Order.objects().where(Order.id == order_id).first()
        assert row is not None
        return (await orders_out([row]))[0]

    async def connect_link(self, creator: User) -> LinkOut:
        """Start (or resume) Stripe Connect Express onboarding; the link goes to Stripe."""
        if not self.settings.stripe_connect:
            raise ServiceUnavailable("Payouts through Stripe Connect are not enabled on this site.")
        gateway = require(self.gateway)
        row = await ConnectAccount.objects().where(ConnectAccount.creator == creator.id).first()
        if row is None:
            account = await gateway.create_express_account(creator.email, f"connect:{creator.id}")
            await ConnectAccount.insert(
                ConnectAccount(creator=creator.id, account_id=account["id"], created_at=now())
            ).on_conflict(target=ConnectAccount.creator, action="DO NOTHING")
            row = await ConnectAccount.objects().where(ConnectAccount.creator == creator.id).first()
            assert row is not None
        base = self.settings.public_url.rstrip("/")
        # A key per request, not one derived from the account: a link is single-use and expires
        # in minutes while Stripe replays a key's answer for 24 hours, so a stable key would hand
        # a creator coming back to onboarding a spent link. Within the request, the SDK's network
        # retries reuse this key and get the same link; a second request makes a new link, and
        # the unused one simply expires (a link creates nothing that outlives it).
        link = await gateway.create_account_link(
            row.account_id,
            f"{base}/sales.html?connect=retry",
            f"{base}/sales.html",
            idempotency_key=f"account-link:{row.account_id}:{uuid.uuid4().hex}",
        )
        return LinkOut(url=link["url"])
