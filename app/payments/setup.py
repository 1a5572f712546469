"""Wiring of payments into the app (called from ``app.asgi.create_app``)."""

from __future__ import annotations

from litestar import Controller, Litestar

from app.core.mail import make_mailer
from app.core.settings import Settings
from app.payments.checkout import CheckoutService
from app.payments.controllers import (
    AdminPaymentsController,
    CheckoutController,
    CreatorPaymentsController,
    CurrencyController,
    LicenseController,
    OrderController,
    StripeWebhookController,
)
from app.payments.services import PaymentsService
from app.payments.stripe import make_gateway

ROUTE_HANDLERS: list[type[Controller]] = [
    CheckoutController,
    CurrencyController,
    StripeWebhookController,
    OrderController,
    CreatorPaymentsController,
    LicenseController,
    AdminPaymentsController,
]


def attach(app: Litestar, settings: Settings) -> None:
    """Put the gateway (None without keys), services and mailer on app.state for routes and jobs."""
    gateway = make_gateway(settings)
    app.state.payment_gateway = gateway
    app.state.checkout = CheckoutService(settings, gateway)
    app.state.payments = PaymentsService(settings, gateway)
    if not hasattr(app.state, "mailer"):
        app.state.mailer = make_mailer(settings)
