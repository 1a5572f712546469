"""HTTP for the catalog: listings, uploads, storefronts, the buyer's library. Translation only."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.accounts.auth import requires_role, user_for_token
from app.accounts.tables import User
from app.catalog.schemas import (
    DownloadOut,
    Dressing,
    DressingEdit,
    EntitlementOut,
    GrantCreate,
    ImageComplete,
    ImageUploadCreate,
    ImageUploadOut,
    LibraryItem,
    ListingCreate,
    ListingOut,
    ListingUpdate,
    MediaOut,
    StatusChange,
    Storefront,
    UploadCreate,
    UploadOut,
    UploadParts,
    VersionCreate,
)
from app.catalog.services import CatalogService
from app.catalog.storefronts import IMAGE_CACHE_SECONDS, StorefrontService
from app.catalog.uploads import UploadService
from app.core.http import NO_STORE, cache_for_viewer, public_cache

PUBLIC = {"public": True}
# Anonymous views of a listing or storefront: briefly at browsers and nginx, longer at Cloudflare
# (an edit shows within minutes). Vary: Authorization keeps caches that honour Vary from handing
# the anonymous copy to a signed-in viewer (nginx also bypasses its cache for them).
LISTING_CACHE = public_cache(30, swr=300, cdn_max_age=120, vary=("Authorization",))
STOREFRONT_CACHE = public_cache(30, swr=60, cdn_max_age=120, vary=("Authorization",))


def provide_catalog(request: Request[Any, Any, Any]) -> CatalogService:
    service: CatalogService = request.app.state.catalog
    return service


def provide_uploads(request: Request[Any, Any, Any]) -> UploadService:
    service: UploadService = request.app.state.uploads
    return service


def provide_storefronts(request: Request[Any, Any, Any]) -> StorefrontService:
    service: StorefrontService = request.app.state.storefronts
    return service


async def optional_user(request: Request[Any, Any, Any]) -> User | None:
    """The signed-in user on a public route (which the auth middleware skips), or None.

    A missing or invalid token means anonymous: public routes never fail on a stale token.
    """
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return None
    return await user_for_token(request.app.state.accounts.jwt, header[7:].strip(), request)


DEPS = {
    "catalog": Provide(provide_catalog, sync_to_thread=False),
    "uploads": Provide(provide_uploads, sync_to_thread=False),
    "storefronts": Provide(provide_storefronts, sync_to_thread=False),
    "viewer": Provide(optional_user),
}


class ListingController(Controller):
    path = "/api/v1/listings"
    tags = ["catalog"]
    dependencies = DEPS

    @get("/", response_headers=NO_STORE)
    async def mine(
        self, request: Request[User, Any, Any], catalog: NamedDependency[CatalogService]
    ) -> list[ListingOut]:
        """The signed-in creator's own listings (the dashboard)."""
        return await catalog.mine(request.user)

    @post("/", status_code=HTTP_201_CREATED, guards=[requires_role("creator")])
    async def create(
        self, request: Request[User, Any, Any], data: JSONBody[ListingCreate], catalog: NamedDependency[CatalogService]
    ) -> ListingOut:
        return await catalog.create(request.user, data)

    @get("/{listing_id:uuid}", opt=PUBLIC)
    async def view(
        self,
        listing_id: FromPath[uuid.UUID],
        viewer: NamedDependency[User | None],
        catalog: NamedDependency[CatalogService],
    ) -> Response[ListingOut]:
        listing = await catalog.view(listing_id, viewer)
        # Published only: an unlisted listing is for those given its link, a draft for its owner.
        return Response(listing, headers=cache_for_viewer(viewer, LISTING_CACHE, shared=listing.status == "published"))

    @patch("/{listing_id:uuid}", guards=[requires_role("creator")])
    async def update(
        self,
        request: Request[User, Any, Any],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[ListingUpdate],
        catalog: NamedDependency[CatalogService],
    ) -> ListingOut:
        return await catalog.update(request.user, listing_id, data)

    @post("/{listing_id:uuid}/status", status_code=HTTP_200_OK, guards=[requires_role("creator")])
    async def set_status(
        self,
        request: Request[User, Any, Any],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[StatusChange],
        catalog: NamedDependency[CatalogService],
    ) -> ListingOut:
        """Publish, unlist, archive or return to draft."""
        return await catalog.set_status(request.user, listing_id, data.status)

    @post("/{listing_id:uuid}/versions", status_code=HTTP_201_CREATED, guards=[requires_role("creator")])
    async def add_version(
        self,
        request: Request[User, Any, Any],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[VersionCreate],
        catalog: NamedDependency[CatalogService],
    ) -> ListingOut:
        return await catalog.add_version(request.user, listing_id, data)

    @post("/{listing_id:uuid}/versions/{label:str}/publish", status_code=HTTP_200_OK, guards=[requires_role("creator")])
    async def publish_version(
        self,
        request: Request[User, Any, Any],
        listing_id: FromPath[uuid.UUID],
        label: FromPath[str],
        catalog: NamedDependency[CatalogService],
    ) -> ListingOut:
        return await catalog.publish_version(request.user, listing_id, label)

    @get("/{listing_id:uuid}/files/{file_id:uuid}/media", opt=PUBLIC, response_headers=NO_STORE)
    async def media(
        self,
        listing_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
        viewer: NamedDependency[User | None],
        catalog: NamedDependency[CatalogService],
    ) -> MediaOut:
        """A cover's thumbnails, a demo's waveform peaks and preview, a pack's contents."""
        return await catalog.media(viewer, listing_id, file_id)

    @get("/{listing_id:uuid}/files/{file_id:uuid}/download", opt=PUBLIC, response_headers=NO_STORE)
    async def download(
        self,
        listing_id: FromPath[uuid.UUID],
        file_id: FromPath[uuid.UUID],
        viewer: NamedDependency[User | None],
        catalog: NamedDependency[CatalogService],
    ) -> DownloadOut:
        """A short-lived URL for the file, named as uploaded; the bytes come from the store."""
        return await catalog.download(viewer, listing_id, file_id)

    @post("/{listing_id:uuid}/grants", status_code=HTTP_201_CREATED, guards=[requires_role("creator")])
    async def grant(
        self,
        request: Request[User, Any, Any],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[GrantCreate],
        catalog: NamedDependency[CatalogService],
    ) -> EntitlementOut:
        return await catalog.grant(request.user, listing_id, data.handle)

    @delete(
        "/{listing_id:uuid}/grants/{handle:str}", status_code=HTTP_204_NO_CONTENT, guards=[requires_role("creator")]
    )
    async def revoke(
        self,
        request: Request[User, Any, Any],
        listing_id: FromPath[uuid.UUID],
        handle: FromPath[str],
        catalog: NamedDependency[CatalogService],
    ) -> None:
        await catalog.revoke(request.user, listing_id, handle)


