"""Meilisearch down (a closed port): the database engine answers and keeps taking every change."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.accounts.tables import User
from app.core.settings import Settings
from app.search import outbox
from app.search.tables import SearchOutbox
from tests.integration.accounts.helpers import bearer, login, signup
from tests.integration.search.test_sync import make_creator, make_listing, publish
from tests.services.binaries import free_port
from tests.support import test_settings


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    # Nothing listens on a port just freed: every Meilisearch call is refused, as in an outage.
    return test_settings(db_url, var_dir, ECHOEL_SEARCH="meili", ECHOEL_MEILI_URL=f"http://127.0.0.1:{free_port()}")


async def _search_until(client: httpx.AsyncClient, q: str, ok: Any, seconds: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        r = await client.get("/api/v1/search/", params={"q": q})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if ok(body["hits"]) or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.2)


async def test_database_engine_answers_and_converges_while_meilisearch_is_down(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    await app.state.search.backend.fallback.clear()  # the session's database holds earlier tests' index
    creator = await make_creator()
    listing = await make_listing(creator, "Serum Pluck Essentials", status="draft")
    await publish(listing.id)

    body = await _search_until(client, "serun pluck", lambda hits: [h["id"] for h in hits] == [str(listing.id)])
    assert [h["id"] for h in body["hits"]] == [str(listing.id)]
    assert body["engine"] in ("sqlite", "postgres")

    await app.state.catalog.set_status(creator, listing.id, "unlisted")
    body = await _search_until(client, "serum pluck", lambda hits: hits == [])
    assert body["hits"] == []

    # Meilisearch still owes both changes: kept for it alone, the database engine has them.
    owed = await SearchOutbox.select(SearchOutbox.target)
    assert owed and {r["target"] for r in owed} == {outbox.MEILI_ONLY}

    ident = await signup(client)
    await User.update({User.role: "admin"}).where(User.handle == ident["handle"])
    token = (await login(client, ident))["access_token"]
    r = await client.get("/api/v1/admin/search/status", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["documents"] == 0 and r.json()["published"] == 0
    assert r.json()["outbox_pending"] == len(owed)
