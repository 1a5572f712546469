# ruff: noqa: S608 - SQL here joins fixed fragments and {} placeholders; values travel as parameters
"""The database engines' search: one schema for documents, filters and facets, with the text
match left to each engine (SQLite FTS5 in ``sqlite.py``, PostgreSQL tsvector + pg_trgm in
``postgres.py``).

The index tables are derived data, created by ``ensure_index`` and rebuilt by ``echoel
reindex``; they are not Piccolo tables because FTS5 tables and tsvector/trigram indexes are
beyond what Piccolo's migrations express.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import msgspec
from piccolo.engine import Engine
from piccolo.querystring import QueryString

from app.core.db import write_transaction
from app.search import text
from app.search.protocol import FACETS, Filters, Hit, SearchDoc, SearchQuery, SearchResult

FACET_VALUES = 20
_ORDER = {
    "newest": "d.published_at DESC, d.rid DESC",
    "price_asc": "d.price ASC, d.rid ASC",
    "price_desc": "d.price DESC, d.rid DESC",
    "popular": "d.popularity DESC, d.published_at DESC, d.rid DESC",
}


_Rows = list[dict[str, Any]]
_Counts = tuple[int, _Rows, bool]


class Plan(msgspec.Struct, kw_only=True):
    """One query's FROM, text match, filters and rank, each with its arguments."""

    filters: list[str]
    filter_args: list[Any]
    source: str = "search_docs d"
    match: str = ""  # the text condition; empty without query words
    match_args: list[Any] = []
    rank: str = ""  # an ORDER BY expression, best first; empty without query words
    rank_args: list[Any] = []

    @property
    def where_sql(self) -> str:
        return " AND ".join([self.match] * bool(self.match) + self.filters) or "1=1"

    @property
    def args(self) -> list[Any]:
        return [*self.match_args, *self.filter_args]


def facet_values(doc: SearchDoc) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for field in FACETS:
        value = getattr(doc, field)
        for v in value if isinstance(value, list) else [value]:
            if v:
                pairs.append((field, str(v)))
    return pairs


