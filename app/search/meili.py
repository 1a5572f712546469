"""Meilisearch through the official client (production).

Written against the client's documented API: settings for searchable, filterable and sortable
attributes and typo tolerance; every write returns a task that we wait on with a time-out;
filters are built from typed values with every string quoted and escaped, never from user text.
The client is synchronous, so each call runs in a thread.
"""

from __future__ import annotations

import html
from typing import Any

import anyio.to_thread
import meilisearch
import msgspec

from app.core.settings import Settings
from app.search import text
from app.search.protocol import FACETS, Filters, Hit, SearchDoc, SearchQuery, SearchResult

_PRE, _POST = "\x02", "\x03"
SETTINGS: dict[str, Any] = {
    "searchableAttributes": ["title", "tags", "synth", "daw", "genre", "creator", "creator_name", "description"],
    "filterableAttributes": [*FACETS, "id", "bpm", "price", "is_free"],
    "sortableAttributes": ["published_at", "price", "popularity"],
    "rankingRules": ["words", "typo", "proximity", "attribute", "sort", "exactness"],
    # Meilisearch's defaults, stated so a change upstream cannot silently alter results.
    "typoTolerance": {"enabled": True, "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9}},
    "faceting": {"maxValuesPerFacet": 100},
    "pagination": {"maxTotalHits": 10000},
}
_SORT = {
    "newest": ["published_at:desc"],
    "price_asc": ["price:asc"],
    "price_desc": ["price:desc"],
    "popular": ["popularity:desc", "published_at:desc"],
}


def quote(value: str) -> str:
    """A filter string literal: double-quoted with backslash and quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def filter_expression(f: Filters) -> list[str | list[str]]:
    """Meilisearch filter as an array: items are ANDed, inner arrays ORed."""
    parts: list[str | list[str]] = []
    for field in FACETS:
        values: list[str] = getattr(f, field)
        if not values:
            continue
        if field == "tags":
            parts.extend(f"tags = {quote(v)}" for v in values)
        else:
            parts.append([f"{field} = {quote(v)}" for v in values])
    for field, low, high in (("bpm", f.bpm_min, f.bpm_max), ("price", f.price_min, f.price_max)):
        if low is not None:
            parts.append(f"{field} >= {int(low)}")
        if high is not None:
            parts.append(f"{field} <= {int(high)}")
    if f.free_only:
        parts.append("is_free = true")
    return parts


def _marked(value: str) -> str:
    return html.escape(value).replace(_PRE, "<mark>").replace(_POST, "</mark>")


class MeiliSearch:
    name = "meili"

    def __init__(self, settings: Settings) -> None:
        self.timeout_ms = settings.meili_timeout_ms
        self.client = meilisearch.Client(
            settings.meili_url, settings.meili_key or None, timeout=settings.meili_timeout_ms / 1000
        )
        self.uid = settings.meili_index
        self.index = self.client.index(self.uid)

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))

    async def _wait(self, task_info: Any) -> None:
        task = await self._call(
            self.client.wait_for_task, task_info.task_uid, timeout_in_ms=max(self.timeout_ms, 10_000)
        )
        if task.status != "succeeded":
            raise RuntimeError(f"Meilisearch task {task_info.task_uid} ended {task.status}: {task.error}")

    async def ensure_index(self) -> bool:
        created = False
        try:
            await self._call(self.client.get_index, self.uid)
        except meilisearch.errors.MeilisearchApiError:
            await self._wait(await self._call(self.client.create_index, self.uid, {"primaryKey": "id"}))
            created = True
        await self._wait(await self._call(self.index.update_settings, SETTINGS))
        return created

    async def upsert(self, docs: list[SearchDoc]) -> None:
        if docs:
            payload = [msgspec.to_builtins(d) for d in docs]
            await self._wait(await self._call(self.index.add_documents, payload, primary_key="id"))

    async def delete(self, ids: list[str]) -> None:
        if ids:
            expression = "id IN [" + ", ".join(quote(i) for i in ids) + "]"
            await self._wait(await self._call(self.index.delete_documents, filter=expression))

    async def search(self, query: SearchQuery) -> SearchResult:
        params: dict[str, Any] = {
            "filter": filter_expression(query.filters),
            "facets": list(FACETS),
            "attributesToHighlight": ["title", "description"],
            "attributesToCrop": ["description"],
            "cropLength": 30,
            "highlightPreTag": _PRE,
            "highlightPostTag": _POST,
            "matchingStrategy": "all",
            # page/hitsPerPage gives an exact total (offset/limit gives an estimate).
            "hitsPerPage": query.limit,
            "page": query.offset // query.limit + 1,
        }
        if query.sort in _SORT:
            params["sort"] = _SORT[query.sort]
        result = await self._call(self.index.search, " ".join(query.terms), params)
        hits = []
        for raw in result["hits"]:
            formatted = raw.pop("_formatted", {})
            doc = msgspec.convert({k: v for k, v in raw.items() if not k.startswith("_")}, SearchDoc)
            hits.append(
                Hit(
                    doc=doc,
                    title_html=_marked(formatted.get("title", doc.title)),
                    snippet_html=_marked(formatted.get("description", doc.description)),
                )
            )
        facets = {f: dict(result.get("facetDistribution", {}).get(f, {})) for f in FACETS}
        return SearchResult(
            hits=hits, total=int(result.get("totalHits", len(hits))), facets=facets, matched=[[t] for t in query.terms]
        )

    async def suggest(self, prefix: str, limit: int) -> list[str]:
        words = text.query_terms(prefix)
        if not words:
            return []
        params = {"limit": limit, "attributesToRetrieve": ["title"], "matchingStrategy": "all"}
        result = await self._call(self.index.search, " ".join(words), params)
        titles: list[str] = []
        for hit in result["hits"]:
            if hit["title"] not in titles:
                titles.append(hit["title"])
        return titles

    async def ids(self) -> set[str]:
        found: set[str] = set()
        offset = 0
        while True:
            page = await self._call(self.index.get_documents, {"fields": ["id"], "limit": 1000, "offset": offset})
            found.update(str(d.id if hasattr(d, "id") else d["id"]) for d in page.results)
            if len(page.results) < 1000:
                return found
            offset += 1000

    async def optimize(self) -> None:
        return None  # Meilisearch keeps its own structures current

    async def clear(self) -> None:
        await self._wait(await self._call(self.index.delete_all_documents))
