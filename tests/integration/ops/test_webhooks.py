"""Outbound webhooks through the real job queue to a real local HTTP receiver."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.core.security import signature_header as sign
from app.core.security import signature_problem
from app.core.settings import Settings
from app.jobs.queue import now_ms
from app.jobs.tables import Job
from app.ops.webhooks import DELIVER_KIND, emit
from tests.integration.ops.receiver import Receiver
from tests.support import test_settings


def verify_signature(secret: str, header: str, body: bytes) -> bool:
    """What a receiver does with our header (the same check our Stripe endpoint makes)."""
    return signature_problem(secret, header, body, 300) is None


SECRET = "whsec-" + "w" * 30


@pytest.fixture
def settings(db_url: str, var_dir: Path, receiver: Receiver) -> Settings:
    """The app's settings with the receiver configured (overrides tests/conftest.py's)."""
    return test_settings(
        db_url, var_dir, ECHOEL_WEBHOOK_URLS=receiver.url, ECHOEL_WEBHOOK_SECRET=SECRET, ECHOEL_JOBS_POLL_SECONDS="0.1"
    )


async def job_for(event_id: str) -> dict[str, object]:
    rows = await Job.select().where(Job.kind == DELIVER_KIND)
    (row,) = [r for r in rows if event_id in str(r["dedupe_key"])]
    return row


async def wait_status(event_id: str, status: str) -> dict[str, object]:
    for _ in range(200):
        row = await job_for(event_id)
        if row["status"] == status:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"job of {event_id} never reached {status}: {row}")


async def test_sale_is_delivered_signed_and_discord_shaped(
    client: httpx.AsyncClient, settings: Settings, receiver: Receiver
) -> None:
    event_id = f"order-{uuid.uuid4().hex[:8]}"
    data = {"title": "Analog Pads Vol. 2", "url": "https://echoel.example/p/1", "price": "12.00 EUR", "buyer": "@sam"}
    assert len(await emit(settings, "sale.completed", data, event_id=event_id)) == 1
    (request,) = await asyncio.to_thread(receiver.wait_for, 1)
    await wait_status(event_id, "done")
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-echoel-event"] == "sale.completed" and headers["x-echoel-delivery"] == event_id
    assert verify_signature(SECRET, headers["x-echoel-signature"], request["body"])
    assert not verify_signature("another-secret", headers["x-echoel-signature"], request["body"])
    body = json.loads(request["body"])
    assert body["username"] == "Echoel" and body["allowed_mentions"] == {"parse": []}
    embed = body["embeds"][0]
    assert embed["title"] == "Analog Pads Vol. 2" and embed["url"] == data["url"]
    assert {"name": "price", "value": "12.00 EUR", "inline": True} in embed["fields"]
    assert body["echoel"] == {"event": "sale.completed", "id": event_id, "data": data}


async def test_failed_delivery_is_retried_then_delivered(
    client: httpx.AsyncClient, settings: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [503]
    event_id = f"listing-{uuid.uuid4().hex[:8]}"
    await emit(settings, "listing.published", {"title": "Warm Keys"}, event_id=event_id)
    await asyncio.to_thread(receiver.wait_for, 1)
    row = await wait_status(event_id, "queued")
    for _ in range(100):  # the failure is recorded just after the answer arrives
        row = await job_for(event_id)
        if "503" in str(row["last_error"]):
            break
        await asyncio.sleep(0.05)
    assert int(row["attempts"]) == 1 and "503" in str(row["last_error"])
    assert int(row["run_at_ms"]) > now_ms() + 10_000  # backing off
    # Let the backoff pass instead of waiting it out.
    await Job.update({Job.run_at_ms: now_ms()}).where(Job.id == row["id"])
    first, second = await asyncio.to_thread(receiver.wait_for, 2)
    await wait_status(event_id, "done")
    assert first["body"] == second["body"]
    assert {k.lower(): v for k, v in second["headers"].items()}["x-echoel-attempt"] == "2"


async def test_receiver_refusal_is_not_retried(
    client: httpx.AsyncClient, settings: Settings, receiver: Receiver
) -> None:
    receiver.statuses = [410]
    event_id = f"pack-{uuid.uuid4().hex[:8]}"
    await emit(settings, "pack.published", {"title": "Field Recordings"}, event_id=event_id)
    row = await wait_status(event_id, "dead")
    assert "410" in str(row["last_error"]) and int(row["attempts"]) == 1
    assert len(receiver.requests) == 1


async def test_same_event_is_queued_once(client: httpx.AsyncClient, settings: Settings, receiver: Receiver) -> None:
    event_id = f"order-{uuid.uuid4().hex[:8]}"
    first = await emit(settings, "sale.completed", {"title": "x"}, event_id=event_id)
    again = await emit(settings, "sale.completed", {"title": "x"}, event_id=event_id)
    assert first == again
    await asyncio.to_thread(receiver.wait_for, 1)
    await wait_status(event_id, "done")
    assert len(receiver.requests) == 1


def test_signature_checks_time_both_ways() -> None:
    body = b'{"a":1}'
    assert verify_signature(SECRET, sign(SECRET, body), body)
    assert not verify_signature(SECRET, sign(SECRET, body), body + b" ")
    assert not verify_signature(SECRET, sign(SECRET, body, int(time.time()) - 3600), body)
    assert not verify_signature(SECRET, sign(SECRET, body, int(time.time()) + 3600), body)
    assert not verify_signature(SECRET, "garbage", body)
