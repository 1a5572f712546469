"""Orphan clean-up against real MinIO: what no row points at goes, what a row points at stays."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.catalog.cleanup import clean_orphans
from app.catalog.tables import Upload
from app.core.settings import Settings
from tests.integration.catalog.conftest import LIMITS
from tests.integration.catalog.helpers import listing, presign, upload, user, via
from tests.integration.storage.conftest import s3_settings
from tests.services.minio import MinioServer
from tests.support import run_cli, test_env

MiB = 1024 * 1024


@pytest.fixture
def settings(db_url: str, var_dir: Path, minio_server: MinioServer) -> Settings:
    # No in-process worker: processing would add the kept file's manifest while we count objects.
    return s3_settings(minio_server, db_url, var_dir, **LIMITS, ECHOEL_JOBS_IN_PROCESS="false")


async def test_orphans_go_referenced_objects_stay(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient, settings: Settings, var_dir: Path
) -> None:
    storage = client._transport.app.state.storage  # type: ignore[attr-defined]
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    kept = await upload(client, store_http, h, item["id"], b"keep me", name="keep.fxp")
    assert kept.status_code == 200
    # Sent but never completed; a multipart upload left after one part; a stray object.
    out = (await presign(client, h, item["id"], b"abandoned")).json()
    form = out["post"]
    sent = await store_http.post(form["url"], data=form["fields"], files={"file": ("f", b"abandoned")})
    assert sent.status_code == 204
    multi = (await presign(client, h, item["id"], os.urandom(5 * MiB + 10))).json()
    part = multi["parts"][0]
    assert (await via(client, store_http, part["url"]).put(part["url"], content=os.urandom(5 * MiB))).status_code == 200
    await storage.create_multipart(f"listings/{item['id']}/1.0/stray/x.bin", "application/octet-stream")
    stray = storage.presign_post(f"listings/{item['id']}/1.0/stray/y.bin", "text/plain", 100, timedelta(minutes=1))
    assert (await store_http.post(stray.url, data=stray.fields, files={"file": ("y", b"stray")})).status_code == 204

    young = await clean_orphans(storage, 3600)
    assert (young.objects_deleted, young.multipart_aborted, young.uploads_expired) == (0, 0, 0)
    await asyncio.sleep(1.1)

    # Run through the `echoel cleanup-orphans` command, as an operator or cron would.
    env = test_env(
        settings.db_url,
        var_dir,
        ECHOEL_STORAGE="s3",
        ECHOEL_S3_ENDPOINT=settings.s3_endpoint,
        ECHOEL_S3_ACCESS_KEY=settings.s3_access_key,
        ECHOEL_S3_SECRET_KEY=settings.s3_secret_key,
        ECHOEL_S3_BUCKET=settings.s3_bucket,
    )
    result = await asyncio.to_thread(run_cli, ["cleanup-orphans", "--min-age", "0"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "aborted 2 unfinished multipart uploads, deleted 2 orphan objects, expired 2 uploads" in result.stdout

    assert [o.key for o in await storage.list_objects()] == [kept.json()["key"]]
    assert await storage.list_multipart_uploads() == []
    states = {r["id"]: r["state"] for r in await Upload.select(Upload.id, Upload.state)}
    assert states[uuid.UUID(out["id"])] == "aborted"
    link = (
        await client.get(f"/api/v1/listings/{item['id']}/files/{kept.json()['file']['id']}/download", headers=h)
    ).json()
    assert (await store_http.get(link["url"])).content == b"keep me"
    # Completing an upload the clean-up expired is refused, not resurrected.
    assert (await client.post(f"/api/v1/uploads/{out['id']}/complete", headers=h)).status_code == 409
