"""Search rules: validate a query, ask the engine, keep the index in step, rebuild it."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable

from app.core.errors import InvalidInput
from app.search import documents, outbox, text
from app.search.protocol import FACETS, Filters, SearchBackend, SearchQuery
from app.search.schemas import SearchHit, SearchPage, SearchStatus, Suggestions

# What a hit shows of its document: every SearchHit field but the highlighted ones.
_DOC_FIELDS = [f for f in SearchHit.__struct_fields__ if f not in ("title_html", "snippet_html")]


class SearchService:
    def __init__(self, backend: SearchBackend) -> None:
        self.backend = backend

    async def search(self, q: str, filters: Filters, sort: str, page: int, per_page: int) -> SearchPage:
        for low, high, name in (
            (filters.bpm_min, filters.bpm_max, "bpm"),
            (filters.price_min, filters.price_max, "price"),
        ):
            if low is not None and high is not None and low > high:
                raise InvalidInput(f"The {name} range is empty: the minimum is above the maximum.", field=name)
        for field in FACETS:
            if any(not v.isprintable() for v in getattr(filters, field)):
                raise InvalidInput(f"The {field} filter holds control characters.", field=field)
        terms = text.query_terms(q)
        if sort == "relevance" and not terms:
            sort = "newest"
        query = SearchQuery(terms=terms, filters=filters, sort=sort, offset=(page - 1) * per_page, limit=per_page)  # type: ignore[arg-type]
        result = await self.backend.search(query)
        hits = [
            SearchHit(
                **{f: getattr(h.doc, f) for f in _DOC_FIELDS}, title_html=h.title_html, snippet_html=h.snippet_html
            )
            for h in result.hits
        ]
        return SearchPage(
            query=q,
            hits=hits,
            total=result.total,
            page=page,
            per_page=per_page,
            pages=math.ceil(result.total / per_page),
            facets=result.facets,
            exhaustive=result.exhaustive,
            engine=result.engine or self.backend.name,
        )

    async def suggest(self, q: str, limit: int = 8) -> Suggestions:
        return Suggestions(query=q, suggestions=await self.backend.suggest(q, limit) if q.strip() else [])

    async def status(self) -> SearchStatus:
        return SearchStatus(
            engine=self.backend.name,
            documents=len(await self.backend.ids()),
            published=await documents.count_published(),
            outbox_pending=await outbox.pending(),
            outbox_lag_seconds=round(await outbox.lag_seconds(), 3),
        )

    async def sync(self) -> int:
        return await outbox.drain(self.backend)

    async def reindex(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the index from the database's published listings; return the count.

        The outbox drain runs meanwhile, so every write here happens under its lock, from rows
        read under that lock: a listing published or unpublished mid-rebuild is then either
        read here in its new state or written by the drain after us, never overwritten with
        a state read before the change, nor deleted as stale after being published.
        """
        await self.backend.ensure_index()
        total = await documents.count_published()
        keep: set[str] = set()
        done = 0
        async for page in documents.published_ids():
            async with outbox.locked():
                written = await self._write(page)
            keep.update(str(i) for i in page)
            done += written
            if progress:
                progress(done, total)
        async with outbox.locked():
            # Whatever the index holds beyond the pages seen: gone, unpublished or published
            # since its page was read. The database decides which, now.
            extra = await self.backend.ids() - keep
            done += await self._write([uuid.UUID(i) for i in sorted(extra)])
        await self.backend.optimize()
        if progress:
            progress(done, total)
        return done

    async def _write(self, listing_ids: list[uuid.UUID]) -> int:
        """Put these listings in the index as the database has them now; how many are in it."""
        found = await documents.load(listing_ids)
        docs = [doc for doc in found.values() if doc is not None]
        await self.backend.upsert(docs)
        await self.backend.delete(sorted(i for i, doc in found.items() if doc is None))
        return len(docs)
