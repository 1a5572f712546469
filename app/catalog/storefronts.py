"""Storefront dressing: a creator's avatar and banner (uploaded straight to the store) and links.

Images follow the listing files' path: a presigned form POST bound to a server-chosen key under
``storefronts/<user id>/``, then a completion that checks the bytes decode as an image before
the key is recorded. Pages show them through a stable app URL that redirects to a short-lived
signed GET, so the page can be cached while the store stays private.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import timedelta

from app.accounts.tables import User
from app.catalog.schemas import Dressing, ImageUploadCreate, ImageUploadOut, PostUpload, StorefrontLink
from app.catalog.tables import StorefrontDressing
from app.catalog.verify import IMAGE_TYPES, Rejected, check_image
from app.catalog.views import json_list
from app.core.db import now
from app.core.errors import InvalidInput, NotFound
from app.storage import ObjectStorage

PREFIX = "storefronts/"
MAX_BYTES = {"avatar": 5 * 1024 * 1024, "banner": 10 * 1024 * 1024}
POST_SECONDS = 15 * 60
# The redirect is cached for less than the signed URL lives.
IMAGE_URL_SECONDS = 300
IMAGE_CACHE_SECONDS = 60


def _slot(slot: str) -> str:
    if slot not in MAX_BYTES:
        raise NotFound("A storefront has an avatar and a banner, nothing else.", field="slot")
    return slot


class StorefrontService:
    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage

    async def _row(self, user_id: uuid.UUID) -> StorefrontDressing:
        row = await StorefrontDressing.objects().where(StorefrontDressing.user == user_id).first()
        return row if row is not None else StorefrontDressing(user=user_id, links="[]")

    async def dressing(self, user: User) -> Dressing:
        return _out(user.handle, await self._row(user.id))

    async def set_links(self, user: User, links: list[StorefrontLink]) -> Dressing:
        row = await self._row(user.id)
        row.links = json.dumps([{"label": link.label, "url": link.url} for link in links])
        row.updated_at = now()
        await row.save()
        return _out(user.handle, row)

    def presign(self, user: User, slot: str, data: ImageUploadCreate) -> ImageUploadOut:
        limit = MAX_BYTES[_slot(slot)]
        if data.content_type not in IMAGE_TYPES:
            raise InvalidInput("Upload a PNG, JPEG or WebP image.", field="content_type")
        if data.size > limit:
            raise InvalidInput(f"The {slot} may be at most {limit // 2**20} MB; this one is larger.", field="size")
        key = f"{PREFIX}{user.id}/{slot}-{secrets.token_hex(8)}"
        form = self.storage.presign_post(key, data.content_type, limit, timedelta(seconds=POST_SECONDS))
        return ImageUploadOut(key=key, post=PostUpload(url=form.url, fields=form.fields), max_size=limit)

    async def complete(self, user: User, slot: str, key: str) -> Dressing:
        limit = MAX_BYTES[_slot(slot)]
        prefix = f"{PREFIX}{user.id}/{slot}-"
        name = key.removeprefix(prefix)
        if name == key or not name.isalnum():
            raise InvalidInput(f"This key was not handed out for your {slot}: ask for a new upload.", field="key")
        info = await self.storage.stat(key)
        if info is None:
            raise NotFound(f"Nothing was uploaded for this {slot} yet: upload the image, then complete.", field="key")
        try:
            if info.size > limit:
                raise Rejected(f"The {slot} may be at most {limit // 2**20} MB.")
            await check_image(self.storage, key, info.size, slot)
        except Rejected as exc:
            await self.storage.delete(key)
            raise InvalidInput(str(exc), field="key") from None
        row = await self._row(user.id)
        old = getattr(row, f"{slot}_key")
        setattr(row, f"{slot}_key", key)
        row.updated_at = now()
        await row.save()
        if old and old != key:
            # After the row moved on: a crash here leaves an orphan the clean-up removes.
            await self.storage.delete(old)
        return _out(user.handle, row)

    async def remove(self, user: User, slot: str) -> Dressing:
        row = await self._row(user.id)
        name = f"{_slot(slot)}_key"
        old = getattr(row, name)
        setattr(row, name, "")
        row.updated_at = now()
        await row.save()
        if old:
            await self.storage.delete(old)
        return _out(user.handle, row)

    async def of(self, creator: User) -> Dressing:
        return _out(creator.handle, await self._row(creator.id))

    async def image_url(self, handle: str, slot: str) -> str:
        """A short-lived signed URL of a creator's avatar or banner."""
        _slot(slot)
        creator = await User.objects().where(User.handle == handle.lower()).first()
        row = await self._row(creator.id) if creator is not None else None
        key = getattr(row, f"{slot}_key") if row is not None else ""
        if creator is None or not key:
            raise NotFound(f"This creator has no {slot}.")
        return self.storage.presign_get(key, f"{creator.handle}-{slot}", timedelta(seconds=IMAGE_URL_SECONDS))


def _out(handle: str, row: StorefrontDressing) -> Dressing:
    def url(slot: str, key: str) -> str | None:
        # The key's random tail versions the URL: a new image is a new URL, past any cache.
        return f"/api/v1/creators/{handle}/images/{slot}?v={key.rsplit('-', 1)[-1]}" if key else None

    return Dressing(
        avatar_url=url("avatar", row.avatar_key),
        banner_url=url("banner", row.banner_key),
        links=[StorefrontLink(label=x["label"], url=x["url"]) for x in json_list(row.links)],
    )
