"""Uploads and downloads reach MinIO through nginx's /s3/ location with the app's signatures."""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

import httpx

from app.core.settings import load_settings
from app.storage.s3 import S3Storage
from tests.integration.edge.conftest import Edge


async def test_presigned_post_and_ranged_get_through_nginx(edge: Edge) -> None:
    storage = S3Storage.from_settings(load_settings(edge.env))
    # Above nginx's 1m API limit: only /s3/ lifts it.
    body = os.urandom(3 * 1024 * 1024 + 17)
    form = storage.presign_post("uploads/edge/demo.bin", "application/octet-stream", len(body), timedelta(minutes=5))
    assert form.url.startswith(f"{edge.url}/s3/")
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(form.url, data=form.fields, files={"file": ("demo.bin", body, "application/octet-stream")})
        assert r.status_code == 204, r.text
        info = await storage.stat("uploads/edge/demo.bin")
        assert info is not None and info.size == len(body)
        assert await storage.sha256("uploads/edge/demo.bin") == hashlib.sha256(body).hexdigest()

        url = storage.presign_get("uploads/edge/demo.bin", "demo.bin", timedelta(minutes=5))
        assert url.startswith(f"{edge.url}/s3/")
        whole = await http.get(url)
        assert whole.status_code == 200 and whole.content == body
        part = await http.get(url, headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == body[1000:2000]

        # A signature for another key is refused by MinIO (nginx kept the signed Host and path).
        forged = url.replace("demo.bin?", "other.bin?", 1)
        assert (await http.get(forged)).status_code == 403


async def test_policy_size_limit_still_applies_through_nginx(edge: Edge) -> None:
    storage = S3Storage.from_settings(load_settings(edge.env))
    form = storage.presign_post("uploads/edge/small.bin", "application/octet-stream", 1024, timedelta(minutes=5))
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(
            form.url, data=form.fields, files={"file": ("s.bin", b"x" * 4096, "application/octet-stream")}
        )
    assert r.status_code == 400 and b"EntityTooLarge" in r.content
    assert await storage.stat("uploads/edge/small.bin") is None
