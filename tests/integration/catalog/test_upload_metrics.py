"""Uploads move /metrics: one count per finished upload by outcome, and the bytes completed."""

from __future__ import annotations

import os

import httpx

from tests.integration.catalog.helpers import listing, presign, upload, user
from tests.integration.ops.scrape import sample, scrape


def counts(text: str) -> tuple[float, float, float, float]:
    """Completed, rejected and aborted uploads, and completed bytes."""
    outcomes = (sample(text, "echoel_uploads_total", 0.0, outcome=o) for o in ("completed", "rejected", "aborted"))
    return (*outcomes, sample(text, "echoel_upload_bytes_total", 0.0))  # type: ignore[return-value]


async def test_finished_uploads_are_counted_once_by_outcome(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    before = counts(await scrape(client))

    data = os.urandom(150_000)
    done = await upload(client, store_http, h, item["id"], data, checksum=True)
    assert done.status_code == 200, done.text
    # A retried completion answers as the first did and counts nothing more.
    again = await client.post(f"/api/v1/uploads/{done.json()['id']}/complete", headers=h)
    assert again.status_code == 200
    short = await upload(client, store_http, h, item["id"], data[:-1], declared=data)
    assert short.status_code == 422
    pending = await presign(client, h, item["id"], b"never sent")
    assert (await client.delete(f"/api/v1/uploads/{pending.json()['id']}", headers=h)).status_code == 204

    after = counts(await scrape(client))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, len(data)]
