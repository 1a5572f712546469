"""Where torrents meet the catalog: entitlements, refunds, and a published version's files.

A buyer's passkey is issued only to a user the catalog entitles (or the listing's creator);
when the catalog revokes an entitlement (refund, lost dispute, admin), the seeder's refresh
revokes the matching passkeys, so the tracker and the seeder cut the buyer off within seconds.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from app.catalog.tables import Entitlement, Listing, ListingFile, ListingVersion
from app.core import db
from app.core.errors import NotFound
from app.storage.local import LocalStorage
from app.storage.protocol import ObjectStorage
from app.torrents.packs import PackFile, PackVersion
from app.torrents.tables import Passkey, TrackerPeer


class CatalogEntitlements:
    """Entitlements as the catalog records them (bought or granted, not revoked)."""

    async def is_entitled(self, user_id: uuid.UUID, listing_id: uuid.UUID) -> bool:
        if await Listing.exists().where(Listing.id == listing_id, Listing.creator == user_id):
            return True
        return bool(
            await Entitlement.exists().where(
                Entitlement.user == user_id, Entitlement.listing == listing_id, Entitlement.revoked_at.is_null()
            )
        )


# Live passkeys whose holder has a revoked entitlement to the listing and no live one, and does
# not own it. One statement, so the seeder's refresh (every few seconds) costs what the live
# passkeys cost, not a read of every entitlement in the store.
_GONE = """
UPDATE torrent_passkeys SET revoked_at = {}
WHERE revoked_at IS NULL
  AND EXISTS (SELECT 1 FROM entitlements e WHERE e."user" = torrent_passkeys."user"
              AND e.listing = torrent_passkeys.listing_id AND e.revoked_at IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM entitlements e WHERE e."user" = torrent_passkeys."user"
                  AND e.listing = torrent_passkeys.listing_id AND e.revoked_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM listings l WHERE l.id = torrent_passkeys.listing_id
                  AND l.creator = torrent_passkeys."user")
RETURNING key
"""


async def revoke_refunded() -> int:
    """Revoke live passkeys whose holder's catalog entitlement was revoked and not granted again."""
    async with db.write_transaction(Passkey._meta.db):
        keys = [r["key"] for r in await Passkey.raw(_GONE, db.now())]
        if keys:
            await TrackerPeer.delete().where(TrackerPeer.passkey.is_in(keys))
    return len(keys)


async def pack_version(storage: ObjectStorage, version_id: uuid.UUID) -> PackVersion:
    """A published catalog version as the builder's input: its ready files and where they are.

    On the local store the files are read in place; on S3 through short-lived presigned GETs.
    """
    version = await ListingVersion.objects().where(ListingVersion.id == version_id).first()
    if version is None:
        raise NotFound("no such version")
    listing = await Listing.objects().where(Listing.id == version.listing).first()
    if listing is None:
        raise NotFound("no such listing")
    rows = await ListingFile.objects().where(
        ListingFile.version == version_id, ListingFile.role == "file", ListingFile.status == "ready"
    )
    files = []
    for row in rows:
        if isinstance(storage, LocalStorage):
            source = str(storage.path(row.object_key))
        else:
            source = storage.presign_get(row.object_key, row.original_name, timedelta(hours=1))
        files.append(PackFile(path=row.original_name, source=source, size=row.size))
    return PackVersion(
        listing_id=listing.id,
        version_id=version.id,
        name=f"{listing.slug}-{version.label}",
        files=files,
        private=listing.price_kind != "free",
    )


async def entitlement_revoked(user_id: uuid.UUID, listing_id: uuid.UUID) -> bool:
    """The catalog revoked this user's entitlement to the listing and holds no live one."""
    rows = await Entitlement.select(Entitlement.revoked_at).where(
        Entitlement.user == user_id, Entitlement.listing == listing_id
    )
    return bool(rows) and all(r["revoked_at"] is not None for r in rows)
