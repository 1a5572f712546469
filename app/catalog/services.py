"""Catalog rules: listings, versions, status changes, grants, storefronts, library, downloads."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import timedelta
from typing import Any

import msgspec
from msgspec import UNSET

from app.accounts.tables import User
from app.catalog import access, derived, hooks
from app.catalog.render import render_markdown
from app.catalog.schemas import (
    DownloadOut,
    EntitlementOut,
    ListingCreate,
    ListingOut,
    ListingUpdate,
    MediaOut,
    PackEntry,
    Thumbnail,
    VersionCreate,
)
from app.catalog.tables import Entitlement, Listing, ListingFile, ListingVersion
from app.catalog.views import to_listing_out
from app.core.db import now, write_transaction
from app.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from app.core.settings import Settings
from app.ops import webhooks
from app.payments import money
from app.search import outbox as search_outbox
from app.storage import ObjectStorage

LISTING_NOT_FOUND = "No such listing."


def slugify(title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:80] or "listing"


def _check_price(kind: str, amount: int, minimum: int, currency: str) -> None:
    money.check_currency(currency)
    money.check_amount(amount, currency, "price_amount")
    money.check_amount(minimum, currency, "pwyw_minimum")
    if kind == "free" and (amount or minimum):
        raise InvalidInput("A free listing has no price.", field="price_amount")
    if kind == "fixed" and amount < 1:
        raise InvalidInput("A fixed price must be at least 1 minor unit.", field="price_amount")
    if kind == "pwyw" and amount and amount < minimum:
        raise InvalidInput("The suggested price cannot be below the minimum.", field="price_amount")


class CatalogService:
    def __init__(self, settings: Settings, storage: ObjectStorage) -> None:
        self.settings, self.storage = settings, storage

    # --- finding ----------------------------------------------------------------------------

    async def _get(self, listing_id: uuid.UUID) -> Listing:
        listing = await Listing.objects().where(Listing.id == listing_id).first()
        if listing is None:
            raise NotFound(LISTING_NOT_FOUND)
        return listing

    async def get_visible(self, listing_id: uuid.UUID, user: User | None) -> Listing:
        """The listing if ``user`` may see it; 404 otherwise (a draft's existence is not told)."""
        listing = await self._get(listing_id)
        if not await access.can_view(user, listing):
            raise NotFound(LISTING_NOT_FOUND)
        return listing

    async def get_managed(self, listing_id: uuid.UUID, user: User) -> Listing:
        """The listing if ``user`` manages it: 403 if they can see it but not manage it, else 404."""
        listing = await self.get_visible(listing_id, user)
        if not access.is_manager(user, listing):
            raise Forbidden("Only the listing's creator can change it.")
        return listing

    async def version(self, listing: Listing, label: str) -> ListingVersion:
        version = (
            await ListingVersion.objects()
            .where(ListingVersion.listing == listing.id, ListingVersion.label == label)
            .first()
        )
        if version is None:
            raise NotFound(f"The listing has no version {label!r}.", field="version")
        return version

    # --- creating and editing ---------------------------------------------------------------

    async def create(self, user: User, data: ListingCreate) -> ListingOut:
        currency = self.settings.currency if data.currency is UNSET else data.currency
        _check_price(data.price_kind, data.price_amount, data.pwyw_minimum, currency)
        slug = data.slug or slugify(data.title)
        if await Listing.exists().where(Listing.creator == user.id, Listing.slug == slug):
            raise Conflict("You already have a listing with that slug.", field="slug")
        fields = msgspec.structs.asdict(data)
        version_label = fields.pop("version")
        fields.update(slug=slug, currency=currency, description_html=render_markdown(data.description_md))
        t = now()
        listing = Listing(creator=user.id, created_at=t, updated_at=t, **fields)
        async with write_transaction(Listing._meta.db):
            await listing.save()
            await ListingVersion(listing=listing.id, label=version_label, created_at=t).save()
            await search_outbox.note(listing.id)
        return await self.out(listing, user)

    async def update(self, user: User, listing_id: uuid.UUID, data: ListingUpdate) -> ListingOut:
        listing = await self.get_managed(listing_id, user)
        changes: dict[str, Any] = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not UNSET}
        if not changes:
            return await self.out(listing, user)
        price = ("price_kind", "price_amount", "pwyw_minimum", "currency")
        _check_price(*(changes.get(k, getattr(listing, k)) for k in price))
        slug = changes.get("slug")
        if slug and slug != listing.slug:
            taken = await Listing.exists().where(
                Listing.creator == listing.creator, Listing.slug == slug, Listing.id != listing.id
            )
            if taken:
                raise Conflict("You already have a listing with that slug.", field="slug")
        if "description_md" in changes:
            changes["description_html"] = render_markdown(changes["description_md"])
        for key, value in changes.items():
            setattr(listing, key, value)
        listing.updated_at = now()
        async with write_transaction(Listing._meta.db):
            await listing.save()
            await search_outbox.note(listing.id)
        return await self.out(listing, user)

    async def set_status(self, user: User, listing_id: uuid.UUID, status: str) -> ListingOut:
        listing = await self.get_managed(listing_id, user)
        if status in access.VISIBLE_TO_ALL and listing.status not in access.VISIBLE_TO_ALL:
            ready = await ListingFile.exists().where(
                ListingFile.listing == listing.id, ListingFile.role == "file", ListingFile.status == "ready"
            )
            if not ready:
                raise InvalidInput("Upload at least one file before publishing.", field="status")
            if not await ListingVersion.exists().where(
                ListingVersion.listing == listing.id,
                ListingVersion.published == True,  # noqa: E712 - Piccolo query
            ):
                first = await ListingVersion.objects().where(ListingVersion.listing == listing.id).first()
                if first is not None:
                    await ListingVersion.update({ListingVersion.published: True}).where(ListingVersion.id == first.id)
            listing.published_at = listing.published_at or now()
        announce = status == "published" and listing.status != "published"
        listing.status = status
        listing.updated_at = now()
        # The search outbox row and the webhook commit with the status change (unpublishing
        # leaves search; the webhook's event id is the listing's, so it is announced once).
        async with write_transaction(Listing._meta.db):
            await listing.save()
            await search_outbox.note(listing.id)
            if announce:
                await self._announce(listing, user)
                await hooks.version_published(listing, await _published_versions(listing.id))
        return await self.out(listing, user)

    async def _announce(self, listing: Listing, actor: User) -> None:
        creator = (
            actor if actor.id == listing.creator else await User.objects().where(User.id == listing.creator).first()
        )
        data = {
            "title": listing.title,
            "url": f"{self.settings.public_url.rstrip('/')}/listing.html?id={listing.id}",
            "creator": f"@{creator.handle}" if creator else "",
            "kind": listing.kind.replace("_", " "),
        }
        await webhooks.emit(self.settings, "listing.published", data, event_id=f"listing:{listing.id}")

    async def add_version(self, user: User, listing_id: uuid.UUID, data: VersionCreate) -> ListingOut:
        listing = await self.get_managed(listing_id, user)
        if await ListingVersion.exists().where(
            ListingVersion.listing == listing.id, ListingVersion.label == data.label
        ):
            raise Conflict("That version already exists.", field="label")
        await ListingVersion(listing=listing.id, label=data.label, changelog=data.changelog, created_at=now()).save()
        return await self.out(listing, user)

    async def publish_version(self, user: User, listing_id: uuid.UUID, label: str) -> ListingOut:
        """Owners of the listing see the version (and can fetch its files) from now on."""
        listing = await self.get_managed(listing_id, user)
        version = await self.version(listing, label)
        if not await ListingFile.exists().where(ListingFile.version == version.id, ListingFile.status == "ready"):
            raise InvalidInput("A version needs at least one file before it is published.", field="label")
        # Hooks (a sample pack's torrent build) are queued iff the version is out.
        async with write_transaction(Listing._meta.db):
            await ListingVersion.update({ListingVersion.published: True}).where(ListingVersion.id == version.id)
            await hooks.version_published(listing, [version.id])
        return await self.out(listing, user)

    # --- reading ----------------------------------------------------------------------------

    async def out(self, listing: Listing, viewer: User | None) -> ListingOut:
        return (await to_listing_out([listing], viewer))[0]

    async def view(self, listing_id: uuid.UUID, viewer: User | None) -> ListingOut:
        return await self.out(await self.get_visible(listing_id, viewer), viewer)

    async def mine(self, user: User) -> list[ListingOut]:
        rows = await Listing.objects().where(Listing.creator == user.id).order_by(Listing.created_at, ascending=False)
        return await to_listing_out(rows, user)

    async def storefront(self, handle: str, viewer: User | None) -> tuple[User, list[ListingOut]]:
        creator = await User.objects().where(User.handle == handle.lower()).first()
        if creator is None:
            raise NotFound("No such creator.")
        query = Listing.objects().where(Listing.creator == creator.id)
        # Unlisted listings are reachable by link but never listed; the owner sees everything.
        if not (viewer is not None and (viewer.id == creator.id or viewer.role == "admin")):
            query = query.where(Listing.status == "published")
        rows = await query.order_by(Listing.published_at, ascending=False)
        return creator, await to_listing_out(rows, viewer)

    # --- entitlements -----------------------------------------------------------------------

    async def grant(self, actor: User, listing_id: uuid.UUID, handle: str) -> EntitlementOut:
        listing = await self.get_managed(listing_id, actor)
        user = await User.objects().where(User.handle == handle.lower()).first()
        if user is None:
            raise NotFound("No such user.", field="handle")
        live = (
            await Entitlement.objects()
            .where(Entitlement.user == user.id, Entitlement.listing == listing.id, Entitlement.revoked_at.is_null())
            .first()
        )
        if live is None:
            live = Entitlement(user=user.id, listing=listing.id, source="grant", granted_by=actor.id, created_at=now())
            # Live entitlements are the listing's popularity in search: the outbox row commits with it.
            async with write_transaction(Listing._meta.db):
                await live.save()
                await search_outbox.note(listing.id)
        return EntitlementOut(id=live.id, listing_id=listing.id, user=user.handle, source=live.source, revoked=False)

    async def revoke(self, actor: User, listing_id: uuid.UUID, handle: str) -> None:
        listing = await self.get_managed(listing_id, actor)
        user = await User.objects().where(User.handle == handle.lower()).first()
        if user is None:
            raise NotFound("No such user.", field="handle")
        async with write_transaction(Listing._meta.db):
            await Entitlement.update({Entitlement.revoked_at: now()}).where(
                Entitlement.user == user.id, Entitlement.listing == listing.id, Entitlement.revoked_at.is_null()
            )
            await search_outbox.note(listing.id)

    async def library(self, user: User) -> list[tuple[ListingOut, str]]:
        rows = await Entitlement.objects().where(Entitlement.user == user.id, Entitlement.revoked_at.is_null())
        by_listing = {r.listing: r.source for r in rows}
        listings = await Listing.objects().where(Listing.id.is_in(list(by_listing) or [uuid.uuid4()]))
        outs = await to_listing_out(listings, user)
        return [(o, by_listing[o.id]) for o in outs]

    # --- downloads --------------------------------------------------------------------------

    async def _shown_file(self, viewer: User | None, listing: Listing, file_id: uuid.UUID) -> ListingFile:
        """A ready file of ``listing`` that ``viewer`` may see: files of unpublished versions only
        for the listing's managers (covers and demos are part of the page whatever the version)."""
        row = await ListingFile.objects().where(ListingFile.id == file_id, ListingFile.listing == listing.id).first()
        if row is None or row.status != "ready":
            raise NotFound("No such file.")
        if row.role == "file" and not access.is_manager(viewer, listing):
            version = await ListingVersion.objects().where(ListingVersion.id == row.version).first()
            if version is None or not version.published:
                raise NotFound("No such file.")
        return row

    async def media(self, viewer: User | None, listing_id: uuid.UUID, file_id: uuid.UUID) -> MediaOut:
        """What processing derived from a file, for the listing page; 404 until it is done."""
        listing = await self.get_visible(listing_id, viewer)
        row = await self._shown_file(viewer, listing, file_id)
        manifest = await derived.read_manifest(self.storage, row.id)
        if manifest is None or "refused" in manifest:
            raise NotFound("Nothing derived from this file yet: it is still being processed.")
        expires = timedelta(seconds=self.settings.download_url_seconds)
        # Thumbnails and previews are part of the public page, like the cover and demo themselves.
        thumbs = [
            Thumbnail(
                width=t["width"], height=t["height"], url=self.storage.presign_get(t["key"], "cover.webp", expires)
            )
            for t in manifest.get("thumbnails", [])
        ]
        preview = manifest.get("preview")
        return MediaOut(
            duration=manifest.get("duration"),
            peaks=manifest.get("peaks", []),
            preview_url=self.storage.presign_get(preview["key"], "preview.m4a", expires) if preview else None,
            thumbnails=thumbs,
            contents=[PackEntry(name=f["name"], size=f["size"]) for f in manifest.get("files", [])],
        )

    async def download(self, viewer: User | None, listing_id: uuid.UUID, file_id: uuid.UUID) -> DownloadOut:
        listing = await self.get_visible(listing_id, viewer)
        row = await self._shown_file(viewer, listing, file_id)
        allowed, why = await access.can_download(viewer, listing, row.role)
        if not allowed:
            raise Unauthorized(why) if viewer is None and listing.price_kind == "free" else Forbidden(why)
        seconds = self.settings.download_url_seconds
        url = self.storage.presign_get(row.object_key, row.original_name, timedelta(seconds=seconds))
        return DownloadOut(url=url, expires_in=seconds, name=row.original_name, size=row.size)


async def _published_versions(listing_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await ListingVersion.select(ListingVersion.id).where(
        ListingVersion.listing == listing_id,
        ListingVersion.published == True,  # noqa: E712 - Piccolo query
    )
    return [r["id"] for r in rows]
