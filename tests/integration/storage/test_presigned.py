"""Presigned uploads and downloads, refused by the store itself when they break the policy.

Runs against real MinIO and against the local-disk store served by the app.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from datetime import timedelta
from urllib.parse import unquote

import httpx
import pytest

from app.storage import PartInfo, PostForm, StorageError
from tests.integration.storage.conftest import Backend

MiB = 1024 * 1024


async def post_form(http: httpx.AsyncClient, form: PostForm, data: bytes, **override: str) -> httpx.Response:
    fields = {**form.fields, **override}
    content_type = fields["Content-Type"]
    return await http.post(form.url, data=fields, files={"file": ("x.bin", data, content_type)})


async def test_post_policy_happy_path_then_ranged_download(backend: Backend) -> None:
    data = os.urandom(300_000)
    form = backend.storage.presign_post(
        "listings/a/1/u/patch.fxp", "application/octet-stream", MiB, timedelta(minutes=5)
    )
    r = await post_form(backend.http, form, data)
    assert r.status_code in (200, 204), r.text
    info = await backend.storage.stat("listings/a/1/u/patch.fxp")
    assert info is not None and info.size == len(data)
    assert await backend.storage.read_head("listings/a/1/u/patch.fxp", 4) == data[:4]
    assert await backend.storage.sha256("listings/a/1/u/patch.fxp") == hashlib.sha256(data).hexdigest()

    url = backend.storage.presign_get("listings/a/1/u/patch.fxp", "Mein Patch ü.fxp", timedelta(minutes=5))
    full = await backend.http.get(url)
    assert full.status_code == 200 and full.content == data
    disposition = full.headers["content-disposition"]
    assert "attachment" in disposition and "Mein Patch ü.fxp" in unquote(disposition)
    part = await backend.http.get(url, headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == data[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    tail = await backend.http.get(url, headers={"Range": "bytes=299990-"})
    assert tail.status_code == 206 and tail.content == data[299990:]


async def test_wrong_content_type_is_refused(backend: Backend) -> None:
    form = backend.storage.presign_post("k/img.png", "image/png", MiB, timedelta(minutes=5))
    r = await post_form(backend.http, form, b"\x89PNG....", **{"Content-Type": "text/html"})
    assert r.status_code == 403, r.text
    assert await backend.storage.stat("k/img.png") is None


async def test_one_byte_over_the_limit_is_refused(backend: Backend) -> None:
    form = backend.storage.presign_post("k/big.bin", "application/octet-stream", 1000, timedelta(minutes=5))
    r = await post_form(backend.http, form, b"x" * 1001)
    assert r.status_code in (400, 403, 422), r.text
    assert await backend.storage.stat("k/big.bin") is None
    ok = await post_form(backend.http, form, b"x" * 1000)
    assert ok.status_code in (200, 204), ok.text


async def test_key_outside_the_signed_key_is_refused(backend: Backend) -> None:
    form = backend.storage.presign_post("listings/a/1/u/ok.bin", "application/octet-stream", MiB, timedelta(minutes=5))
    for key in ("listings/b/1/u/evil.bin", "listings/a/1/u/ok.bin.extra", "../../escape.bin"):
        r = await post_form(backend.http, form, b"data", key=key)
        assert r.status_code == 403, (key, r.text)
    assert await backend.storage.list_objects() == []


async def test_expired_presign_is_refused(backend: Backend) -> None:
    form = backend.storage.presign_post("k/late.bin", "application/octet-stream", MiB, timedelta(seconds=1))
    url = backend.storage.presign_get("k/late.bin", "late.bin", timedelta(seconds=1))
    await asyncio.sleep(2.2)
    r = await post_form(backend.http, form, b"data")
    assert r.status_code == 403, r.text
    assert await backend.storage.stat("k/late.bin") is None
    assert (await backend.http.get(url)).status_code == 403


async def test_multipart_resume_after_crash_and_complete(backend: Backend) -> None:
    key = "listings/a/1/u/library.zip"
    first, second, third = os.urandom(5 * MiB), os.urandom(5 * MiB), os.urandom(200_000)
    upload_id = await backend.storage.create_multipart(key, "application/zip")
    expiry = timedelta(minutes=5)

    r = await backend.http.put(backend.storage.presign_part(key, upload_id, 1, expiry), content=first)
    assert r.status_code == 200, r.text
    # "Crash": the client forgets everything but the upload id, then asks what is stored.
    stored = await backend.storage.list_parts(key, upload_id)
    assert [(p.number, p.size) for p in stored] == [(1, len(first))]
    assert key in [u.key for u in await backend.storage.list_multipart_uploads()]

    for number, chunk in ((2, second), (3, third)):
        r = await backend.http.put(backend.storage.presign_part(key, upload_id, number, expiry), content=chunk)
        assert r.status_code == 200, r.text
    parts = await backend.storage.list_parts(key, upload_id)
    assert [p.number for p in parts] == [1, 2, 3]
    assert await backend.storage.stat(key) is None  # nothing visible before completion
    await backend.storage.complete_multipart(key, upload_id, parts)

    whole = first + second + third
    info = await backend.storage.stat(key)
    assert info is not None and info.size == len(whole)
    assert await backend.storage.sha256(key) == hashlib.sha256(whole).hexdigest()
    assert await backend.storage.list_multipart_uploads() == []


async def test_abort_drops_parts_and_tampered_part_list_fails(backend: Backend) -> None:
    key = "k/aborted.bin"
    upload_id = await backend.storage.create_multipart(key, "application/octet-stream")
    r = await backend.http.put(
        backend.storage.presign_part(key, upload_id, 1, timedelta(minutes=5)), content=b"z" * 1000
    )
    assert r.status_code == 200
    with pytest.raises(StorageError, match="Part"):
        await backend.storage.complete_multipart(key, upload_id, [PartInfo(1, "0" * 32, 1000)])
    await backend.storage.abort_multipart(key, upload_id)
    assert await backend.storage.list_multipart_uploads() == []
    await backend.storage.abort_multipart(key, upload_id)  # idempotent
