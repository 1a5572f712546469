"""Wiring of search into the app (called from ``app.asgi.create_app``)."""

from __future__ import annotations

import logging

from litestar import Controller, Litestar

from app.core.settings import Settings
from app.search.backends import make_backend
from app.search.controllers import SearchAdminController, SearchController
from app.search.services import SearchService

ROUTE_HANDLERS: list[type[Controller]] = [SearchController, SearchAdminController]

log = logging.getLogger("echoel.search")


def attach(app: Litestar, settings: Settings) -> None:
    service = SearchService(make_backend(settings, app.state.engine))
    app.state.search = service

    async def ensure_index() -> None:
        # A new or rebuilt index starts empty: fill it from the database (a no-op on a new site).
        if await service.backend.ensure_index():
            try:
                await service.reindex()
            except Exception:
                # Start-up goes on (search answers from what is indexed); `echoel migrate` or
                # `echoel reindex` fills it once the catalog's tables are there.
                log.exception("the new search index could not be filled; run `echoel reindex`")

    # Right after the database opens and before the job worker starts applying the outbox.
    app.on_startup.insert(1, ensure_index)
