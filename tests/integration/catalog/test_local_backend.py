"""The same upload and download flows on the embedded default: files on disk, URLs signed by the app."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from tests.integration.catalog.conftest import LIMITS
from tests.integration.catalog.helpers import listing, presign, upload, user
from tests.support import test_settings

MiB = 1024 * 1024


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return test_settings(db_url, var_dir, ECHOEL_STORAGE="local", **LIMITS)


async def test_local_upload_verify_publish_and_paid_download(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient, var_dir: Path
) -> None:
    _, h = await user(client, creator=True)
    buyer_handle, buyer = await user(client)
    item = await listing(client, h, price_kind="fixed", price_amount=900)
    small = await upload(client, store_http, h, item["id"], b"preset bytes", checksum=True, name="a.fxp")
    assert small.status_code == 200, small.text
    data = os.urandom(5 * MiB + 1234)
    big = await upload(client, store_http, h, item["id"], data, name="big.bin")
    assert big.status_code == 200, big.text
    key = big.json()["key"]
    assert (var_dir / "objects" / key).read_bytes() == data
    bad = await upload(client, store_http, h, item["id"], b"x" * 99, declared=b"x" * 100)
    assert bad.status_code == 422
    assert (
        await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "published"}, headers=h)
    ).status_code == 200

    file_id = big.json()["file"]["id"]
    path = f"/api/v1/listings/{item['id']}/files/{file_id}/download"
    assert (await client.get(path, headers=buyer)).status_code == 403
    await client.post(f"/api/v1/listings/{item['id']}/grants", json={"handle": buyer_handle}, headers=h)
    link = (await client.get(path, headers=buyer)).json()["url"]
    assert link.startswith("/api/v1/storage/object?")
    part = await client.get(link, headers={"Range": "bytes=5242880-5242899"})
    assert part.status_code == 206 and part.content == data[5242880:5242900]
    beyond = await client.get(link, headers={"Range": "bytes=99999999-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(data)}"
    tail = await client.get(link, headers={"Range": "bytes=-7"})
    assert tail.status_code == 206 and tail.content == data[-7:]
    assert tail.headers["content-range"] == f"bytes {len(data) - 7}-{len(data) - 1}/{len(data)}"
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert (await client.get(tampered)).status_code == 403


async def test_local_upload_endpoint_enforces_the_signed_policy(client: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    item = await listing(client, h)
    out = (await presign(client, h, item["id"], b"x" * 100)).json()
    form = out["post"]

    async def send(data: bytes, **override: str) -> httpx.Response:
        fields = {**form["fields"], **override}
        return await client.post(form["url"], data=fields, files={"file": ("f", data, fields["Content-Type"])})

    assert (await send(b"x" * 101)).status_code == 422  # one byte over
    assert (await send(b"x" * 100, **{"Content-Type": "text/html"})).status_code == 403
    assert (await send(b"x" * 100, key="listings/elsewhere/x.bin")).status_code == 403
    unsigned = await client.post(
        form["url"].split("?")[0] + "?t=forged.sig", data=form["fields"], files={"file": ("f", b"x")}
    )
    assert unsigned.status_code == 403 and unsigned.headers["content-type"].startswith("application/problem+json")
    assert (await send(b"x" * 100)).status_code == 204
    assert (await client.post(f"/api/v1/uploads/{out['id']}/complete", headers=h)).status_code == 200
