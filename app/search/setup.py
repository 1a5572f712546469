"""Wiring of search into the app (called from ``app.asgi.create_app``)."""

from __future__ import annotations

from litestar import Controller, Litestar

from app.core.settings import Settings
from app.search.backends import make_backend
from app.search.controllers import SearchAdminController, SearchController
from app.search.services import SearchService
from app.search.sync import enqueue_reindex

ROUTE_HANDLERS: list[type[Controller]] = [SearchController, SearchAdminController]


def attach(app: Litestar, settings: Settings) -> None:
    service = SearchService(make_backend(settings, app.state.engine))
    app.state.search = service

    async def ensure_index() -> None:
        # `echoel migrate` makes and fills the database index; an index made here (Meilisearch
        # was down during the migration) starts empty, and a job fills it, once for all workers.
        if await service.backend.ensure_index():
            await enqueue_reindex()

    # Right after the database opens and before the job worker starts applying the outbox.
    app.on_startup.insert(1, ensure_index)
