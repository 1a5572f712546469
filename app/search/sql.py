# ruff: noqa: S608 - SQL here joins fixed fragments and {} placeholders; values travel as parameters
"""The database engines' search: one schema for documents, filters and facets, with the text
match left to each engine (SQLite FTS5 in ``sqlite.py``, PostgreSQL tsvector + pg_trgm in
``postgres.py``).

The index tables are derived data, created by ``ensure_index`` and rebuilt by ``echoel
reindex``; they are not Piccolo tables because FTS5 tables and tsvector/trigram indexes are
beyond what Piccolo's migrations express.
"""

from __future__ import annotations

from typing import Any

import msgspec
from piccolo.engine import Engine
from piccolo.querystring import QueryString

from app.search import text
from app.search.protocol import FACETS, Filters, Hit, SearchDoc, SearchQuery, SearchResult

FACET_VALUES = 20
_ORDER = {
    "newest": "d.published_at DESC, d.rid DESC",
    "price_asc": "d.price ASC, d.rid ASC",
    "price_desc": "d.price DESC, d.rid DESC",
    "popular": "d.popularity DESC, d.published_at DESC, d.rid DESC",
}


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

    async def ensure_index(self) -> None:
        """Create the index tables unless they exist.

        ``echoel migrate`` calls this as the owner role; at start-up the check alone runs, so a
        least-privilege app role (no CREATE) starts fine once migrations have run.
        """
        try:
            await self.q("SELECT 1 FROM search_docs LIMIT 0")
            await self.q(f"SELECT 1 FROM {self.probe_table} LIMIT 0")
        except Exception:
            for statement in self.ddl:
                await self.q(statement)

    # --- writing ----------------------------------------------------------------------

    async def upsert(self, docs: list[SearchDoc]) -> None:
        # Many rows per statement: per-row round trips made indexing a hundred times slower.
        for start in range(0, len(docs), 200):
            chunk = docs[start : start + 200]
            async with self.engine.transaction():
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
            async with self.engine.transaction():
                await self._remove_many(ids[start : start + 500])

    async def _remove_many(self, ids: list[str]) -> None:
        if not ids:
            return
        marks = ", ".join("{}" for _ in ids)
        rids = f"(SELECT rid FROM search_docs WHERE id IN ({marks}))"
        await self._delete_texts(rids, ids)
        await self.q(f"DELETE FROM search_terms WHERE rid IN {rids}", *ids)
        await self.q(f"DELETE FROM search_docs WHERE id IN ({marks})", *ids)

    async def clear(self) -> None:
        for table in ("search_terms", "search_docs", *self.text_tables()):
            await self.q(f"DELETE FROM {table}")

    async def ids(self) -> set[str]:
        return {r["id"] for r in await self.q("SELECT id FROM search_docs")}

    # --- reading ----------------------------------------------------------------------

    async def search(self, query: SearchQuery) -> SearchResult:
        matched = [await self._alternatives(t) for t in query.terms]
        where, args = self._filters(query.filters)
        source, rank = "search_docs d", ""
        match_args: list[Any] = []
        rank_args: list[Any] = []
        if query.terms:
            source, match_sql, rank, match_args, rank_args = self._text_match(matched)
            where.insert(0, match_sql)
        where_sql = " AND ".join(where) or "1=1"
        all_args = [*match_args, *args]
        if query.sort == "relevance" and rank:
            order, order_args = f"{rank}, d.rid", rank_args
        else:
            order, order_args = _ORDER.get(query.sort, _ORDER["newest"]), []
        rows = await self.q(
            f"SELECT d.doc FROM {source} WHERE {where_sql} ORDER BY {order} LIMIT {{}} OFFSET {{}}",
            *all_args,
            *order_args,
            query.limit,
            query.offset,
        )
        total = (await self.q(f"SELECT count(*) AS n FROM {source} WHERE {where_sql}", *all_args))[0]["n"]
        facet_rows = await self.q(
            "SELECT t.field, t.value, count(*) AS n FROM search_terms t WHERE t.rid IN "
            f"(SELECT d.rid FROM {source} WHERE {where_sql}) GROUP BY t.field, t.value",
            *all_args,
        )
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
        return SearchResult(hits=hits, total=int(total), facets=_top(facet_rows), matched=matched)

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
        for column, low, high in (("bpm", f.bpm_min, f.bpm_max), ("price", f.price_min, f.price_max)):
            if low is not None:
                where.append(f"d.{column} >= {{}}")
                args.append(low)
            if high is not None:
                where.append(f"d.{column} <= {{}}")
                args.append(high)
        if f.free_only:
            where.append("d.is_free = {}")
            args.append(True)
        return where, args

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

    # The engine's last-created index table: its presence means the DDL ran to the end.
    probe_table = "search_terms"
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