class SqlSearch:
    """Shared by both database engines; subclasses supply the text index."""

    name = "db"
    ddl: tuple[str, ...] = ()

    def __init__(self, engine: Engine[Any]) -> None:
        self.engine = engine

    async def q(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        rows = await self.engine.run_querystring(QueryString(sql, *args))
        return list(rows or [])

    async def ensure_index(self) -> bool:
        """Create the index tables unless they exist in their current shape; True if it did.

        ``echoel migrate`` calls this as the owner role (and reindexes when it returns True); at
        start-up the check alone runs, so a least-privilege app role (no CREATE) starts fine once
        migrations have run. Tables of an older shape are derived data: dropped and rebuilt.
        """
        try:
            for probe in self.probes:
                await self.q(probe)
        except Exception:
            for statement in (*self.drop_stale, *self.ddl):
                await self.q(statement)
            return True
        return False

    # --- writing ----------------------------------------------------------------------

    async def upsert(self, docs: list[SearchDoc]) -> None:
        # Many rows per statement: per-row round trips made indexing a hundred times slower.
        for start in range(0, len(docs), 200):
            chunk = docs[start : start + 200]
            async with write_transaction(self.engine):
                await self._remove_many([d.id for d in chunk])
                values, args = [], []
                for doc in chunk:
                    extra_sql, extra_args = self._doc_extras(doc)
                    values.append("({}, {}, {}, {}, {}, {}, {}" + "".join(f", {e}" for e in extra_sql) + ")")
                    args += [doc.id, msgspec.json.encode(doc).decode(), doc.price, doc.is_free, doc.bpm]
                    args += [doc.popularity, doc.published_at, *extra_args]
                columns = "id, doc, price, is_free, bpm, popularity, published_at" + "".join(
                    f", {c}" for c in self.extra_columns
                )
                rows = await self.q(
                    f"INSERT INTO search_docs ({columns}) VALUES {', '.join(values)} RETURNING rid, id", *args
                )
                rid_of = {r["id"]: r["rid"] for r in rows}
                await self._insert_texts([(rid_of[d.id], d) for d in chunk])
                if not self.terms_table:
                    continue
                terms = [(rid_of[d.id], field, value) for d in chunk for field, value in facet_values(d)]
                for i in range(0, len(terms), 500):
                    piece = terms[i : i + 500]
                    await self.q(
                        "INSERT INTO search_terms (rid, field, value) VALUES "
                        + ", ".join("({}, {}, {})" for _ in piece),
                        *[x for row in piece for x in row],
                    )

    async def delete(self, ids: list[str]) -> None:
        for start in range(0, len(ids), 500):
            async with write_transaction(self.engine):
                await self._remove_many(ids[start : start + 500])

    async def _remove_many(self, ids: list[str]) -> None:
        if not ids:
            return
        marks = ", ".join("{}" for _ in ids)
        rids = f"(SELECT rid FROM search_docs WHERE id IN ({marks}))"
        await self._delete_texts(rids, ids)
        if self.terms_table:
            await self.q(f"DELETE FROM search_terms WHERE rid IN {rids}", *ids)
        await self.q(f"DELETE FROM search_docs WHERE id IN ({marks})", *ids)

    async def clear(self) -> None:
        for table in (*["search_terms"] * self.terms_table, "search_docs", *self.text_tables()):
            await self.q(f"DELETE FROM {table}")

    async def optimize(self) -> None:
        # Planner statistics: PostgreSQL's autovacuum would get there within minutes; SQLite never.
        # Without them a broad query is planned as a narrow one (and counted exactly, slowly).
        await self.q("ANALYZE search_docs")

    async def ids(self) -> set[str]:
        return {r["id"] for r in await self.q("SELECT id FROM search_docs")}

    # --- reading ----------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchResult:
        matched = [await self._alternatives(t) for t in query.terms]
        where, args = self._filters(query.filters)
        plan = Plan(filters=where, filter_args=args)
        if query.terms:
            plan.source, plan.match, plan.rank, plan.match_args, plan.rank_args = self._text_match(matched)
        rows, (total, facet_rows, exhaustive) = await self._gather(self._hits(plan, query), self._counts(plan))
        hits = []
        for row in rows:
            doc = msgspec.json.decode(row["doc"], type=SearchDoc)
            hits.append(
                Hit(
                    doc=doc,
                    title_html=text.highlight(doc.title, matched),
                    snippet_html=text.snippet(doc.description, matched),
                )
            )
        return SearchResult(hits=hits, total=total, facets=_top(facet_rows), matched=matched, exhaustive=exhaustive)

    async def _gather(self, hits: Awaitable[_Rows], counts: Awaitable[_Counts]) -> tuple[_Rows, _Counts]:
        # One after the other: SQLite serves a process from one connection anyway.
        return await hits, await counts

    async def _hits(self, plan: Plan, query: SearchQuery) -> _Rows:
        if query.sort == "relevance" and plan.rank:
            order, order_args = f"{plan.rank}, d.rid", plan.rank_args
        else:
            order, order_args = _ORDER.get(query.sort, _ORDER["newest"]), []
        return await self.q(
            f"SELECT d.doc FROM {plan.source} WHERE {plan.where_sql} ORDER BY {order} LIMIT {{}} OFFSET {{}}",
            *plan.args,
            *order_args,
            query.limit,
            query.offset,
        )

    async def _counts(self, plan: Plan) -> _Counts:
        """The total and (field, value, n) facet rows of every match; exact here."""
        total = (await self.q(f"SELECT count(*) AS n FROM {plan.source} WHERE {plan.where_sql}", *plan.args))[0]["n"]
        facet_rows = await self.q(
            "SELECT t.field, t.value, count(*) AS n FROM search_terms t WHERE t.rid IN "
            f"(SELECT d.rid FROM {plan.source} WHERE {plan.where_sql}) GROUP BY t.field, t.value",
            *plan.args,
        )
        return int(total), facet_rows, True

    def _filters(self, f: Filters) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        for field in FACETS:
            values = getattr(f, field)
            if not values:
                continue
            # Tags: every chosen tag; other facets: any of the chosen values.
            groups = [[v] for v in values] if field == "tags" else [values]
            for group in groups:
                marks = ", ".join("{}" for _ in group)
                where.append(f"d.rid IN (SELECT rid FROM search_terms WHERE field = {{}} AND value IN ({marks}))")
                args.extend([field, *group])
        more, more_args = range_filters(f)
        return where + more, args + more_args

    async def _alternatives(self, term: str) -> list[str]:
        """The indexed words a query word stands for: itself, or its near misses."""
        if await self._known(term):
            return [term]
        limit = text.max_typos(term)
        if not limit:
            return [term]
        close = [w for w in await self._candidates(term) if text.within(term, w, limit)]
        return [term, *close[:8]]

    # --- engine hooks -----------------------------------------------------------------

    # Statements that pass only on index tables of the current shape (the DDL ran to its end).
    probes: tuple[str, ...] = ("SELECT 1 FROM search_docs LIMIT 0", "SELECT 1 FROM search_terms LIMIT 0")
    # Run before the DDL when a probe fails: tables of an older shape.
    drop_stale: tuple[str, ...] = ()
    # Facet values in the (rid, field, value) table, for filters and counts.
    terms_table = True
    # Engine-specific columns of search_docs, filled from each document.
    extra_columns: tuple[str, ...] = ()

    def text_tables(self) -> tuple[str, ...]:
        return ()

    def _doc_extras(self, doc: SearchDoc) -> tuple[list[str], list[Any]]:
        """SQL expressions (with {} placeholders) for ``extra_columns``, and their arguments."""
        return [], []

    def _text_match(self, matched: list[list[str]]) -> tuple[str, str, str, list[Any], list[Any]]:
        """FROM clause, WHERE condition, rank expression (ascending = best first) and their arguments."""
        raise NotImplementedError

    async def _insert_texts(self, rows: list[tuple[int, SearchDoc]]) -> None:
        raise NotImplementedError

    async def _delete_texts(self, rids_sql: str, args: list[Any]) -> None:
        """Drop the text index entries of the documents ``rids_sql`` selects."""
        raise NotImplementedError

    async def _known(self, term: str) -> bool:
        raise NotImplementedError

    async def _candidates(self, term: str) -> list[str]:
        raise NotImplementedError


def range_filters(f: Filters) -> tuple[list[str], list[Any]]:
    """The BPM and price ranges and "free only": plain columns on every database engine."""
    where: list[str] = []
    args: list[Any] = []
    for column, low, high in (("bpm", f.bpm_min, f.bpm_max), ("price", f.price_min, f.price_max)):
        if low is not None:
            where.append(f"d.{column} >= {{}}")
            args.append(low)
        if high is not None:
            where.append(f"d.{column} <= {{}}")
            args.append(high)
    if f.free_only:
        # A literal, not a parameter: PostgreSQL's partial index on free documents matches only it.
        where.append("d.is_free")
    return where, args


def _top(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {f: {} for f in FACETS}
    for row in sorted(rows, key=lambda r: (-int(r["n"]), r["value"])):
        bucket = facets.setdefault(row["field"], {})
        if len(bucket) < FACET_VALUES:
            bucket[row["value"]] = int(row["n"])
    return facets


def searchable_text(doc: SearchDoc) -> tuple[str, str, str, str]:
    """Title, tags (with synth, DAW and genre), creator and description, folded as queries are."""
    return (
        text.fold(doc.title),
        text.fold(" ".join([*doc.tags, doc.synth, doc.daw, doc.genre])),
        text.fold(f"{doc.creator} {doc.creator_name}"),
        text.fold(doc.description),
    )


def distinct_titles(rows: list[dict[str, Any]]) -> list[str]:
    """The titles of ``rows`` (stored documents), in order, each once (for suggestions)."""
    titles: list[str] = []
    for row in rows:
        title = msgspec.json.decode(row["doc"], type=SearchDoc).title
        if title not in titles:
            titles.append(title)
    return titles
