"""Helpers for catalog tests: users, listings and uploads through the public API."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import httpx

from tests.integration.accounts.helpers import bearer, login, signup


async def user(client: httpx.AsyncClient, *, creator: bool = False) -> tuple[str, dict[str, str]]:
    """A new account's handle and auth headers; ``creator`` opens its storefront."""
    ident = await signup(client)
    headers = bearer((await login(client, ident))["access_token"])
    if creator:
        r = await client.post("/api/v1/account/creator", headers=headers)
        assert r.status_code == 200, r.text
        headers = bearer((await login(client, ident))["access_token"])
    return ident["handle"], headers


async def listing(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"kind": "preset_bank", "title": "Dark Serum Bass", **fields}
    r = await client.post("/api/v1/listings", json=body, headers=headers)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


def via(client: httpx.AsyncClient, store: httpx.AsyncClient, url: str) -> httpx.AsyncClient:
    """The client that reaches a presigned URL: MinIO's are absolute, the local store's are paths."""
    return store if url.startswith("http") else client


async def presign(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    listing_id: str,
    data: bytes,
    *,
    name: str = "patch.fxp",
    content_type: str = "application/octet-stream",
    role: str = "file",
    version: str = "1.0",
    sha256: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "listing_id": listing_id,
        "version": version,
        "file_name": name,
        "size": len(data),
        "content_type": content_type,
        "role": role,
    }
    if sha256:
        body["sha256"] = sha256
    return await client.post("/api/v1/uploads", json=body, headers=headers)


async def upload(
    client: httpx.AsyncClient,
    store: httpx.AsyncClient,
    headers: dict[str, str],
    listing_id: str,
    data: bytes,
    *,
    declared: bytes | None = None,
    checksum: bool = False,
    **kw: Any,
) -> httpx.Response:
    """Presign, send ``data`` as the browser would, complete; returns the completion response.

    ``declared`` is what the client claims (size, checksum), when it differs from what it sends.
    """
    claim = declared if declared is not None else data
    r = await presign(
        client, headers, listing_id, claim, sha256=hashlib.sha256(claim).hexdigest() if checksum else None, **kw
    )
    assert r.status_code == 201, r.text
    out = r.json()
    if out["post"]:
        form = out["post"]
        sent = await via(client, store, form["url"]).post(
            form["url"], data=form["fields"], files={"file": ("blob", io.BytesIO(data), form["fields"]["Content-Type"])}
        )
        assert sent.status_code in (200, 204), sent.text
    else:
        size = out["part_size"]
        for part in out["parts"]:
            chunk = data[(part["number"] - 1) * size : part["number"] * size]
            sent = await via(client, store, part["url"]).put(part["url"], content=chunk)
            assert sent.status_code == 200, sent.text
    return await client.post(f"/api/v1/uploads/{out['id']}/complete", headers=headers)


ME = "/api/v1/me/storefront"


async def send_image(
    client: httpx.AsyncClient,
    store: httpx.AsyncClient,
    headers: dict[str, str],
    slot: str,
    data: bytes,
    content_type: str = "image/png",
) -> dict[str, Any]:
    """Presign and POST ``data`` to the store as the page does; returns the presign answer."""
    r = await client.post(
        f"{ME}/images/{slot}", json={"content_type": content_type, "size": len(data)}, headers=headers
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    form = out["post"]
    sent = await via(client, store, form["url"]).post(
        form["url"], data=form["fields"], files={"file": ("blob", io.BytesIO(data), content_type)}
    )
    assert sent.status_code in (200, 204), sent.text
    return out


async def dress(
    client: httpx.AsyncClient, store: httpx.AsyncClient, headers: dict[str, str], slot: str, data: bytes
) -> str:
    """Upload a PNG as the storefront's ``slot`` image and make it current; its object key."""
    out = await send_image(client, store, headers, slot, data)
    done = await client.put(f"{ME}/images/{slot}", json={"key": out["key"]}, headers=headers)
    assert done.status_code == 200, done.text
    return str(out["key"])
