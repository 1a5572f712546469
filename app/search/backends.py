"""Choosing the engine from settings, and falling back to the database when Meilisearch fails."""

from __future__ import annotations

import logging
import time
from typing import Any

from piccolo.engine import Engine, PostgresEngine

from app.core.settings import Settings
from app.search.postgres import PostgresSearch
from app.search.protocol import SearchBackend, SearchDoc, SearchQuery, SearchResult
from app.search.sqlite import SqliteSearch

log = logging.getLogger("echoel.search")


def database_backend(engine: Engine[Any]) -> SearchBackend:
    return PostgresSearch(engine) if isinstance(engine, PostgresEngine) else SqliteSearch(engine)


def make_backend(settings: Settings, engine: Engine[Any]) -> SearchBackend:
    db = database_backend(engine)
    if settings.search != "meili":
        return db
    from app.search.meili import MeiliSearch

    return FallbackSearch(MeiliSearch(settings), db)


class FallbackSearch:
    """Meilisearch first; while it fails, the database engine answers and the site stays up.

    After a failure Meilisearch is left alone for ``cooldown`` seconds, so a dead server costs
    one time-out, not one per request. The outbox drain writes every change to the database
    engine, which must never fall behind (it is what answers during an outage), and then offers
    it to Meilisearch through ``write_primary``; a change Meilisearch missed stays in the outbox
    for it alone and is offered again after the cooldown. ``upsert`` and ``delete`` (a rebuild)
    write both and raise when Meilisearch fails: a rebuild that missed an engine is not done.
    """

    name = "meili"

    def __init__(self, primary: SearchBackend, fallback: SearchBackend, cooldown: float = 30.0) -> None:
        self.primary, self.fallback, self.cooldown = primary, fallback, cooldown
        self._down_until = 0.0

    def _up(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        if self._up():
            log.warning("Meilisearch failed (%s); the database answers for %.0f s", type(exc).__name__, self.cooldown)
        self._down_until = time.monotonic() + self.cooldown

    async def ensure_index(self) -> bool:
        created = await self.fallback.ensure_index()
        try:
            created = await self.primary.ensure_index() or created
        except Exception as exc:
            self._failed(exc)
        return created

    async def write_primary(self, docs: list[SearchDoc], deleted: list[str]) -> bool:
        """Apply one change to Meilisearch alone; False (and the cooldown) when it failed."""
        if not self._up():
            return False
        try:
            await self.primary.upsert(docs)
            await self.primary.delete(deleted)
        except Exception as exc:
            self._failed(exc)
            return False
        return True

    async def upsert(self, docs: list[SearchDoc]) -> None:
        await self.fallback.upsert(docs)
        await self.primary.upsert(docs)

    async def delete(self, ids: list[str]) -> None:
        await self.fallback.delete(ids)
        await self.primary.delete(ids)

    async def search(self, query: SearchQuery) -> SearchResult:
        if self._up():
            try:
                return await self.primary.search(query)
            except Exception as exc:
                self._failed(exc)
        result = await self.fallback.search(query)
        result.engine = self.fallback.name
        return result

    async def suggest(self, prefix: str, limit: int) -> list[str]:
        if self._up():
            try:
                return await self.primary.suggest(prefix, limit)
            except Exception as exc:
                self._failed(exc)
        return await self.fallback.suggest(prefix, limit)

    async def ids(self) -> set[str]:
        # The status page must answer during an outage too: it then counts the database engine.
        if self._up():
            try:
                return await self.primary.ids()
            except Exception as exc:
                self._failed(exc)
        return await self.fallback.ids()

    async def clear(self) -> None:
        await self.fallback.clear()
        await self.primary.clear()

    async def optimize(self) -> None:
        await self.fallback.optimize()
        await self.primary.optimize()
