"""Helpers for payments tests: sellable listings, checkouts, and Stripe events signed like Stripe's."""

from __future__ import annotations

import json
import random
import time
import uuid
from typing import Any

import httpx
import stripe

from app.core.security import signature_header
from app.payments.tables import Order
from tests.integration.catalog.helpers import listing, upload, user
from tests.integration.payments.conftest import WEBHOOK_SECRET
from tests.services.stripe_mock import TEST_API_KEY

__all__ = ["listing", "user"]


async def for_sale(client: httpx.AsyncClient, headers: dict[str, str], **price: Any) -> dict[str, Any]:
    """A published listing with one file (on the local store); ``file_id`` added."""
    price.setdefault("title", f"Pack {uuid.uuid4().hex[:8]}")
    item = await listing(client, headers, **price)
    done = await upload(client, client, headers, item["id"], b"preset bytes " + uuid.uuid4().bytes, name="a.fxp")
    assert done.status_code == 200, done.text
    r = await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "published"}, headers=headers)
    assert r.status_code == 200, r.text
    return {**r.json(), "file_id": done.json()["file"]["id"]}


async def can_download(client: httpx.AsyncClient, headers: dict[str, str], item: dict[str, Any]) -> int:
    """The catalog's download endpoint's status for this buyer (200 allowed, 403 refused)."""
    r = await client.get(f"/api/v1/listings/{item['id']}/files/{item['file_id']}/download", headers=headers)
    return r.status_code


async def checkout(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/api/v1/checkout", json={"cart_id": str(uuid.uuid4()), **body}, headers=headers)


async def session_id(order_id: str) -> str:
    row = await Order.select(Order.stripe_session_id).where(Order.id == uuid.UUID(order_id)).first()
    assert row is not None and row["stripe_session_id"]
    return str(row["stripe_session_id"])


def stripe_client(stripe_url: str) -> stripe.StripeClient:
    return stripe.StripeClient(TEST_API_KEY, base_addresses={"api": stripe_url})


def session_object(stripe_url: str, sid: str, order_id: str, payment_status: str, pi: str) -> dict[str, Any]:
    """The session as stripe-mock returns it, with what Stripe would hold for our session."""
    obj: dict[str, Any] = json.loads(
        json.dumps(stripe_client(stripe_url).v1.checkout.sessions.retrieve(sid).to_dict(), default=str)
    )
    obj.update(
        id=sid,
        client_reference_id=order_id,
        metadata={"order_id": order_id},
        payment_status=payment_status,
        status="complete",
        payment_intent=pi,
    )
    return obj


def charge_object(stripe_url: str, pi: str, **fields: Any) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(
        json.dumps(stripe_client(stripe_url).v1.charges.retrieve("ch_x").to_dict(), default=str)
    )
    obj.update({"payment_intent": pi, "refunded": True, **fields})
    return obj


def dispute_object(pi: str, status: str) -> dict[str, Any]:
    return {
        "id": f"dp_{uuid.uuid4().hex[:12]}",
        "object": "dispute",
        "payment_intent": pi,
        "status": status,
        "charge": "ch_x",
    }


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
    }


def signed(
    evt: dict[str, Any] | bytes, secret: str = WEBHOOK_SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = evt if isinstance(evt, bytes) else json.dumps(evt).encode()
    header = signature_header(secret, body, at)
    if at is None:
        # Stripe's own library accepts it: our scheme is Stripe's, not merely self-consistent.
        stripe.WebhookSignature.verify_header(body.decode(), header, secret, tolerance=300)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


async def deliver(client: httpx.AsyncClient, evt: dict[str, Any]) -> httpx.Response:
    body, headers = signed(evt)
    return await client.post("/api/v1/stripe/webhook", content=body, headers=headers)


def shuffled(items: list[Any], times: int = 3) -> list[Any]:
    out = [x for x in items for _ in range(times)]
    random.shuffle(out)
    return out
