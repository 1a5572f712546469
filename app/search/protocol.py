"""What every search engine offers: the SearchBackend protocol and its value types."""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

Sort = Literal["relevance", "newest", "price_asc", "price_desc", "popular"]
FACETS = ("kind", "synth", "synth_versions", "daw", "formats", "genre", "tags", "musical_key", "creator")


class SearchDoc(msgspec.Struct, kw_only=True):
    """One published listing as the engines index it."""

    id: str
    slug: str
    title: str
    description: str
    tags: list[str]
    creator: str  # handle
    creator_name: str
    kind: str
    synth: str
    synth_versions: list[str]
    daw: str
    formats: list[str]
    genre: str
    musical_key: str
    bpm: int | None
    price: int  # minor units; 0 when free
    currency: str
    is_free: bool
    popularity: int
    published_at: int


class Filters(msgspec.Struct, kw_only=True):
    kind: list[str] = []
    synth: list[str] = []
    synth_versions: list[str] = []
    daw: list[str] = []
    formats: list[str] = []
    genre: list[str] = []
    tags: list[str] = []  # all of them
    musical_key: list[str] = []
    creator: list[str] = []
    bpm_min: int | None = None
    bpm_max: int | None = None
    price_min: int | None = None
    price_max: int | None = None
    free_only: bool = False


class SearchQuery(msgspec.Struct, kw_only=True):
    terms: list[str]  # normalised words; the last one may be a prefix
    filters: Filters
    sort: Sort = "relevance"
    offset: int = 0
    limit: int = 20


class Hit(msgspec.Struct, kw_only=True):
    doc: SearchDoc
    title_html: str = ""
    snippet_html: str = ""


class SearchResult(msgspec.Struct, kw_only=True):
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    # The words each query term matched (typo corrections included), for highlighting.
    matched: list[list[str]] = []
    # False when total and facet counts are estimates (a very broad query on a big catalog).
    exhaustive: bool = True
    # The engine that answered when it is not the configured one (Meilisearch down).
    engine: str = ""


class SearchBackend(Protocol):
    name: str

    async def ensure_index(self) -> bool:
        """Create the index (and its settings) unless present; True when it was made empty."""
        ...

    async def upsert(self, docs: list[SearchDoc]) -> None: ...

    async def delete(self, ids: list[str]) -> None: ...

    async def search(self, query: SearchQuery) -> SearchResult: ...

    async def suggest(self, prefix: str, limit: int) -> list[str]: ...

    async def ids(self) -> set[str]: ...

    async def clear(self) -> None: ...

    async def optimize(self) -> None:
        """After a bulk load (a reindex): refresh what the engine plans queries with."""
        ...
