"""Helpers for payments tests: sellable listings, checkouts, and Stripe events signed like Stripe's."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import Any

import httpx
import stripe

from app.accounts.tables import User
from app.core.security import signature_header
from app.payments.tables import Order
from tests.integration.accounts.helpers import PASSWORD, bearer, login
from tests.integration.catalog.helpers import listing, upload, user
from tests.integration.payments.conftest import WEBHOOK_SECRET
from tests.services.stripe_mock import TEST_API_KEY

__all__ = ["listing", "user"]


async def admin(client: httpx.AsyncClient) -> dict[str, str]:
    """A new user made admin in the database (no endpoint makes one), logged in again as such."""
    handle, _ = await user(client)
    await User.update({User.role: "admin"}).where(User.handle == handle)
    email = (await User.select(User.email).where(User.handle == handle).first())["email"]  # type: ignore[index]
    return bearer((await login(client, {"email": email, "password": PASSWORD}))["access_token"])


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


BPS = 3000  # the marketplace commission of the test settings (no creator's own link here)


def refunded(stripe_url: str, pi: str, total: int, so_far: int) -> dict[str, Any]:
    """``charge.refunded`` as Stripe sends it: ``amount_refunded`` is the total refunded so far."""
    obj = charge_object(stripe_url, pi, amount=total, amount_refunded=so_far, refunded=so_far >= total)
    return event("charge.refunded", obj)


async def buy(
    client: httpx.AsyncClient, stripe_url: str, buyer: dict[str, str], items: list[dict[str, Any]], **body: Any
) -> tuple[str, str]:
    """Check out and pay through a signed checkout.session.completed; the order id and its PaymentIntent."""
    r = await checkout(client, buyer, items=items, **body)
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    pi = f"pi_{uuid.uuid4().hex[:16]}"
    sid = await session_id(order_id)
    done = await deliver(
        client, event("checkout.session.completed", session_object(stripe_url, sid, order_id, "paid", pi))
    )
    assert done.json()["outcome"] == "fulfilled", done.text
    return order_id, pi


async def wait_for(predicate: Any, seconds: float = 15.0) -> None:
    for _ in range(int(seconds * 10)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out waiting for the job")


async def fee_recorded(order_id: str) -> bool:
    return bool(await Order.exists().where(Order.id == uuid.UUID(order_id), Order.fee_recorded == True))  # noqa: E712


async def deliver_all(client: httpx.AsyncClient, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 10):
        answers = await asyncio.gather(*(deliver(client, e) for e in events[start : start + 10]))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]


async def verify(client: httpx.AsyncClient, key: str, machine: str = "studio") -> httpx.Response:
    """The license endpoint's answer for ``key`` activated on ``machine``."""
    return await client.post("/api/v1/licenses/verify", json={"key": key, "machine": machine})
