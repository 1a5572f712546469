"""Storefront dressing against real MinIO: avatar and banner uploaded straight to the store,
checked at completion, shown through a redirect; links; and what is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from app.catalog.cleanup import clean_orphans
from tests.integration.catalog.helpers import ME, send_image, user, via
from tests.integration.catalog.media import png


async def image_bytes(client: httpx.AsyncClient, store: httpx.AsyncClient, url: str) -> bytes:
    r = await client.get(url)
    assert r.status_code == 302, r.text
    assert r.headers["cache-control"] == "public, max-age=60"
    target = r.headers["location"]
    got = await via(client, store, target).get(target)
    assert got.status_code == 200
    return got.content


async def test_a_creator_dresses_the_storefront(client: httpx.AsyncClient, store_http: httpx.AsyncClient) -> None:
    storage = client._transport.app.state.storage  # type: ignore[attr-defined]
    handle, h = await user(client, creator=True)
    first, banner = png((96, 96)), png((1200, 300))

    out = await send_image(client, store_http, h, "avatar", first)
    done = await client.put(f"{ME}/images/avatar", json={"key": out["key"]}, headers=h)
    assert done.status_code == 200, done.text
    await send_image(client, store_http, h, "banner", banner)
    links = [{"label": "Bandcamp", "url": "https://ana.bandcamp.com"}, {"label": "Site", "url": "http://ana.example"}]
    assert (await client.patch(ME, json={"links": links}, headers=h)).status_code == 200

    front = (await client.get(f"/api/v1/creators/{handle}")).json()
    assert front["links"] == links
    assert front["banner_url"] is None  # uploaded but never completed: not shown
    assert await image_bytes(client, store_http, front["avatar_url"]) == first

    # A new avatar replaces the old one, under a new URL, and the old object is gone.
    second = png((128, 128))
    newer = await send_image(client, store_http, h, "avatar", second)
    assert (await client.put(f"{ME}/images/avatar", json={"key": newer["key"]}, headers=h)).status_code == 200
    again = (await client.get(f"/api/v1/creators/{handle}")).json()
    assert again["avatar_url"] != front["avatar_url"]
    assert await image_bytes(client, store_http, again["avatar_url"]) == second
    assert await storage.stat(out["key"]) is None

    removed = await client.delete(f"{ME}/images/avatar", headers=h)
    assert removed.status_code == 200 and removed.json()["avatar_url"] is None
    assert await storage.stat(newer["key"]) is None
    assert (await client.get(f"/api/v1/creators/{handle}/images/avatar")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"content_type": "text/plain", "size": 10},
        {"content_type": "image/svg+xml", "size": 10},
        {"content_type": "image/png", "size": 5 * 1024 * 1024 + 1},
        {"content_type": "image/png", "size": 0},
        {"content_type": "image/png", "size": 10, "path": "../x"},
    ],
)
async def test_image_requests_out_of_bounds_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    _, h = await user(client, creator=True)
    r = await client.post(f"{ME}/images/avatar", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_completions_that_do_not_add_up_are_refused_and_change_nothing(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    storage = client._transport.app.state.storage  # type: ignore[attr-defined]
    handle, h = await user(client, creator=True)
    _, other = await user(client, creator=True)

    # Bytes that are no image, declared as PNG: refused at completion and deleted.
    fake = await send_image(client, store_http, h, "avatar", b"<?php echo 'hi'; ?>" * 10)
    r = await client.put(f"{ME}/images/avatar", json={"key": fake["key"]}, headers=h)
    assert r.status_code == 422 and "not a PNG, JPEG or WebP" in r.json()["detail"]
    assert await storage.stat(fake["key"]) is None

    good = await send_image(client, store_http, h, "avatar", png())
    for key, status in [
        (good["key"], 422),  # someone else's key
        (good["key"].replace("avatar-", "banner-"), 422),  # another slot's
        (good["key"] + "/../../listings/x", 422),
        ("listings/anything", 422),
    ]:
        r = await client.put(f"{ME}/images/avatar", json={"key": key}, headers=other)
        assert r.status_code == status, (key, r.text)
    missing = good["key"][:-4] + "0000"
    assert (await client.put(f"{ME}/images/avatar", json={"key": missing}, headers=h)).status_code == 404
    assert (await client.put(f"{ME}/images/cover", json={"key": good["key"]}, headers=h)).status_code == 404
    front = (await client.get(f"/api/v1/creators/{handle}")).json()
    assert front["avatar_url"] is None and front["banner_url"] is None

    for links in (
        [{"label": "x", "url": "javascript:alert(1)"}],
        [{"label": "x", "url": "data:text/html,hi"}],
        [{"label": "", "url": "https://ok.example"}],
        [{"label": "x", "url": "https://ok.example"}] * 9,
    ):
        r = await client.patch(ME, json={"links": links}, headers=h)
        assert r.status_code == 422, (links, r.text)
    assert (await client.get(f"/api/v1/creators/{handle}")).json()["links"] == []

    _, member = await user(client)
    assert (
        await client.post(f"{ME}/images/avatar", json={"content_type": "image/png", "size": 9}, headers=member)
    ).status_code == 403


async def test_clean_up_removes_storefront_images_no_one_shows(
    client: httpx.AsyncClient, store_http: httpx.AsyncClient
) -> None:
    storage = client._transport.app.state.storage  # type: ignore[attr-defined]
    _, h = await user(client, creator=True)
    shown = await send_image(client, store_http, h, "avatar", png())
    assert (await client.put(f"{ME}/images/avatar", json={"key": shown["key"]}, headers=h)).status_code == 200
    abandoned = await send_image(client, store_http, h, "banner", png((300, 100)))

    await asyncio.sleep(1.1)  # store times have whole seconds: let both objects be in the past
    report = await clean_orphans(storage, min_age_seconds=0)
    assert report.objects_deleted >= 1
    assert await storage.stat(abandoned["key"]) is None
    assert await storage.stat(shown["key"]) is not None
