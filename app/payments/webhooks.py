"""Stripe webhooks: signature check on the raw body, dedupe by event id, dispatch.

The signature is Stripe's scheme (``Stripe-Signature: t=<unix>,v1=<hex>``; v1 is
HMAC-SHA256 of ``"<t>.<raw body>"`` with the endpoint secret), checked here rather than with
``stripe.WebhookSignature.verify_header`` because that one rejects only old timestamps: a
far-future ``t=`` would pass, and a replay could be pre-dated. We reject both directions.

The event id is inserted first, in the same transaction as the handling: a redelivery that
arrives while the first is being handled waits on the unique key and then finds it taken (200
at once); a handling that fails rolls the id back too, so Stripe's retry is handled again.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from app.core.errors import DomainError, ServiceUnavailable
from app.core.security import signature_problem
from app.core.settings import Settings
from app.payments import fulfilment, refunds
from app.payments.tables import Order, WebhookEvent

log = logging.getLogger("echoel.payments")


class BadWebhook(DomainError):
    status, title = 400, "Invalid webhook"


def verify(payload: bytes, header: str | None, secret: str, tolerance: int) -> dict[str, Any]:
    """The event if ``header`` signs ``payload`` within ``tolerance`` seconds of now; else 400."""
    if not secret:
        raise ServiceUnavailable("Stripe webhooks are not configured on this site.")
    if not header:
        raise BadWebhook("The Stripe-Signature header is missing.")
    problem = signature_problem(secret, header, payload, tolerance)
    if problem:
        raise BadWebhook(f"Stripe-Signature: {problem}")
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadWebhook("The webhook's body is not JSON.") from None
    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and isinstance(event.get("type"), str)):
        raise BadWebhook("The webhook's body is not a Stripe event.")
    obj = (event.get("data") or {}).get("object")
    if not isinstance(obj, dict):
        raise BadWebhook("The webhook's event has no data object.")
    return event


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


async def _order_of_session(session: dict[str, Any]) -> Order | None:
    """Our order for a Checkout Session, or None for sessions that are not ours."""
    order_id = _uuid(session.get("client_reference_id") or (session.get("metadata") or {}).get("order_id"))
    if order_id is None:
        return None
    order = await Order.objects().where(Order.id == order_id).first()
    if order is None or order.stripe_session_id != session.get("id"):
        return None
    return order


async def _order_of_charge(obj: dict[str, Any]) -> Order | None:
    """Our order for a charge or dispute: by our metadata, else by its PaymentIntent."""
    order_id = _uuid((obj.get("metadata") or {}).get("order_id"))
    if order_id is not None:
        return await Order.objects().where(Order.id == order_id).first()
    pi = obj.get("payment_intent")
    pi = pi.get("id") if isinstance(pi, dict) else pi
    if not pi:
        return None
    rows = await Order.objects().where(Order.payment_intent == str(pi))
    # Exactly one or none: never guess between orders.
    return rows[0] if len(rows) == 1 else None


async def _session_event(kind: str, session: dict[str, Any], settings: Settings) -> str:
    order = await _order_of_session(session)
    if order is None:
        return "ignored: not our session"
    pi = session.get("payment_intent")
    pi = str(pi.get("id") if isinstance(pi, dict) else pi or "")
    if kind == "checkout.session.async_payment_failed":
        return "failed" if await fulfilment.fail(order.id) else "no change"
    paid = session.get("payment_status") in ("paid", "no_payment_required")
    if kind == "checkout.session.async_payment_succeeded" or paid:
        return "fulfilled" if await fulfilment.fulfil(order.id, pi, settings=settings) else "already fulfilled"
    return "waiting for an asynchronous payment"


async def _refund(order: Order, charge: dict[str, Any]) -> str:
    # amount_refunded is cumulative: recorded as a total, never added up per event.
    return await refunds.refund(order.id, refunds.refunded_amount(order.total, charge))


async def _dispute_closed(order: Order, dispute: dict[str, Any]) -> str:
    if dispute.get("status") == "lost":
        return "reversed" if await refunds.reverse(order.id) else "no change"
    if dispute.get("status") == "won":
        return "released" if await fulfilment.release(order.id) else "no change"
    return "dispute closed"


async def _charge_event(kind: str, obj: dict[str, Any]) -> str:
    order = await _order_of_charge(obj)
    if order is None:
        return "ignored: not our charge"
    if kind == "charge.refunded":
        return await _refund(order, obj)
    if kind == "charge.dispute.created":
        return "held" if await fulfilment.hold(order.id) else "no change"
    return await _dispute_closed(order, obj)


SESSION_EVENTS = {
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
}
CHARGE_EVENTS = {"charge.refunded", "charge.dispute.created", "charge.dispute.closed"}


async def handle(event: dict[str, Any], received_at: int, settings: Settings) -> str:
    """Record the event id and act on it, in one transaction; a seen id returns at once."""
    async with fulfilment.atomic():
        inserted = (
            await WebhookEvent.insert(
                WebhookEvent(event_id=event["id"], type=event["type"][:80], received_at=received_at)
            )
            .on_conflict(target=WebhookEvent.event_id, action="DO NOTHING")
            .returning(WebhookEvent.event_id)
        )
        if not inserted:
            return "duplicate"
        kind, obj = event["type"], event["data"]["object"]
        if kind in SESSION_EVENTS:
            outcome = await _session_event(kind, obj, settings)
        elif kind in CHARGE_EVENTS:
            outcome = await _charge_event(kind, obj)
        else:
            outcome = "ignored: not handled"
    log.info("stripe event %s %s: %s", event["id"], kind, outcome)
    return outcome
