"""Listings as the API shows them: versions and files included as the viewer may see them."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from typing import Any

from msgspec import UNSET

from app.accounts.tables import User
from app.catalog import access
from app.catalog.schemas import FileOut, ListingOut, Price, VersionOut
from app.catalog.tables import Listing, ListingFile, ListingVersion


def json_list(value: Any) -> list[Any]:
    """A JSON list column as a list (Piccolo hands JSON columns back as text)."""
    return list(json.loads(value) if isinstance(value, str) else value or [])


def file_out(row: ListingFile, label: str) -> FileOut:
    return FileOut(
        id=row.id,
        version=label,
        name=row.original_name,
        size=row.size,
        content_type=row.content_type,
        role=row.role,
        status=row.status,
        sha256=row.sha256,
    )


async def to_listing_out(listings: list[Listing], viewer: User | None) -> list[ListingOut]:
    """Batch-load creators, versions and files (three queries, whatever the count)."""
    if not listings:
        return []
    ids = [x.id for x in listings]
    creators = {u.id: u.handle for u in await User.objects().where(User.id.is_in([x.creator for x in listings]))}
    versions: dict[uuid.UUID, list[ListingVersion]] = defaultdict(list)
    for v in (
        await ListingVersion.objects().where(ListingVersion.listing.is_in(ids)).order_by(ListingVersion.created_at)
    ):
        versions[v.listing].append(v)
    files: dict[uuid.UUID, list[ListingFile]] = defaultdict(list)
    for f in await ListingFile.objects().where(ListingFile.listing.is_in(ids)).order_by(ListingFile.created_at):
        files[f.version].append(f)
    out = []
    for x in listings:
        manager = access.is_manager(viewer, x)
        shown = []
        for v in versions[x.id]:
            if not (manager or v.published):
                continue
            # Others see only files that passed verification; the creator also sees rejections.
            rows = [f for f in files[v.id] if manager or f.status == "ready"]
            shown.append(VersionOut(id=v.id, label=v.label, changelog=v.changelog, published=v.published,
                                    files=[file_out(f, v.label) for f in rows]))  # fmt: skip
        out.append(
            ListingOut(
                id=x.id,
                creator=creators.get(x.creator, ""),
                slug=x.slug,
                kind=x.kind,
                title=x.title,
                description_html=x.description_html,
                description_md=x.description_md if manager else UNSET,
                tags=json_list(x.tags),
                genre=x.genre,
                synth=x.synth,
                synth_versions=json_list(x.synth_versions),
                daw=x.daw,
                formats=json_list(x.formats),
                bpm=x.bpm,
                musical_key=x.musical_key,
                license=x.license,
                price=Price(kind=x.price_kind, amount=x.price_amount, currency=x.currency, pwyw_minimum=x.pwyw_minimum),  # type: ignore[arg-type]
                status=x.status,
                free_requires_login=x.free_requires_login,
                cover_file=x.cover_file,
                demo_file=x.demo_file,
                versions=shown,
            )
        )
    return out
