"""Who sees what: drafts, storefronts, free and paid downloads, grants and revocation."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

import httpx

from tests.integration.catalog.helpers import listing, upload, user, via

PROBLEM = "application/problem+json"


async def published(
    client: httpx.AsyncClient, store: httpx.AsyncClient, h: dict[str, str], data: bytes, **fields: Any
) -> tuple[dict[str, Any], str]:
    """A published listing with one file; returns the listing and the file's id."""
    item = await listing(client, h, **fields)
    done = await upload(client, store, h, item["id"], data, name="Ünïcode Bank.zip.fxb")
    assert done.status_code == 200, done.text
    r = await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "published"}, headers=h)
    assert r.status_code == 200, r.text
    return r.json(), done.json()["file"]["id"]


async def fetch(
    client: httpx.AsyncClient, store: httpx.AsyncClient, listing_id: str, file_id: str, **kw: Any
) -> httpx.Response:
    return await client.get(f"/api/v1/listings/{listing_id}/files/{file_id}/download", **kw)


async def test_drafts_are_invisible_and_publishing_needs_a_file(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    handle, h = await user(client, creator=True)
    _, other = await user(client, creator=True)
    evil = "**Bold** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> [ok](https://a.b)"
    item = await listing(client, h, description_md=evil)
    html = item["description_html"]
    assert "<strong>Bold</strong>" in html and '<a href="https://a.b" rel="noopener noreferrer nofollow">ok</a>' in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    for headers in ({}, other):
        r = await client.get(f"/api/v1/listings/{item['id']}", headers=headers)
        assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    # Someone else cannot edit it, nor learn it exists.
    assert (
        await client.patch(f"/api/v1/listings/{item['id']}", json={"title": "Mine"}, headers=other)
    ).status_code == 404
    early = await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "published"}, headers=h)
    assert early.status_code == 422
    store = (await client.get(f"/api/v1/creators/{handle}")).json()
    assert store["listings"] == []

    done = await upload(client, store_http, h, item["id"], os.urandom(500))
    assert done.status_code == 200
    pub = await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "published"}, headers=h)
    assert pub.status_code == 200 and pub.json()["versions"][0]["published"] is True
    seen = (await client.get(f"/api/v1/listings/{item['id']}")).json()
    assert seen["title"] == "Dark Serum Bass" and "description_md" not in seen
    assert [x["id"] for x in (await client.get(f"/api/v1/creators/{handle}")).json()["listings"]] == [item["id"]]
    # Published but not theirs: visible, yet editing is forbidden.
    assert (
        await client.patch(f"/api/v1/listings/{item['id']}", json={"title": "Mine"}, headers=other)
    ).status_code == 403

    # Unlisted: reachable by link, not on the storefront. Archived: gone for strangers.
    await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "unlisted"}, headers=h)
    assert (await client.get(f"/api/v1/listings/{item['id']}")).status_code == 200
    assert (await client.get(f"/api/v1/creators/{handle}")).json()["listings"] == []
    await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "archived"}, headers=h)
    assert (await client.get(f"/api/v1/listings/{item['id']}")).status_code == 404


