"""Search API: query parameters and response bodies."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

Value = Annotated[str, Meta(min_length=1, max_length=80)]
Values = Annotated[list[Value], Meta(max_length=20)]


class SearchHit(Struct, kw_only=True):
    id: str
    slug: str
    title: str
    title_html: str
    snippet_html: str
    kind: str
    creator: str
    creator_name: str
    tags: list[str]
    synth: str
    daw: str
    formats: list[str]
    genre: str
    bpm: int | None
    musical_key: str
    price: int
    currency: str
    is_free: bool


class SearchPage(Struct, kw_only=True):
    query: str
    hits: list[SearchHit]
    total: int
    page: int
    per_page: int
    pages: int
    facets: dict[str, dict[str, int]]
    # False: total and facet counts are estimates (a very broad query on a big catalog).
    exhaustive: bool
    engine: str


class Suggestions(Struct, kw_only=True):
    query: str
    suggestions: list[str]


class SearchStatus(Struct, kw_only=True):
    engine: str
    documents: int
    published: int
    outbox_pending: int
    outbox_lag_seconds: float