class UploadController(Controller):
    path = "/api/v1/uploads"
    tags = ["uploads"]
    guards = [requires_role("creator")]
    dependencies = DEPS

    @post("/", status_code=HTTP_201_CREATED, response_headers=NO_STORE)
    async def create(
        self, request: Request[User, Any, Any], data: JSONBody[UploadCreate], uploads: NamedDependency[UploadService]
    ) -> UploadOut:
        """Presign an upload: a form POST for small files, multipart part URLs for large ones."""
        return await uploads.create(request.user, data)

    @get("/{upload_id:uuid}/parts", response_headers=NO_STORE)
    async def parts(
        self, request: Request[User, Any, Any], upload_id: FromPath[uuid.UUID], uploads: NamedDependency[UploadService]
    ) -> UploadParts:
        return await uploads.parts(request.user, upload_id)

    @post("/{upload_id:uuid}/complete", status_code=HTTP_200_OK)
    async def complete(
        self, request: Request[User, Any, Any], upload_id: FromPath[uuid.UUID], uploads: NamedDependency[UploadService]
    ) -> UploadOut:
        return await uploads.complete(request.user, upload_id)

    @delete("/{upload_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def abort(
        self, request: Request[User, Any, Any], upload_id: FromPath[uuid.UUID], uploads: NamedDependency[UploadService]
    ) -> None:
        await uploads.abort(request.user, upload_id)


