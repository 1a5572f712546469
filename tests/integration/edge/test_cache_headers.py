"""Through the real nginx: public search, storefront and listing GETs are cached on the second
hit; a signed-in viewer's answers (drafts included) are never stored nor served from the cache."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from dataclasses import dataclass

import httpx
import pytest

from tests.integration.catalog.helpers import listing, upload, user
from tests.integration.edge.conftest import Edge
from tests.integration.edge.test_edge import assert_security_headers


@dataclass
class Shop:
    handle: str
    owner: dict[str, str]
    published: str
    draft: str


async def open_shop(edge: Edge) -> Shop:
    """A creator with a published and a draft listing, set up on the app's own port (so nginx's
    auth rate limit is not spent on it); the file goes to MinIO through nginx's /s3/, as a browser's."""
    async with httpx.AsyncClient(base_url=edge.app.url, timeout=30) as app, httpx.AsyncClient(timeout=30) as store:
        handle, owner = await user(app, creator=True)
        published = await listing(app, owner, title="Cached Keys")
        assert (await upload(app, store, owner, published["id"], os.urandom(2000))).status_code == 200
        r = await app.post(f"/api/v1/listings/{published['id']}/status", json={"status": "published"}, headers=owner)
        assert r.status_code == 200, r.text
        draft = await listing(app, owner, title="Secret Draft")
        return Shop(handle, owner, published["id"], draft["id"])


@pytest.fixture(scope="module")
def shop(edge: Edge) -> Shop:
    # Its own event loop: the tests' loops last one test each, the shop the whole module.
    return asyncio.run(open_shop(edge))


def twice(url: str) -> tuple[httpx.Response, httpx.Response]:
    return httpx.get(url), httpx.get(url)


def assert_public_and_cached(first: httpx.Response, second: httpx.Response) -> None:
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert "stale-while-revalidate=" in first.headers["cache-control"]
    assert first.headers["cloudflare-cdn-cache-control"].startswith("public, max-age=")
    assert "Accept-Encoding" in first.headers["vary"]
    assert (first.headers["x-cache-status"], second.headers["x-cache-status"]) == ("MISS", "HIT")
    assert second.json() == first.json()
    assert_security_headers(second)


def assert_personal(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "private, no-store"
    assert r.headers["x-cache-status"] == "BYPASS"
    assert "cloudflare-cdn-cache-control" not in r.headers


def test_search_is_cached_at_the_edge(edge: Edge) -> None:
    assert_public_and_cached(*twice(f"{edge.url}/api/v1/search?q=keys-{uuid.uuid4().hex[:8]}"))


def test_an_anonymous_storefront_is_cached_and_the_owners_is_not(edge: Edge, shop: Shop) -> None:
    url = f"{edge.url}/api/v1/creators/{shop.handle}"
    for _ in range(2):
        mine = httpx.get(url, headers=shop.owner)
        assert_personal(mine)
        assert {item["title"] for item in mine.json()["listings"]} == {"Cached Keys", "Secret Draft"}
    first, second = twice(url)
    assert_public_and_cached(first, second)
    assert "Authorization" in first.headers["vary"]
    # The owner's answer (with the draft) was never stored: strangers get the public page.
    assert [item["title"] for item in second.json()["listings"]] == ["Cached Keys"]


def test_a_published_listing_is_cached_for_strangers_only(edge: Edge, shop: Shop) -> None:
    url = f"{edge.url}/api/v1/listings/{shop.published}"
    assert_personal(httpx.get(url, headers=shop.owner))
    first, second = twice(url)
    assert_public_and_cached(first, second)
    assert "Authorization" in first.headers["vary"]
    # A signed-in viewer goes past the stored copy to the app, which answers for them alone.
    assert_personal(httpx.get(url, headers=shop.owner))


def test_a_draft_is_never_cached(edge: Edge, shop: Shop) -> None:
    url = f"{edge.url}/api/v1/listings/{shop.draft}"
    for _ in range(2):
        assert_personal(httpx.get(url, headers=shop.owner))
        # Strangers are told nothing, and no one's copy was kept for them.
        hidden = httpx.get(url)
        assert hidden.status_code == 404 and hidden.headers["x-cache-status"] != "HIT"


def test_one_stored_copy_serves_every_accept_encoding(edge: Edge, shop: Shop) -> None:
    # Browsers send many Accept-Encoding strings; nginx gzips on the way out, so all of them
    # share the one identity copy it stored (the first asker filled it, the others hit it).
    url = f"{edge.url}/api/v1/listings/{shop.published}?probe={uuid.uuid4().hex}"
    gzip = httpx.get(url, headers={"Accept-Encoding": "gzip"})
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"})
    other = httpx.get(url, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert [r.headers["x-cache-status"] for r in (gzip, plain, other)] == ["MISS", "HIT", "HIT"]
    assert [r.headers.get("content-encoding") for r in (gzip, plain, other)] == ["gzip", None, "gzip"]
    assert gzip.json() == plain.json() == other.json()
    # Browsers and Cloudflare are still told the encoding and the credentials matter.
    for r in (plain, other):
        assert {"Accept-Encoding", "Authorization"} <= set(re.split(r",\s*", r.headers["vary"]))
