"""HTTP for payments: checkout, confirm, the Stripe webhook, orders, sales, codes, licenses, payouts."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.accounts.auth import requires_role
from app.accounts.tables import User
from app.core.db import now
from app.core.http import NO_STORE, public_cache
from app.payments import discounts, ledger, licenses, money, webhooks
from app.payments.checkout import CheckoutService
from app.payments.schemas import (
    CheckoutCreate,
    CheckoutOut,
    ConfirmIn,
    CurrenciesOut,
    DiscountCreate,
    DiscountOut,
    LedgerPage,
    LicenseOut,
    LicenseSettingIn,
    LicenseVerify,
    LinkOut,
    OrderOut,
    PayoutLine,
    SalesOut,
    SettleIn,
)
from app.payments.services import PaymentsService

PUBLIC = {"public": True}


def provide_checkout(request: Request[Any, Any, Any]) -> CheckoutService:
    service: CheckoutService = request.app.state.checkout
    return service


def provide_payments(request: Request[Any, Any, Any]) -> PaymentsService:
    service: PaymentsService = request.app.state.payments
    return service


DEPS = {
    "checkout": Provide(provide_checkout, sync_to_thread=False),
    "payments": Provide(provide_payments, sync_to_thread=False),
}


class CheckoutController(Controller):
    path = "/api/v1/checkout"
    tags = ["payments"]
    dependencies = DEPS

    @post("/", status_code=HTTP_201_CREATED, response_headers=NO_STORE)
    async def start(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[CheckoutCreate],
        checkout: NamedDependency[CheckoutService],
    ) -> CheckoutOut:
        """Validate the cart, write the order, and hand back Stripe's Checkout URL."""
        return await checkout.start(request.user, data)

    @post("/confirm", status_code=HTTP_200_OK, response_headers=NO_STORE)
    async def confirm(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[ConfirmIn],
        checkout: NamedDependency[CheckoutService],
        payments: NamedDependency[PaymentsService],
    ) -> OrderOut:
        """The success page: fulfil from Stripe's own word on the session (idempotent)."""
        order_id = await checkout.confirm(request.user, data.session_id)
        return await payments.order(request.user, order_id)


class CurrencyController(Controller):
    path = "/api/v1/currencies"
    tags = ["payments"]
    opt = PUBLIC

    # Changes only with a release or a new store currency: an hour in browsers, a day at the edge.
    @get("/", response_headers=public_cache(3600, swr=86400, cdn_max_age=86400))
    async def digits(self, request: Request[Any, Any, Any]) -> CurrenciesOut:
        """Each currency's minor-unit digits as the server and Stripe count them, and the store's
        currency; pages format with these."""
        store = request.app.state.settings.currency
        return CurrenciesOut(default=money.DEFAULT_DIGITS, digits=money.digits_table(), store=store)


class StripeWebhookController(Controller):
    path = "/api/v1/stripe/webhook"
    tags = ["payments"]
    opt = PUBLIC

    @post("/", status_code=HTTP_200_OK)
    async def receive(self, request: Request[Any, Any, Any]) -> dict[str, str]:
        """Stripe's events, signed; the body is read raw because the signature covers its bytes."""
        settings = request.app.state.settings
        body = await request.body()
        event = webhooks.verify(
            body,
            request.headers.get("stripe-signature"),
            settings.stripe_webhook_secret,
            settings.stripe_webhook_tolerance_seconds,
        )
        return {"outcome": await webhooks.handle(event, now(), settings)}


class OrderController(Controller):
    path = "/api/v1/orders"
    tags = ["payments"]
    dependencies = DEPS

    @get("/", response_headers=NO_STORE)
    async def mine(
        self, request: Request[User, Any, Any], payments: NamedDependency[PaymentsService]
    ) -> list[OrderOut]:
        return await payments.orders(request.user)

    @get("/{order_id:uuid}", response_headers=NO_STORE)
    async def one(
        self,
        request: Request[User, Any, Any],
        order_id: FromPath[uuid.UUID],
        payments: NamedDependency[PaymentsService],
    ) -> OrderOut:
        return await payments.order(request.user, order_id)


class CreatorPaymentsController(Controller):
    path = "/api/v1"
    tags = ["payments"]
    dependencies = DEPS
    guards = [requires_role("creator")]

    @get("/sales", response_headers=NO_STORE)
    async def sales(self, request: Request[User, Any, Any], days: FromQuery[int] = 30) -> list[SalesOut]:
        """Earnings per currency: totals, balance, and a daily series for the chart."""
        return await ledger.sales(request.user.id, max(1, min(days, 365)))

    @get("/sales/entries", response_headers=NO_STORE)
    async def sales_entries(
        self, request: Request[User, Any, Any], limit: FromQuery[int] = 50, cursor: FromQuery[str | None] = None
    ) -> LedgerPage:
        """The ledger's lines (sales, refunds, reversals), newest first, a page at a time."""
        return await ledger.entries(request.user.id, max(1, min(limit, 200)), cursor)

    @get("/discounts", response_headers=NO_STORE)
    async def codes(self, request: Request[User, Any, Any]) -> list[DiscountOut]:
        return await discounts.mine(request.user)

    @post("/discounts", status_code=HTTP_201_CREATED)
    async def add_code(self, request: Request[User, Any, Any], data: JSONBody[DiscountCreate]) -> DiscountOut:
        return await discounts.create(request.user, data)

    @put("/licenses/settings/{listing_id:uuid}", status_code=HTTP_200_OK)
    async def license_settings(
        self, request: Request[User, Any, Any], listing_id: FromPath[uuid.UUID], data: JSONBody[LicenseSettingIn]
    ) -> LicenseSettingIn:
        return await licenses.configure(request.user, listing_id, data)

    @post("/payouts/connect", status_code=HTTP_200_OK, response_headers=NO_STORE)
    async def connect(self, request: Request[User, Any, Any], payments: NamedDependency[PaymentsService]) -> LinkOut:
        """Stripe Connect Express onboarding link (when Connect is enabled)."""
        return await payments.connect_link(request.user)


class LicenseController(Controller):
    path = "/api/v1/licenses"
    tags = ["payments"]

    @post("/verify", status_code=HTTP_200_OK, opt=PUBLIC, response_headers=NO_STORE)
    async def verify(self, data: JSONBody[LicenseVerify]) -> LicenseOut:
        """Called by plug-ins and installers: valid keys activate, up to their limit."""
        return await licenses.verify(data.key, data.machine)


class AdminPaymentsController(Controller):
    path = "/api/v1/admin"
    tags = ["payments"]
    dependencies = DEPS
    guards = [requires_role("admin")]

    @get("/payouts", response_headers=NO_STORE)
    async def report(self, format: FromQuery[str] = "json") -> Response[Any]:
        """What each creator is owed now (JSON or CSV), for settling by hand without Connect."""
        lines = await ledger.payout_report()
        if format == "csv":
            return Response(ledger.report_csv(lines), media_type="text/csv", headers=NO_STORE)
        body: list[PayoutLine] = lines
        return Response(body, headers=NO_STORE)

    @post("/payouts/settle", status_code=HTTP_200_OK)
    async def settle(self, data: JSONBody[SettleIn]) -> dict[str, int]:
        """Mark a creator's payable entries settled once the operator has paid them."""
        return {"settled": await ledger.mark_settled(data.creator, data.currency)}

    @post("/orders/{order_id:uuid}/refund", status_code=HTTP_200_OK)
    async def refund(self, order_id: FromPath[uuid.UUID], payments: NamedDependency[PaymentsService]) -> OrderOut:
        return await payments.refund(order_id)
