"""Publishing a sample pack through the catalog API queues its torrent build in the same
transaction: the app's job worker builds it with no seeder poll (``enqueue_builds``) involved."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.jobs.tables import Job
from app.torrents.jobs import BUILD_KIND, enqueue_builds
from tests.integration.catalog.helpers import listing, upload, user


async def _torrents(client: httpx.AsyncClient, listing_id: str) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/torrents/", params={"listing": listing_id})
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def _ready(client: httpx.AsyncClient, listing_id: str, count: int) -> list[dict[str, Any]]:
    for _ in range(300):
        rows = await _torrents(client, listing_id)
        if sum(t["status"] == "ready" for t in rows) == count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"torrents never became ready: {rows}")


async def test_publishing_through_the_api_builds_the_torrent_at_once(client: httpx.AsyncClient) -> None:
    _, creator = await user(client, creator=True)
    pack = await listing(client, creator, kind="sample_pack", title="Kick Pack")
    kick = b"RIFF" + bytes(range(256)) * 300
    assert (await upload(client, client, creator, pack["id"], kick, name="kick.wav")).status_code == 200
    # A draft queues nothing: only public packs are built.
    assert await Job.count().where(Job.kind == BUILD_KIND) == 0

    r = await client.post(f"/api/v1/listings/{pack['id']}/status", json={"status": "published"}, headers=creator)
    assert r.status_code == 200, r.text
    assert await Job.count().where(Job.kind == BUILD_KIND) == 1  # queued with the status change
    first = (await _ready(client, pack["id"], 1))[0]
    assert first["name"] == "kick-pack-1.0" and first["total_size"] == len(kick) and not first["private"]

    # A later version: added, given a file, published on its own.
    r = await client.post(f"/api/v1/listings/{pack['id']}/versions", json={"label": "2.0"}, headers=creator)
    assert r.status_code == 201, r.text
    snare = b"RIFF" + bytes(range(256)) * 500
    done = await upload(client, client, creator, pack["id"], snare, name="snare.wav", version="2.0")
    assert done.status_code == 200, done.text
    r = await client.post(f"/api/v1/listings/{pack['id']}/versions/2.0/publish", headers=creator)
    assert r.status_code == 200, r.text
    rows = await _ready(client, pack["id"], 2)
    assert {t["name"] for t in rows} == {"kick-pack-1.0", "kick-pack-2.0"}

    # A version without files is refused and queues nothing.
    r = await client.post(f"/api/v1/listings/{pack['id']}/versions", json={"label": "3.0"}, headers=creator)
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/listings/{pack['id']}/versions/3.0/publish", headers=creator)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await Job.count().where(Job.kind == BUILD_KIND) == 2
    # The seeder's poll, the floor, finds nothing left to queue.
    assert await enqueue_builds() == 0
