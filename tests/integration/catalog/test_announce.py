"""Publishing a listing tells the operator's webhook receivers, once."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from tests.integration.catalog.conftest import LIMITS
from tests.integration.catalog.helpers import listing, upload, user
from tests.integration.ops.receiver import Receiver, webhook_jobs
from tests.integration.storage.conftest import s3_settings
from tests.services.minio import MinioServer


@pytest.fixture
def settings(db_url: str, var_dir: Path, minio_server: MinioServer, receiver: Receiver) -> Settings:
    return s3_settings(
        minio_server, db_url, var_dir, **LIMITS, ECHOEL_WEBHOOK_URLS=receiver.url, ECHOEL_JOBS_POLL_SECONDS="0.1"
    )


async def test_publishing_announces_the_listing_once(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient, receiver: Receiver
) -> None:
    handle, h = await user(client, creator=True)
    item = await listing(client, h, title="Warm Keys")
    assert (await upload(client, store_http, h, item["id"], os.urandom(300))).status_code == 200

    async def status(value: str) -> None:
        r = await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": value}, headers=h)
        assert r.status_code == 200, r.text

    await status("unlisted")  # visible by link only: not announced
    await status("published")
    (request,) = await asyncio.to_thread(receiver.wait_for, 1)
    body = json.loads(request["body"])
    assert body["echoel"]["event"] == "listing.published"
    data = body["echoel"]["data"]
    assert data["title"] == "Warm Keys" and data["creator"] == f"@{handle}"
    assert data["url"].endswith(f"/listing.html?id={item['id']}")
    # Unpublished and published again: the same event, queued once.
    await status("archived")
    await status("published")
    assert len(await webhook_jobs()) == 1
    assert len(receiver.requests) == 1
