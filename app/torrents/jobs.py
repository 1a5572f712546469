"""Background job: build the torrent of a published sample-pack version.

Publishing queues the build at once, in the catalog's own transaction, through the catalog's
``on_version_published`` hook (the catalog imports nothing of this domain). ``enqueue_builds``
stays as the floor: it finds published sample-pack versions without a torrent and queues one
build each (deduplicated by version, so both paths queue one job); the seeder's refresh calls
it, which catches versions published before this hook existed or by direct database writes.
"""

from __future__ import annotations

import uuid

from app.catalog.hooks import on_version_published
from app.catalog.tables import Listing, ListingVersion
from app.jobs import JobContext, enqueue, register
from app.storage import make_storage
from app.torrents.services import TorrentService
from app.torrents.tables import Torrent

BUILD_KIND = "torrents.build"


@register(BUILD_KIND, max_attempts=3)
async def build_torrent(ctx: JobContext) -> None:
    state = ctx.state
    service: TorrentService = state.torrents
    storage = getattr(state, "storage", None) or make_storage(service.settings)
    await service.publish_catalog_version(storage, uuid.UUID(ctx.payload["version_id"]))


async def _queue_build(version_id: uuid.UUID) -> int:
    return await enqueue(BUILD_KIND, {"version_id": str(version_id)}, dedupe_key=f"{BUILD_KIND}:{version_id}")


@on_version_published
async def build_when_published(listing: Listing, version_id: uuid.UUID) -> None:
    """Queue the build of a public sample pack's newly published version (same transaction)."""
    if listing.kind == "sample_pack" and listing.status == "published":
        await _queue_build(version_id)


async def enqueue_builds() -> int:
    """Queue a build for each published sample-pack version that has no torrent yet."""
    packs = await Listing.select(Listing.id).where(Listing.kind == "sample_pack", Listing.status == "published")
    if not packs:
        return 0
    versions = await ListingVersion.select(ListingVersion.id).where(
        ListingVersion.listing.is_in([p["id"] for p in packs]),
        ListingVersion.published == True,  # noqa: E712 - Piccolo query
    )
    built = {r["version_id"] for r in await Torrent.select(Torrent.version_id)}
    count = 0
    for row in versions:
        if row["id"] not in built:
            await _queue_build(row["id"])
            count += 1
    return count