class StorefrontController(Controller):
    path = "/api/v1/creators"
    tags = ["catalog"]
    dependencies = DEPS
    opt = PUBLIC

    @get("/{handle:str}")
    async def storefront(
        self,
        handle: FromPath[str],
        viewer: NamedDependency[User | None],
        catalog: NamedDependency[CatalogService],
        storefronts: NamedDependency[StorefrontService],
    ) -> Response[Storefront]:
        creator, listings = await catalog.storefront(handle, viewer)
        dressing = await storefronts.of(creator)
        body = Storefront(
            handle=creator.handle,
            display_name=creator.display_name,
            bio=creator.bio,
            avatar_url=dressing.avatar_url,
            banner_url=dressing.banner_url,
            links=dressing.links,
            listings=listings,
        )
        # The owner's view includes drafts: never cache it; the public view may be cached briefly.
        return Response(body, headers=cache_for_viewer(viewer, STOREFRONT_CACHE))

    @get("/{handle:str}/images/{slot:str}")
    async def image(
        self, handle: FromPath[str], slot: FromPath[str], storefronts: NamedDependency[StorefrontService]
    ) -> Redirect:
        """A creator's avatar or banner: a redirect to a short-lived signed URL of the store."""
        url = await storefronts.image_url(handle, slot)
        return Redirect(url, status_code=302, headers={"Cache-Control": f"public, max-age={IMAGE_CACHE_SECONDS}"})


class MyStorefrontController(Controller):
    """The signed-in creator dresses their storefront: links, avatar and banner."""

    path = "/api/v1/me/storefront"
    tags = ["catalog"]
    guards = [requires_role("creator")]
    dependencies = DEPS

    @get("/", response_headers=NO_STORE)
    async def show(self, request: Request[User, Any, Any], storefronts: NamedDependency[StorefrontService]) -> Dressing:
        return await storefronts.dressing(request.user)

    @patch("/", response_headers=NO_STORE)
    async def edit(
        self,
        request: Request[User, Any, Any],
        data: JSONBody[DressingEdit],
        storefronts: NamedDependency[StorefrontService],
    ) -> Dressing:
        return await storefronts.set_links(request.user, data.links)

    @post("/images/{slot:str}", status_code=HTTP_201_CREATED, response_headers=NO_STORE)
    async def presign_image(
        self,
        request: Request[User, Any, Any],
        slot: FromPath[str],
        data: JSONBody[ImageUploadCreate],
        storefronts: NamedDependency[StorefrontService],
    ) -> ImageUploadOut:
        """A form upload straight to the store, bound to a key of ours, the type and a size limit."""
        return storefronts.presign(request.user, slot, data)

    @put("/images/{slot:str}", response_headers=NO_STORE)
    async def complete_image(
        self,
        request: Request[User, Any, Any],
        slot: FromPath[str],
        data: JSONBody[ImageComplete],
        storefronts: NamedDependency[StorefrontService],
    ) -> Dressing:
        """Check the uploaded bytes are an image, then show it on the storefront."""
        return await storefronts.complete(request.user, slot, data.key)

    @delete("/images/{slot:str}", status_code=HTTP_200_OK, response_headers=NO_STORE)
    async def remove_image(
        self, request: Request[User, Any, Any], slot: FromPath[str], storefronts: NamedDependency[StorefrontService]
    ) -> Dressing:
        return await storefronts.remove(request.user, slot)


class LibraryController(Controller):
    path = "/api/v1/library"
    tags = ["catalog"]
    dependencies = DEPS

    @get("/", response_headers=NO_STORE)
    async def library(
        self, request: Request[User, Any, Any], catalog: NamedDependency[CatalogService]
    ) -> list[LibraryItem]:
        """Everything the signed-in user owns (granted or bought), with every published version."""
        return [LibraryItem(listing=o, source=s) for o, s in await catalog.library(request.user)]
