"""The outbox keeps the index equal to the database's published listings, through crashes."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.accounts.tables import User
from app.catalog.tables import Listing
from app.core.db import write_transaction
from app.jobs.tables import Job
from app.search import outbox
from app.search.sync import REINDEX_KIND, enqueue_reindex
from tests.integration.catalog.helpers import listing, upload, user
from tests.integration.search.corpus import HOSTILE
from tests.support import run_cli, test_env


async def make_creator() -> User:
    user = User(
        email=f"c{uuid.uuid4().hex[:8]}@example.com",
        handle=f"c{uuid.uuid4().hex[:8]}",
        password_hash="x",
        role="creator",
        display_name="Crea Tor",
    )
    await user.save()
    return user


async def make_listing(creator: User, title: str, status: str = "published", **fields: Any) -> Listing:
    t = int(time.time())
    listing = Listing(
        creator=creator.id,
        slug=uuid.uuid4().hex[:12],
        kind="preset_bank",
        title=title,
        status=status,
        created_at=t,
        updated_at=t,
        published_at=t,
        **fields,
    )
    async with Listing._meta.db.transaction():
        await listing.save()
        await outbox.note(listing.id)
    return listing


async def publish(listing_id: uuid.UUID) -> None:
    """Publish as the catalog does: the status and its outbox row in one transaction."""
    async with write_transaction(Listing._meta.db):
        await Listing.update({Listing.status: "published"}).where(Listing.id == listing_id)
        await outbox.note(listing_id)


async def published_ids() -> set[str]:
    return {str(r["id"]) for r in await Listing.select(Listing.id).where(Listing.status == "published")}


async def test_changes_reach_search_within_seconds(app: Litestar, client: httpx.AsyncClient) -> None:
    creator = await make_creator()
    listing = await make_listing(creator, "Serum Pluck Essentials", tags='["pluck"]')
    # The in-process job worker applies the outbox; poll the public API as a visitor would.
    assert await _eventually(client, "serun pluck", lambda hits: [h["id"] for h in hits] == [str(listing.id)])
    await app.state.catalog.set_status(creator, listing.id, "unlisted")
    assert await _eventually(client, "serum pluck", lambda hits: hits == [])
    r = await client.get("/api/v1/search/", params={"q": "serum"})
    assert r.headers["cache-control"].startswith("public")


async def test_an_index_made_at_start_up_is_filled_by_one_job(app: Litestar, client: httpx.AsyncClient) -> None:
    listing = await make_listing(await make_creator(), "Glass Harp Keys")
    for _ in range(150):  # the outbox applied first: afterwards only the rebuild can bring it back
        if await outbox.pending() == 0:
            break
        await asyncio.sleep(0.1)
    backend = app.state.search.backend
    await backend.clear()  # as a Meilisearch index made empty at start-up would be
    assert await backend.ids() == set()
    for _ in range(3):  # three web workers starting together
        await enqueue_reindex()
    assert await Job.count().where(Job.kind == REINDEX_KIND) == 1
    assert await _eventually(client, "glass harp", lambda hits: [h["id"] for h in hits] == [str(listing.id)])


async def test_listings_created_and_edited_through_the_api_reach_search(client: httpx.AsyncClient) -> None:
    _, headers = await user(client, creator=True)
    item = await listing(client, headers, title="Amber Drone Textures", kind="sample_pack")
    done = await upload(client, client, headers, item["id"], b"drone bytes", name="drone.wav")
    assert done.status_code == 200, done.text
    r = await client.post(f"/api/v1/listings/{item['id']}/status", json={"status": "published"}, headers=headers)
    assert r.status_code == 200, r.text
    assert await _eventually(client, "amber drone", lambda hits: [h["id"] for h in hits] == [item["id"]])
    r = await client.get("/api/v1/search/", params={"q": "amber drone", "kind": "sample_pack"})
    assert [h["id"] for h in r.json()["hits"]] == [item["id"]]

    r = await client.patch(f"/api/v1/listings/{item['id']}", json={"title": "Cobalt Drone Textures"}, headers=headers)
    assert r.status_code == 200, r.text
    assert await _eventually(client, "cobalt drone", lambda hits: [h["id"] for h in hits] == [item["id"]])
    assert await _eventually(client, "amber", lambda hits: hits == [])


async def test_the_reindex_command_rebuilds_and_shows_progress(
    app: Litestar, client: httpx.AsyncClient, db_url: str, var_dir: Path
) -> None:
    creator = await make_creator()
    for i in range(3):
        await make_listing(creator, f"Tape Loop {i}")
    # In a thread: the app's job worker in this event loop may be mid-drain, holding the lock
    # the command waits for.
    result = await asyncio.to_thread(run_cli, ["reindex"], test_env(db_url, var_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3/3 listings" in result.stderr  # the progress bar
    assert result.stdout.startswith("reindexed 3 published listings")
    assert await app.state.search.backend.ids() == await published_ids()


async def test_a_creators_new_handle_and_name_reach_search(client: httpx.AsyncClient) -> None:
    handle, headers = await user(client, creator=True)
    creator = await User.objects().where(User.handle == handle).first()
    assert creator is not None
    listing = await make_listing(creator, "Velvet Choir Pads")
    assert await _eventually(client, "velvet choir", lambda hits: [h["creator"] for h in hits] == [handle])

    new = f"n{uuid.uuid4().hex[:8]}"
    r = await client.patch("/api/v1/account/", headers=headers, json={"handle": new, "display_name": "Quenby Ostrow"})
    assert r.status_code == 200, r.text
    # The facet, the hit and the search text all follow the profile.
    assert await _eventually(client, "quenby ostrow", lambda hits: [h["id"] for h in hits] == [str(listing.id)])
    r = await client.get("/api/v1/search/", params={"creator": new})
    assert [h["id"] for h in r.json()["hits"]] == [str(listing.id)]
    assert r.json()["hits"][0]["creator_name"] == "Quenby Ostrow"
    assert r.json()["facets"]["creator"] == {new: 1}
    r = await client.get("/api/v1/search/", params={"creator": handle})
    assert r.json()["hits"] == []


async def _eventually(client: httpx.AsyncClient, q: str, ok: Any, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = await client.get("/api/v1/search/", params={"q": q})
        assert r.status_code == 200
        if ok(r.json()["hits"]):
            return True
        await asyncio.sleep(0.2)
    return False


@pytest.mark.parametrize(
    "params",
    [
        {"bpm_min": "fast"},
        {"bpm_min": "0"},
        {"sort": "cheapest"},
        {"page": "0"},
        {"per_page": "1000"},
        {"free": "maybe"},
        {"q": "x" * 201},
        {"bpm_min": "140", "bpm_max": "100"},
        {"price_min": "-1"},
        {"tag": "bad\x00tag"},
        {"tag": "x" * 81},
        {"kind": "bogus"},
        {"kind": ["preset", "bogus"]},
    ],
)
async def test_invalid_filters_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    r = await client.get("/api/v1/search/", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_hostile_queries_through_the_api(client: httpx.AsyncClient) -> None:
    for q in HOSTILE:
        r = await client.get("/api/v1/search/", params={"q": q, "tag": q[:80] or "x"})
        assert r.status_code in (200, 422), (q, r.text)
        s = await client.get("/api/v1/search/suggest", params={"q": q[:100]})
        assert s.status_code == 200, (q, s.text)
