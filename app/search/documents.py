"""Turning listings into search documents: the database is the source of truth."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from piccolo.query.functions.aggregate import Count

from app.catalog.tables import Entitlement, Listing
from app.catalog.views import json_list
from app.search.protocol import SearchDoc

# Only these are searchable; unlisted listings are reachable by link but never found.
SEARCHABLE_STATUS = "published"
_TAG = re.compile(r"<[^>]+>")


def _list(value: Any) -> list[str]:
    return [str(v) for v in json_list(value)]


def _plain(description_html: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", description_html)).split())[:2000]


def to_doc(row: dict[str, Any], popularity: int = 0) -> SearchDoc:
    free = row["price_kind"] == "free"
    return SearchDoc(
        id=str(row["id"]),
        slug=row["slug"],
        title=row["title"],
        description=_plain(row["description_html"] or ""),
        tags=[t.lower() for t in _list(row["tags"])],
        creator=row["creator.handle"],
        creator_name=row["creator.display_name"] or row["creator.handle"],
        kind=row["kind"],
        synth=row["synth"] or "",
        synth_versions=_list(row["synth_versions"]),
        daw=row["daw"] or "",
        formats=[f.lower() for f in _list(row["formats"])],
        genre=row["genre"] or "",
        musical_key=row["musical_key"] or "",
        bpm=row["bpm"],
        price=0 if free else int(row["pwyw_minimum"] if row["price_kind"] == "pwyw" else row["price_amount"]),
        currency=row["currency"],
        is_free=free,
        popularity=popularity,
        published_at=int(row["published_at"] or row["created_at"]),
    )


_COLUMNS = (
    Listing.id,
    Listing.slug,
    Listing.title,
    Listing.description_html,
    Listing.tags,
    Listing.kind,
    Listing.synth,
    Listing.synth_versions,
    Listing.daw,
    Listing.formats,
    Listing.genre,
    Listing.musical_key,
    Listing.bpm,
    Listing.price_kind,
    Listing.price_amount,
    Listing.pwyw_minimum,
    Listing.currency,
    Listing.status,
    Listing.published_at,
    Listing.created_at,
    Listing.creator.handle,
    Listing.creator.display_name,
)


async def popularity(listing_ids: list[uuid.UUID]) -> dict[str, int]:
    """Live entitlements per listing: purchases and grants, less the refunded and revoked.

    Free listings need no entitlement to download, so their downloads do not count here.
    Whatever grants or revokes one notes the listing in the outbox, so the index follows.
    """
    if not listing_ids:
        return {}
    rows = (
        await Entitlement.select(Entitlement.listing, Count(Entitlement.id, alias="n"))
        .where(Entitlement.listing.is_in(listing_ids), Entitlement.revoked_at.is_null())
        .group_by(Entitlement.listing)
    )
    return {str(r["listing"]): int(r["n"]) for r in rows}


async def load(listing_ids: list[uuid.UUID]) -> dict[str, SearchDoc | None]:
    """The document for each id, or None where the listing is gone or not searchable."""
    found: dict[str, SearchDoc | None] = dict.fromkeys(map(str, listing_ids))
    if listing_ids:
        rows = await Listing.select(*_COLUMNS).where(Listing.id.is_in(listing_ids))
        listed = [r["id"] for r in rows if r["status"] == SEARCHABLE_STATUS]
        counts = await popularity(listed)
        for row in rows:
            key = str(row["id"])
            found[key] = to_doc(row, counts.get(key, 0)) if row["status"] == SEARCHABLE_STATUS else None
    return found


async def published_ids(batch: int = 500) -> AsyncIterator[list[uuid.UUID]]:
    """The id of every searchable listing, in pages (for reindexing; ``load`` reads the rows).

    Keyset pages (after the last id seen), not OFFSET: each page reads only its own rows.
    """
    query = Listing.status == SEARCHABLE_STATUS
    while True:
        rows = await Listing.select(Listing.id).where(query).order_by(Listing.id).limit(batch)
        if not rows:
            return
        yield [r["id"] for r in rows]
        query = (Listing.status == SEARCHABLE_STATUS) & (Listing.id > rows[-1]["id"])


async def published_listings(creator_id: uuid.UUID) -> list[uuid.UUID]:
    """The ids of a creator's searchable listings (the others are not in the index)."""
    rows = await Listing.select(Listing.id).where(Listing.creator == creator_id, Listing.status == SEARCHABLE_STATUS)
    return [r["id"] for r in rows]


async def count_published() -> int:
    return int(await Listing.count().where(Listing.status == SEARCHABLE_STATUS))


__all__ = ["count_published", "load", "popularity", "published_ids", "published_listings", "to_doc"]
