"""HTTP for search: parse the query string, call SearchService, return the page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from msgspec import Meta

from app.accounts.auth import requires_role
from app.catalog.schemas import Kind
from app.core.http import NO_STORE, public_cache
from app.search.protocol import Filters, Sort
from app.search.schemas import SearchPage, SearchStatus, Suggestions, Values
from app.search.services import SearchService


def provide_search(request: Request[Any, Any, Any]) -> SearchService:
    service: SearchService = request.app.state.search
    return service


DEPS = {"search": Provide(provide_search, sync_to_thread=False)}


class SearchController(Controller):
    path = "/api/v1/search"
    tags = ["search"]
    dependencies = DEPS
    opt = {"public": True}

    # Identical for every visitor: the edge may keep it briefly and serve it stale while refreshing.
    @get("/", response_headers=public_cache(15, swr=60, cdn_max_age=30))
    async def search_listings(
        self,
        *,
        search: NamedDependency[SearchService],
        q: Annotated[str, QueryParameter(max_length=200)] = "",
        # A fixed list: an unknown kind is a mistake to report, not a filter that finds nothing.
        kind: FromQuery[Annotated[list[Kind], Meta(max_length=20)] | None] = None,
        synth: FromQuery[Values | None] = None,
        synth_version: FromQuery[Values | None] = None,
        daw: FromQuery[Values | None] = None,
        format_: Annotated[Values | None, QueryParameter(name="format")] = None,
        genre: FromQuery[Values | None] = None,
        tag: FromQuery[Values | None] = None,
        key: FromQuery[Values | None] = None,
        creator: FromQuery[Values | None] = None,
        bpm_min: Annotated[int | None, QueryParameter(ge=1, le=999)] = None,
        bpm_max: Annotated[int | None, QueryParameter(ge=1, le=999)] = None,
        price_min: Annotated[int | None, QueryParameter(ge=0, le=100_000_000)] = None,
        price_max: Annotated[int | None, QueryParameter(ge=0, le=100_000_000)] = None,
        free: FromQuery[bool] = False,
        sort: FromQuery[Sort] = "relevance",
        page: Annotated[int, QueryParameter(ge=1, le=500)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> SearchPage:
        filters = Filters(
            kind=list(kind or []),
            synth=synth or [],
            synth_versions=synth_version or [],
            daw=daw or [],
            formats=[f.lower() for f in format_ or []],
            genre=genre or [],
            tags=[t.lower() for t in tag or []],
            musical_key=key or [],
            creator=[c.lower() for c in creator or []],
            bpm_min=bpm_min,
            bpm_max=bpm_max,
            price_min=price_min,
            price_max=price_max,
            free_only=free,
        )
        return await search.search(q, filters, sort, page, per_page)

    @get("/suggest", response_headers=public_cache(30, swr=120, cdn_max_age=60))
    async def suggest(
        self, search: NamedDependency[SearchService], q: FromQuery[Annotated[str, Meta(max_length=100)]] = ""
    ) -> Suggestions:
        return await search.suggest(q)


class SearchAdminController(Controller):
    path = "/api/v1/admin/search"
    tags = ["search", "admin"]
    dependencies = DEPS
    guards = [requires_role("admin")]

    @get("/status", response_headers=NO_STORE)
    async def status(self, search: NamedDependency[SearchService]) -> SearchStatus:
        return await search.status()
