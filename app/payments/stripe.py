"""Stripe behind a small Protocol: the real ``StripeClient`` adapter, chosen by settings.

The SDK's client is synchronous (its async transport needs httpx, a development-only
dependency here), so every call runs in a worker thread. Every call that creates something
carries an idempotency key derived from our own ids: a crash between Stripe's answer and our
commit, followed by a retry, gets the same session, refund or transfer back instead of a second.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

import anyio
import stripe

from app.core.errors import DomainError, InvalidInput, ServiceUnavailable
from app.core.settings import Settings

NOT_CONFIGURED = "Payments are not configured on this site: paid checkout is unavailable."
# Stripe's refusals of an amount or a currency (amount_too_small, invalid_charge_amount_…), or of
# a parameter naming one (line_items[0][price_data][unit_amount]): the input, not Stripe, is wrong.
MONEY_CODES = ("amount_", "invalid_charge_amount", "invalid_currency")
MONEY_PARAMS = ("amount", "currency")


class PaymentGateway(Protocol):
    """What payments need from Stripe; every method returns plain dicts."""

    async def create_checkout_session(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]: ...
    async def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]: ...
    async def charge_of_payment_intent(self, payment_intent: str) -> dict[str, Any]: ...
    async def create_refund(self, payment_intent: str, idempotency_key: str) -> dict[str, Any]: ...
    async def create_express_account(self, email: str, idempotency_key: str) -> dict[str, Any]: ...
    async def create_account_link(
        self, account: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> dict[str, Any]: ...
    async def create_transfer(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]: ...
    async def create_transfer_reversal(
        self, transfer: str, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]: ...


class StripeGateway:
    """The real gateway: ``stripe.StripeClient`` against Stripe (or stripe-mock in tests)."""

    def __init__(self, secret_key: str, api_base: str = "") -> None:
        bases: Any = {"api": api_base.rstrip("/")} if api_base else None
        # Retries with the same idempotency key are safe, so let the SDK retry network errors.
        self.client = stripe.StripeClient(secret_key, base_addresses=bases, max_network_retries=2)

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            obj = await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))
        except stripe.StripeError as exc:
            raise refusal(exc) from exc
        result: dict[str, Any] = obj.to_dict()
        return result

    async def create_checkout_session(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return await self._run(
            self.client.v1.checkout.sessions.create, params=params, options={"idempotency_key": idempotency_key}
        )

    async def retrieve_checkout_session(self, session_id: str) -> dict[str, Any]:
        return await self._run(self.client.v1.checkout.sessions.retrieve, session_id)

    async def charge_of_payment_intent(self, payment_intent: str) -> dict[str, Any]:
        """The PaymentIntent's latest charge with its balance transaction (the fee) expanded."""
        pi = await self._run(
            self.client.v1.payment_intents.retrieve,
            payment_intent,
            params={"expand": ["latest_charge.balance_transaction"]},
        )
        charge = pi.get("latest_charge") or {}
        return charge if isinstance(charge, dict) else {"id": charge}

    async def create_refund(self, payment_intent: str, idempotency_key: str) -> dict[str, Any]:
        return await self._run(
            self.client.v1.refunds.create,
            params={"payment_intent": payment_intent},
            options={"idempotency_key": idempotency_key},
        )

    async def create_express_account(self, email: str, idempotency_key: str) -> dict[str, Any]:
        return await self._run(
            self.client.v1.accounts.create,
            params={"type": "express", "email": email},
            options={"idempotency_key": idempotency_key},
        )

    async def create_account_link(
        self, account: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> dict[str, Any]:
        params = {
            "account": account,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
        return await self._run(
            self.client.v1.account_links.create, params=params, options={"idempotency_key": idempotency_key}
        )

    async def create_transfer(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return await self._run(
            self.client.v1.transfers.create, params=params, options={"idempotency_key": idempotency_key}
        )

    async def create_transfer_reversal(
        self, transfer: str, params: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        return await self._run(
            self.client.v1.transfers.reversals.create,
            transfer,
            params=params,
            options={"idempotency_key": idempotency_key},
        )


def refusal(exc: stripe.StripeError) -> DomainError:
    """What a Stripe error becomes: 422 when Stripe refused an amount or currency, else 503.

    Our checks (``money``) refuse such input before anything is written; should Stripe still
    refuse one (a minimum charge we do not know of), the buyer is told it is the price, not
    told to come back later.
    """
    message = f"Stripe refused the request: {exc.user_message or exc.code or 'error'}"
    param = getattr(exc, "param", None) or ""
    if isinstance(exc, stripe.InvalidRequestError) and (
        (exc.code or "").startswith(MONEY_CODES) or param.rstrip("]").endswith(MONEY_PARAMS)
    ):
        return InvalidInput(message, field="amount")
    return ServiceUnavailable(message)


def make_gateway(settings: Settings) -> PaymentGateway | None:
    """The gateway when a secret key is set; None means paid checkout answers 503."""
    if not settings.stripe_secret_key:
        return None
    return StripeGateway(settings.stripe_secret_key, settings.stripe_api_base)


def require(gateway: PaymentGateway | None) -> PaymentGateway:
    if gateway is None:
        raise ServiceUnavailable(NOT_CONFIGURED)
    return gateway
