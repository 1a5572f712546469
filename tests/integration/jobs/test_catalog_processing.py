"""Uploads processed in the background by the app's in-process worker, on MinIO and local disk.

A cover gets WebP thumbnails, a WAV demo gets peaks and a preview, a pack zip is expanded and
a malicious zip is refused with its reason (the file marked rejected, nothing expanded).
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from PIL import Image

from app.catalog.cleanup import clean_orphans
from app.catalog.derived import derived_key
from app.catalog.processing import PROCESS_KIND
from app.catalog.tables import ListingFile
from app.core.settings import Settings
from app.jobs.tables import Job
from app.media import magic
from app.storage import ObjectStorage
from tests.integration.catalog.helpers import listing, upload, user
from tests.integration.storage.conftest import s3_settings
from tests.support import test_settings
from tests.unit.media.helpers import sine_wav

FAST_JOBS = {"ECHOEL_JOBS_POLL_SECONDS": "0.1"}


@pytest.fixture(params=["s3", "local"])
def settings(request: pytest.FixtureRequest, db_url: str, var_dir: Path) -> Settings:
    if request.param == "s3":
        return s3_settings(request.getfixturevalue("minio_server"), db_url, var_dir, **FAST_JOBS)
    return test_settings(db_url, var_dir, **FAST_JOBS)


@pytest.fixture
async def store_http() -> Any:
    async with httpx.AsyncClient(timeout=60) as http:
        yield http


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def wide_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1600, 900), (10, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


async def manifest(storage: ObjectStorage, file_id: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(await storage.read_head(derived_key(file_id, "media.json"), 10_000_000))
    return result


async def test_uploads_are_processed_in_the_background(
    app: Litestar, client: httpx.AsyncClient, store_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    demo_wav = sine_wav(tmp_path / "demo.wav", seconds=2.0).read_bytes()
    good = zip_bytes({"Pack/Bass/Sub.fxp": b"CcnK" + bytes(200), "Pack/README.txt": b"enjoy", "__MACOSX/._x": b""})
    evil = zip_bytes({"ok.txt": b"x", "../../escape.txt": b"pwned"})

    uploads = {
        "cover": {"data": wide_png(), "role": "cover", "content_type": "image/png", "name": "cover.png"},
        "demo": {"data": demo_wav, "role": "demo", "content_type": "audio/wav", "name": "demo.wav"},
        "pack": {"data": good, "role": "file", "content_type": "application/zip", "name": "pack.zip"},
        "preset": {
            "data": b"CcnK" + bytes(64),
            "role": "file",
            "content_type": "application/octet-stream",
            "name": "a.fxp",
        },
        "evil": {"data": evil, "role": "file", "content_type": "application/zip", "name": "evil.zip"},
    }
    ids = {}
    for label, spec in uploads.items():
        done = await upload(client, store_http, h, item["id"], spec.pop("data"), **spec)
        assert done.status_code == 200, done.text
        ids[label] = done.json()["file"]["id"]

    for _ in range(600):
        if await Job.count().where((Job.kind == PROCESS_KIND) & (Job.status == "done")) == 5:
            break
        await asyncio.sleep(0.1)
    jobs = await Job.select(Job.status, Job.last_error).where(Job.kind == PROCESS_KIND)
    assert [j["status"] for j in jobs] == ["done"] * 5, jobs

    storage: ObjectStorage = app.state.storage

    cover = await manifest(storage, ids["cover"])
    assert [(t["width"], t["height"]) for t in cover["thumbnails"]] == [(640, 360), (1280, 720)]
    for thumb in cover["thumbnails"]:
        assert magic.detect(await storage.read_head(thumb["key"], 64)) == magic.WEBP

    demo = await manifest(storage, ids["demo"])
    assert demo["duration"] == pytest.approx(2.0, abs=0.01)
    assert len(demo["peaks"]) == 1000
    assert demo["preview"]["content_type"] == "audio/mp4"
    assert magic.detect(await storage.read_head(demo["preview"]["key"], 64)) == magic.M4A

    pack = await manifest(storage, ids["pack"])
    assert sorted((f["name"], f["size"]) for f in pack["files"]) == [("Pack/Bass/Sub.fxp", 204), ("Pack/README.txt", 5)]
    assert await storage.read_head(derived_key(ids["pack"], "files/Pack/README.txt"), 100) == b"enjoy"

    assert await manifest(storage, ids["preset"]) == {}  # nothing to derive, and done

    refused = await manifest(storage, ids["evil"])
    assert refused["reason"] == "path_traversal"
    assert [o.key for o in await storage.list_objects(f"derived/{ids['evil']}/")] == [
        derived_key(ids["evil"], "media.json")
    ]
    row = await ListingFile.select(ListingFile.status, ListingFile.reason).where(ListingFile.id == ids["evil"]).first()
    assert row is not None
    assert row["status"] == "rejected"
    assert "outside" in row["reason"]
    # The refused pack can no longer be downloaded.
    url = f"/api/v1/listings/{item['id']}/files/{{}}/download"
    assert (await client.get(url.format(ids["pack"]), headers=h)).status_code == 200
    assert (await client.get(url.format(ids["evil"]), headers=h)).status_code == 404


async def test_the_listing_page_gets_what_processing_derived(
    app: Litestar, client: httpx.AsyncClient, store_http: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    files = {
        "cover": ("cover.png", "image/png", wide_png()),
        "demo": ("demo.wav", "audio/wav", sine_wav(tmp_path / "demo.wav", seconds=1.0).read_bytes()),
        "file": ("pack.zip", "application/zip", zip_bytes({"Pack/Lead.fxp": b"CcnK" + bytes(100)})),
    }
    ids = {}
    for role, (name, content_type, data) in files.items():
        done = await upload(client, store_http, h, item["id"], data, role=role, name=name, content_type=content_type)
        assert done.status_code == 200, done.text
        ids[role] = done.json()["file"]["id"]
    url = f"/api/v1/listings/{item['id']}/files/{{}}/media"

    async def media(role: str) -> dict[str, Any]:
        for _ in range(600):
            r = await client.get(url.format(ids[role]), headers=h)
            if r.status_code == 200:
                body: dict[str, Any] = r.json()
                return body
            assert r.status_code == 404 and "still being processed" in r.json()["detail"], r.text
            await asyncio.sleep(0.1)
        raise AssertionError(f"{role} was never processed")

    cover = await media("cover")
    assert [(t["width"], t["height"]) for t in cover["thumbnails"]] == [(640, 360), (1280, 720)]
    thumb = cover["thumbnails"][0]["url"]
    fetched = await (store_http if thumb.startswith("http") else client).get(thumb)
    assert fetched.status_code == 200 and magic.detect(fetched.content) == magic.WEBP
    demo = await media("demo")
    assert demo["duration"] == pytest.approx(1.0, abs=0.01) and len(demo["peaks"]) == 1000
    assert all(-1 <= low <= high <= 1 for low, high in demo["peaks"])
    preview = demo["preview_url"]
    fetched = await (store_http if preview.startswith("http") else client).get(preview)
    assert fetched.status_code == 200 and magic.detect(fetched.content[:64]) == magic.M4A
    assert (await media("file"))["contents"] == [{"name": "Pack/Lead.fxp", "size": 104}]
    # A draft's media is its creator's business only.
    assert (await client.get(url.format(ids["demo"]))).status_code == 404

    # Once the file is gone, what was derived from it goes with the next clean-up.
    storage: ObjectStorage = app.state.storage
    await ListingFile.delete().where(ListingFile.id == ids["demo"])
    await asyncio.sleep(1.1)  # store times have whole seconds
    await clean_orphans(storage, min_age_seconds=0)
    assert await storage.list_objects(f"derived/{ids['demo']}/") == []
    assert await storage.list_objects(f"derived/{ids['cover']}/") != []
