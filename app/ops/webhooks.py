"""Outbound webhooks: events (a sale, a new listing, a pack published) POSTed as Discord-compatible
JSON to the operator's URLs, signed, delivered and retried by the job queue.

Domains call ``emit`` inside the transaction that records the event, so a delivery is queued iff
the event happened; the job queue retries with backoff and keeps a dead job (with the last error)
when a receiver keeps failing. Delivery is at least once: receivers dedupe by
``X-Echoel-Delivery`` (the event id).

Signature: ``X-Echoel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``.
The timestamp is signed too, so a receiver rejects replays outside its tolerance (see
``app.core.security.signature_problem``). A Discord channel webhook URL works as is (it ignores the extra fields).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from app.core.security import signature_header
from app.core.settings import Settings
from app.jobs import JobContext, PermanentError, enqueue, register
from app.ops import metrics

DELIVER_KIND = "ops.webhook"
# Titles per event kind; any other kind is sent with its name as the title.
TITLES = {
    "sale.completed": "New sale",
    "listing.published": "New listing",
    "pack.published": "Pack published",
}
_COLOUR = 0x7C3AED


def webhook_urls(settings: Settings) -> list[str]:
    return [u.strip() for u in settings.webhook_urls.split(",") if u.strip()]


async def emit(settings: Settings, event: str, data: dict[str, Any], *, event_id: str) -> list[int]:
    """Queue one delivery of ``event`` per configured URL; the job ids (none when none is set).

    ``data`` is flat JSON (title, url, price, …), shown as embed fields. ``event_id`` identifies
    the event (e.g. the order id): emitting it twice queues nothing new.
    """
    ids = []
    for url in webhook_urls(settings):
        key = f"webhook:{event_id}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
        payload = {"url": url, "event": event, "event_id": event_id, "data": data, "at": datetime.now(UTC).isoformat()}
        ids.append(await enqueue(DELIVER_KIND, payload, dedupe_key=key[:200]))
    return ids


def discord_body(event: str, event_id: str, data: dict[str, Any], at: str) -> dict[str, Any]:
    """A Discord "execute webhook" body, plus an ``echoel`` object for other receivers."""
    fields = [
        {"name": str(k).replace("_", " ")[:256], "value": str(v)[:1024] or "-", "inline": True}
        for k, v in data.items()
        if k not in {"title", "url"}
    ][:25]
    embed: dict[str, Any] = {
        "title": str(data.get("title") or TITLES.get(event, event))[:256],
        "description": TITLES.get(event, event),
        "color": _COLOUR,
        "fields": fields,
        "timestamp": at,
        "footer": {"text": f"echoel · {event}"},
    }
    if data.get("url"):
        embed["url"] = str(data["url"])
    return {
        "username": "Echoel",
        "content": f"**{TITLES.get(event, event)}**: {data.get('title', '')}".strip(": "),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},  # never ping @everyone from user-supplied titles
        "echoel": {"event": event, "id": event_id, "data": data},
    }


@register(DELIVER_KIND, max_attempts=8, backoff_seconds=30.0, backoff_max_seconds=3600.0)
async def deliver(job: JobContext) -> None:
    """POST one event to one URL; 2xx is done, 4xx (but 408/429) is refused for good, else retried."""
    settings: Settings = job.state.settings
    p = job.payload
    body = json.dumps(discord_body(p["event"], p["event_id"], p["data"], p["at"]), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Echoel-Webhooks/1",
        "X-Echoel-Event": p["event"],
        "X-Echoel-Delivery": p["event_id"],
        "X-Echoel-Attempt": str(job.attempt),
    }
    if settings.webhook_secret:
        headers["X-Echoel-Signature"] = signature_header(settings.webhook_secret, body)
    try:
        # No redirects: a signed body goes only where the operator pointed it.
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
            response = await client.post(p["url"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        metrics.WEBHOOK_DELIVERIES.labels(outcome="error").inc()
        raise RuntimeError(f"webhook to {p['url']} failed: {type(exc).__name__}") from exc
    if response.is_success:
        metrics.WEBHOOK_DELIVERIES.labels(outcome="delivered").inc()
        return
    metrics.WEBHOOK_DELIVERIES.labels(outcome=f"http_{response.status_code // 100}xx").inc()
    if 400 <= response.status_code < 500 and response.status_code not in {408, 429}:
        raise PermanentError(f"receiver refused the webhook: HTTP {response.status_code}")
    raise RuntimeError(f"receiver answered HTTP {response.status_code}; will retry")