async def test_free_download_with_original_name_and_range(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    _, h = await user(client, creator=True)
    data = os.urandom(100_000)
    item, file_id = await published(client, store_http, h, data)
    r = await fetch(client, store_http, item["id"], file_id)
    assert r.status_code == 200, r.text
    link = r.json()
    assert link["expires_in"] <= 300 and link["name"] == "Ünïcode Bank.zip.fxb"
    got = await via(client, store_http, link["url"]).get(link["url"])
    assert got.status_code == 200 and got.content == data
    assert "Ünïcode Bank.zip.fxb" in unquote(got.headers["content-disposition"])
    ranged = await via(client, store_http, link["url"]).get(link["url"], headers={"Range": "bytes=-10"})
    assert ranged.status_code == 206 and ranged.content == data[-10:]


async def test_free_download_can_require_sign_in(client: httpx.AsyncClient, store_http: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    item, file_id = await published(client, store_http, h, b"preset-data", free_requires_login=True)
    anonymous = await fetch(client, store_http, item["id"], file_id)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith(PROBLEM)
    _, member = await user(client)
    assert (await fetch(client, store_http, item["id"], file_id, headers=member)).status_code == 200


async def test_paid_files_need_a_live_entitlement(client: httpx.AsyncClient, store_http: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    buyer_handle, buyer = await user(client)
    data = os.urandom(2000)
    item, file_id = await published(client, store_http, h, data, price_kind="fixed", price_amount=1500, currency="EUR")
    assert item["price"] == {"kind": "fixed", "amount": 1500, "currency": "EUR", "pwyw_minimum": 0}
    for headers in ({}, buyer):
        denied = await fetch(client, store_http, item["id"], file_id, headers=headers)
        assert denied.status_code == 403 and "url" not in denied.json()
    # Cover and demo previews stay public; the file does not. A member cannot grant.
    assert (
        await client.post(f"/api/v1/listings/{item['id']}/grants", json={"handle": buyer_handle}, headers=buyer)
    ).status_code == 403

    grant = await client.post(f"/api/v1/listings/{item['id']}/grants", json={"handle": buyer_handle}, headers=h)
    assert grant.status_code == 201 and grant.json()["source"] == "grant"
    ok = await fetch(client, store_http, item["id"], file_id, headers=buyer)
    assert ok.status_code == 200
    assert (await via(client, store_http, ok.json()["url"]).get(ok.json()["url"])).content == data
    library = (await client.get("/api/v1/library", headers=buyer)).json()
    assert [x["listing"]["id"] for x in library] == [item["id"]]

    assert (await client.delete(f"/api/v1/listings/{item['id']}/grants/{buyer_handle}", headers=h)).status_code == 204
    assert (await fetch(client, store_http, item["id"], file_id, headers=buyer)).status_code == 403
    assert (await client.get("/api/v1/library", headers=buyer)).json() == []


async def test_new_versions_reach_owners_only_once_published(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    _, h = await user(client, creator=True)
    buyer_handle, buyer = await user(client)
    item, _ = await published(client, store_http, h, b"v1", price_kind="pwyw", pwyw_minimum=300, price_amount=500)
    await client.post(f"/api/v1/listings/{item['id']}/grants", json={"handle": buyer_handle}, headers=h)
    r = await client.post(
        f"/api/v1/listings/{item['id']}/versions", json={"label": "1.1", "changelog": "Fixes"}, headers=h
    )
    assert r.status_code == 201
    done = await upload(client, store_http, h, item["id"], b"v1.1 data", version="1.1")
    new_file = done.json()["file"]["id"]
    labels = [
        v["label"] for v in (await client.get(f"/api/v1/listings/{item['id']}", headers=buyer)).json()["versions"]
    ]
    assert labels == ["1.0"]
    assert (await fetch(client, store_http, item["id"], new_file, headers=buyer)).status_code == 404
    assert (await client.post(f"/api/v1/listings/{item['id']}/versions/1.1/publish", headers=h)).status_code == 200
    labels = [
        v["label"] for v in (await client.get(f"/api/v1/listings/{item['id']}", headers=buyer)).json()["versions"]
    ]
    assert labels == ["1.0", "1.1"]
    assert (await fetch(client, store_http, item["id"], new_file, headers=buyer)).status_code == 200


async def test_someone_elses_draft_file_is_never_served(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    _, h = await user(client, creator=True)
    _, other = await user(client, creator=True)
    item = await listing(client, h)
    done = await upload(client, store_http, h, item["id"], b"secret draft")
    file_id = done.json()["file"]["id"]
    for headers in ({}, other):
        r = await fetch(client, store_http, item["id"], file_id, headers=headers)
        assert r.status_code == 404 and "url" not in r.json()
    assert (await fetch(client, store_http, item["id"], file_id, headers=h)).status_code == 200


async def test_bad_listing_input_is_refused(client: httpx.AsyncClient) -> None:
    _, h = await user(client, creator=True)
    _, member = await user(client)
    bad = [
        {"kind": "nft", "title": "x"},
        {"kind": "preset", "title": ""},
        {"kind": "preset", "title": "x", "price_kind": "fixed", "price_amount": 0},
        {"kind": "preset", "title": "x", "price_kind": "free", "price_amount": 100},
        {"kind": "preset", "title": "x", "price_kind": "pwyw", "pwyw_minimum": 500, "price_amount": 100},
        {"kind": "preset", "title": "x", "currency": "euro"},
        # Not a currency payments can be taken in, and amounts Stripe would refuse in theirs:
        # fractional króna (ISK is whole units, 100 in Stripe's minor units), a KWD amount
        # whose last digit is not 0.
        {"kind": "preset", "title": "x", "currency": "XYZ"},
        {"kind": "preset", "title": "x", "currency": "ISK", "price_kind": "fixed", "price_amount": 12345},
        {"kind": "preset", "title": "x", "currency": "ISK", "price_kind": "pwyw", "pwyw_minimum": 150},
        {"kind": "preset", "title": "x", "currency": "KWD", "price_kind": "fixed", "price_amount": 1005},
        {"kind": "preset", "title": "x", "price_amount": 1.5},
        {"kind": "preset", "title": "x", "slug": "Bad Slug"},
        {"kind": "preset", "title": "x", "bpm": 5000},
        {"kind": "preset", "title": "x", "owner": "me"},
    ]
    for body in bad:
        r = await client.post("/api/v1/listings", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    assert (
        await client.post("/api/v1/listings", json={"kind": "preset", "title": "x"}, headers=member)
    ).status_code == 403
    same = await listing(client, h, slug="same", currency="ISK", price_kind="fixed", price_amount=150000)
    dup = await client.post("/api/v1/listings", json={"kind": "preset", "title": "y", "slug": "same"}, headers=h)
    assert dup.status_code == 409
    for change in ({"currency": "XYZ"}, {"price_amount": 150050}, {"currency": "KWD", "price_amount": 150005}):
        r = await client.patch(f"/api/v1/listings/{same['id']}", json=change, headers=h)
        assert r.status_code == 422, (change, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    kept = (await client.get(f"/api/v1/listings/{same['id']}", headers=h)).json()
    assert (kept["price"]["currency"], kept["price"]["amount"]) == ("ISK", 150000)
    assert (await client.get("/api/v1/listings/not-a-uuid")).status_code in (400, 404)
    assert (await client.get("/api/v1/creators/nobody-here")).status_code == 404
    assert len((await client.get("/api/v1/listings", headers=h)).json()) == 1
