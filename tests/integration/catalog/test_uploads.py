"""Uploads through presigned requests to real MinIO, verified by the app before a file joins."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import httpx
import pytest

from app.accounts.tables import User
from app.catalog.processing import CLEANUP_KIND, PROCESS_KIND
from app.catalog.tables import Upload
from app.jobs.tables import Job
from app.schedules import schedule_periodic
from tests.integration.catalog.helpers import listing, presign, upload, user, via
from tests.integration.catalog.media import png, wav

MiB = 1024 * 1024
PROBLEM = "application/problem+json"


async def files_of(client: httpx.AsyncClient, headers: dict[str, str], listing_id: str) -> list[dict[str, object]]:
    r = await client.get(f"/api/v1/listings/{listing_id}", headers=headers)
    assert r.status_code == 200, r.text
    return [f for v in r.json()["versions"] for f in v["files"]]


async def test_single_upload_is_verified_joins_the_version_and_completion_is_idempotent(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    data = os.urandom(200_000)
    r = await upload(client, store_http, h, item["id"], data, name="Bass 01.fxp", checksum=True)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["state"] == "completed" and done["file"]["size"] == len(data)
    assert done["key"].startswith(f"listings/{item['id']}/1.0/") and done["key"].endswith("/Bass_01.fxp")
    again = await client.post(f"/api/v1/uploads/{done['id']}/complete", headers=h)
    assert again.status_code == 200 and again.json()["file"]["id"] == done["file"]["id"]
    assert [f["name"] for f in await files_of(client, h, item["id"])] == ["Bass 01.fxp"]
    # Processing is queued once per file, however often completion is retried.
    jobs = await Job.select(Job.kind, Job.payload).where(Job.kind == PROCESS_KIND)
    assert [j["kind"] for j in jobs] == [PROCESS_KIND]
    assert json.loads(next(j["payload"] for j in jobs if j["kind"] == PROCESS_KIND))["file_id"] == done["file"]["id"]
    # The orphan clean-up is queued at start-up (and by each run for the next), once per slot.
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    for _ in range(2):
        await schedule_periodic(settings)
    assert await Job.count().where(Job.kind == CLEANUP_KIND) == 1


async def test_multipart_upload_resumes_after_a_crash(client: httpx.AsyncClient, store_http: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h, kind="sample_pack")
    data = os.urandom(5 * MiB + 300_000)
    r = await presign(client, h, item["id"], data, name="pack.bin")
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["post"] is None and out["part_size"] == 5 * MiB and len(out["parts"]) == 2
    first = out["parts"][0]
    assert (await via(client, store_http, first["url"]).put(first["url"], content=data[: 5 * MiB])).status_code == 200

    # The page reloads: it knows only the upload id and asks what is stored.
    early = await client.post(f"/api/v1/uploads/{out['id']}/complete", headers=h)
    assert early.status_code == 409 and early.json()["missing"] == [2]
    parts = (await client.get(f"/api/v1/uploads/{out['id']}/parts", headers=h)).json()
    assert [p["number"] for p in parts["stored"]] == [1] and parts["stored"][0]["size"] == 5 * MiB
    assert [p["number"] for p in parts["missing"]] == [2]
    url = parts["missing"][0]["url"]
    assert (await via(client, store_http, url).put(url, content=data[5 * MiB :])).status_code == 200

    done = await client.post(f"/api/v1/uploads/{out['id']}/complete", headers=h)
    assert done.status_code == 200, done.text
    assert done.json()["file"]["size"] == len(data)
    dl = (
        await client.get(f"/api/v1/listings/{item['id']}/files/{done.json()['file']['id']}/download", headers=h)
    ).json()
    got = await via(client, store_http, dl["url"]).get(dl["url"], headers={"Range": "bytes=5242870-5242889"})
    assert got.status_code == 206 and got.content == data[5242870:5242890]


async def test_wrong_size_checksum_or_corrupt_media_is_rejected_and_nothing_joins(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    data = os.urandom(1000)
    cases = [
        # (sent, declared, extra) → why it fails
        (data[:999], data, {}),  # one byte short of the declared size
        (os.urandom(1000), data, {"checksum": True}),  # same size, other bytes
        (b"GIF89a" + os.urandom(500), None, {"role": "cover", "content_type": "image/png", "name": "c.png"}),
        (png()[:60], None, {"role": "cover", "content_type": "image/png", "name": "cut.png"}),  # truncated PNG
        (b"<html>" + os.urandom(400), None, {"role": "demo", "content_type": "audio/wav", "name": "d.wav"}),
        (os.urandom(400), None, {"content_type": "application/zip", "name": "p.zip"}),
    ]
    for sent, declared, extra in cases:
        r = await upload(client, store_http, h, item["id"], sent, declared=declared, **extra)
        assert r.status_code == 422, (extra, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert "rejected" in r.json()["detail"]
        # Asking again gives the same answer; the object is gone from the store.
        again = await client.post(f"/api/v1/uploads/{r.json()['upload_id']}/complete", headers=h)
        assert again.status_code == 422
    assert await files_of(client, h, item["id"]) == []
    storage = client._transport.app.state.storage  # type: ignore[attr-defined]
    assert await storage.list_objects() == []


async def test_real_cover_and_demo_are_accepted(client: httpx.AsyncClient, store_http: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    cover = await upload(client, store_http, h, item["id"], png(), role="cover", content_type="image/png", name="c.png")
    assert cover.status_code == 200, cover.text
    demo = await upload(client, store_http, h, item["id"], wav(), role="demo", content_type="audio/wav", name="d.wav")
    assert demo.status_code == 200, demo.text
    view = (await client.get(f"/api/v1/listings/{item['id']}", headers=h)).json()
    assert view["cover_file"] == cover.json()["file"]["id"]
    assert view["demo_file"] == demo.json()["file"]["id"]


async def test_completing_what_is_not_there(client: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    missing = await client.post(f"/api/v1/uploads/{uuid.uuid4()}/complete", headers=h)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    r = await presign(client, h, item["id"], b"x" * 100)
    nothing_sent = await client.post(f"/api/v1/uploads/{r.json()['id']}/complete", headers=h)
    assert nothing_sent.status_code == 409
    # Someone else's upload is not found either.
    _, other = await user(client, creator=True)
    assert (await client.post(f"/api/v1/uploads/{r.json()['id']}/complete", headers=other)).status_code == 404


async def test_quota_is_enforced_at_presign_time(client: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    big = await client.post(
        "/api/v1/uploads",
        json={"listing_id": item["id"], "version": "1.0", "file_name": "a.bin", "size": 20 * MiB,
              "content_type": "application/octet-stream"},
        headers=h,
    )  # fmt: skip
    assert big.status_code == 201, big.text
    over = await presign(client, h, item["id"], b"x" * (5 * MiB))
    assert over.status_code == 413 and over.headers["content-type"].startswith(PROBLEM)
    assert over.json()["quota"] == 24 * MiB
    # Aborting the pending upload frees its share.
    assert (await client.delete(f"/api/v1/uploads/{big.json()['id']}", headers=h)).status_code == 204
    assert (await presign(client, h, item["id"], b"x" * (5 * MiB))).status_code == 201


async def test_concurrent_presigns_stay_within_the_quota(client: httpx.AsyncClient, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("on PostgreSQL presigns in flight at one instant may pass the quota together (documented)")
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    # 24 MiB of quota, eight 5 MiB presigns at once: the quota holds four of them.
    answers = await asyncio.gather(*(presign(client, h, item["id"], b"x" * (5 * MiB)) for _ in range(8)))
    assert sorted(r.status_code for r in answers) == [201] * 4 + [413] * 4
    pending = await Upload.count().where(Upload.listing == item["id"], Upload.state == "pending")
    assert pending == 4


async def test_an_admin_may_upload_to_any_listing_and_others_may_not(client: httpx.AsyncClient) -> None:
    _, owner = await user(client, creator=True)
    item = await listing(client, owner)
    stranger_handle, stranger = await user(client, creator=True)
    refused = await presign(client, stranger, item["id"], b"x" * 10)
    # A draft is not even visible to another creator: 404, not 403.
    assert refused.status_code == 404 and refused.headers["content-type"].startswith(PROBLEM)
    await User.update({User.role: "admin"}).where(User.handle == stranger_handle)
    allowed = await presign(client, stranger, item["id"], b"x" * 10)
    assert allowed.status_code == 201, allowed.text
    # A version that does not exist is a 404, for an admin too; nothing was written for it.
    missing = await presign(client, stranger, item["id"], b"x" * 10, version="9.9")
    assert missing.status_code == 404
    assert await Upload.count().where(Upload.listing == item["id"]) == 1


async def test_bad_upload_requests_are_refused(client: httpx.AsyncClient) -> None:
    owner, h = await user(client, creator=True)
    item = await listing(client, h)
    base = {"listing_id": item["id"], "version": "1.0", "file_name": "a.bin", "size": 10, "content_type": "text/plain"}
    bad = [
        {**base, "size": 0},
        {**base, "surprise": 1},
        {**base, "content_type": "not a type"},
        {**base, "role": "cover"},  # a cover must be an image
        {**base, "role": "owner"},
        {**base, "sha256": "abc"},
        {**base, "version": "../x"},
    ]
    for body in bad:
        r = await client.post("/api/v1/uploads", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    assert (await client.post("/api/v1/uploads", json={**base, "version": "9.9"}, headers=h)).status_code == 404
    assert (await client.post("/api/v1/uploads", content=b"{", headers=h)).status_code == 400
    _, member = await user(client)
    assert (await client.post("/api/v1/uploads", json=base, headers=member)).status_code == 403
    _, stranger = await user(client, creator=True)
    assert (await client.post("/api/v1/uploads", json=base, headers=stranger)).status_code == 404
    assert (await client.post("/api/v1/uploads", json=base)).status_code == 401
    assert owner


async def test_store_outage_on_completion_is_a_503_and_the_upload_can_complete_later(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    import urllib3
    from minio import Minio

    from tests.services.binaries import free_port

    _, h = await user(client, creator=True)
    item = await listing(client, h)
    r = await presign(client, h, item["id"], b"abc" * 100)
    out = r.json()
    sent = await store_http.post(out["post"]["url"], data=out["post"]["fields"], files={"file": ("f", b"abc" * 100)})
    assert sent.status_code == 204
    storage = client._transport.app.state.storage  # type: ignore[attr-defined]
    healthy = storage.client
    # The store goes away (nothing listens on that port; no retries, so the test stays quick).
    dead = urllib3.PoolManager(retries=urllib3.Retry(total=0))
    storage.client = Minio(f"127.0.0.1:{free_port()}", access_key="x", secret_key="y", secure=False, http_client=dead)
    try:
        down = await client.post(f"/api/v1/uploads/{out['id']}/complete", headers=h)
    finally:
        storage.client = healthy
    assert down.status_code == 503 and down.headers["content-type"].startswith(PROBLEM)
    back = await client.post(f"/api/v1/uploads/{out['id']}/complete", headers=h)
    assert back.status_code == 200, back.text
