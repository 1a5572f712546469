# ruff: noqa: S608 - SQL here joins fixed fragments and {} placeholders; values travel as parameters
"""PostgreSQL search: a weighted tsvector for matching and ranking, pg_trgm for typo tolerance.

Kept fast on a big catalog by three choices (measured by ``scripts/bench/search.py``):

* Facet values live in a ``text[]`` column with a GIN index: filters are index lookups and
  counts one ``unnest`` over the matches, instead of a join through a (rid, field, value) table.
* Relevance ranks the documents whose title, tags or creator match first (a second, small
  tsvector with its own index) and reaches for description-only matches only when those run
  out; ranking every match of a broad query would read the whole table.
* A query the planner expects to match more than ``exact_upto`` documents counts its total
  and facets on a sample of about that many, scaled up and flagged ``exhaustive=False`` (the
  way Algolia and Elasticsearch bound their counts); narrower queries count exactly. A broad
  query's sample is a random share of the table's blocks (``TABLESAMPLE SYSTEM``), whose rows
  are all checked; between the two, every document carries a bucket (0 to 99, from its id) in
  its own indexed column, so the sample is an index range and only sampled rows are read; when
  the filters leave few sampled rows, the text is checked on each of them instead of through
  the text index.
"""

from __future__ import annotations

import asyncio
import json
import math
import zlib
from collections.abc import Awaitable
from typing import Any

from app.search import text
from app.search.protocol import FACETS, Filters, SearchDoc, SearchQuery
from app.search.sql import Plan, SqlSearch, distinct_titles, facet_values, range_filters, searchable_text

_TSQUERY = "to_tsquery('simple', {})"
# Every document's facets hold this value: its count is the total.
_ALL = ""
# Sample buckets 0 … 99, from a hash of the id.
_BUCKETS = 100
# When the sample is at most this share of the matches, it is drawn from the table's blocks.
_SAMPLE_BLOCKS_UPTO = 0.1
# A bucket sample with at most this many rows passing the filters checks the text row by row.
_TEXT_CHECKED_UPTO = 6_000


class PostgresSearch(SqlSearch):
    name = "postgres"
    probes = ("SELECT head, facets, bucket FROM search_docs LIMIT 0", "SELECT 1 FROM search_words LIMIT 0")
    drop_stale = ("DROP TABLE IF EXISTS search_terms", "DROP TABLE IF EXISTS search_docs")
    ddl = (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE TABLE IF NOT EXISTS search_docs (rid BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, "
        "doc TEXT NOT NULL, price BIGINT NOT NULL, is_free BOOLEAN NOT NULL, bpm INTEGER, "
        "popularity INTEGER NOT NULL, published_at BIGINT NOT NULL, tsv TSVECTOR NOT NULL, "
        "head TSVECTOR NOT NULL, facets TEXT[] NOT NULL, bucket SMALLINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING GIN (tsv)",
        "CREATE INDEX IF NOT EXISTS search_docs_head ON search_docs USING GIN (head)",
        "CREATE INDEX IF NOT EXISTS search_docs_facets ON search_docs USING GIN (facets)",
        "CREATE INDEX IF NOT EXISTS search_docs_published ON search_docs (published_at)",
        "CREATE INDEX IF NOT EXISTS search_docs_price ON search_docs (price)",
        "CREATE INDEX IF NOT EXISTS search_docs_popularity ON search_docs (popularity)",
        "CREATE INDEX IF NOT EXISTS search_docs_bpm ON search_docs (bpm)",
        # A range of buckets is read from a b-tree several times faster than the same rows
        # looked up as values of the facets' GIN index (1 to 2 vs 11 ms for 30 buckets at 100k).
        "CREATE INDEX IF NOT EXISTS search_docs_bucket ON search_docs (bucket)",
        # "Free only" is the one filter without an index of its own; sampled, it is a range here.
        "CREATE INDEX IF NOT EXISTS search_docs_free ON search_docs (bucket) WHERE is_free",
        # Every indexed word once; its trigram index finds near misses of a query word.
        "CREATE TABLE IF NOT EXISTS search_words (word TEXT PRIMARY KEY)",
        "CREATE INDEX IF NOT EXISTS search_words_trgm ON search_words USING GIN (word gin_trgm_ops)",
    )
    extra_columns = ("tsv", "head", "facets", "bucket")
    terms_table = False
    # Above this many expected matches, totals and facet counts come from a sample this size:
    # about ±4 % on a total (one over the square root of the sample), and each sampled row is
    # work, so 600 rather than 1,000 took the endpoint's p95 at 100k from ~50 to ~35 ms.
    exact_upto = 600

    def text_tables(self) -> tuple[str, ...]:
        return ("search_words",)

    # --- writing ----------------------------------------------------------------------

    def _doc_extras(self, doc: SearchDoc) -> tuple[list[str], list[Any]]:
        title, tags, creator, description = searchable_text(doc)
        a, b, c = (f"setweight(to_tsvector('simple', {{}}), '{w}')" for w in "ABC")
        facets = [_ALL, *(f"{field}={value}" for field, value in facet_values(doc))]
        return [f"{a} || {b} || {c}", f"{a} || {b}", "{}::text[]", "{}"], [
            title,
            f"{tags} {creator}",
            description,
            title,
            f"{tags} {creator}",
            facets,
            zlib.crc32(doc.id.encode()) % _BUCKETS,
        ]

    async def _insert_texts(self, rows: list[tuple[int, SearchDoc]]) -> None:
        words = sorted({w for _, doc in rows for w in text.words(" ".join(searchable_text(doc)))})
        for i in range(0, len(words), 1000):
            piece = words[i : i + 1000]
            marks = ", ".join("({})" for _ in piece)
            await self.q(f"INSERT INTO search_words (word) VALUES {marks} ON CONFLICT DO NOTHING", *piece)

    async def _delete_texts(self, rids_sql: str, args: list[Any]) -> None:
        # The tsvectors go with their row; words stay (a stale word only widens a typo search).
        return None

    async def optimize(self) -> None:
        # VACUUM, not just ANALYZE: a bulk load leaves its GIN entries in each index's pending
        # list (fastupdate), which every text query then scans linearly until autovacuum gets
        # round to merging it, and leaves hint bits unset for the first readers to write.
        # Measured by scripts/bench/search.py at 100k docs: raw query p50 66 → 42 ms, p95 130 → 63 ms.
        # Like ANALYZE, it needs the table's owner; other roles get a warning, not an error.
        await self.q("VACUUM (ANALYZE) search_docs")

    # --- reading ----------------------------------------------------------------------

    def _text_match(self, matched: list[list[str]]) -> tuple[str, str, str, list[Any], list[Any]]:
        tsquery = _tsquery(matched)
        # ts_rank, not ts_rank_cd: a broad word ranks thousands of title matches, and cover
        # density cost twice the time per document (scripts/bench/search.py) for an order that
        # differs only in how close the words stand; weights (title over description) count in both.
        rank = f"ts_rank(d.tsv, {_TSQUERY}) DESC"
        return "search_docs d", f"d.tsv @@ {_TSQUERY}", rank, [tsquery], [tsquery]

    def _filters(self, f: Filters) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        for field in FACETS:
            values = getattr(f, field)
            if values:
                # Tags: every chosen tag (contains); other facets: any chosen value (overlaps).
                where.append(f"d.facets {'@>' if field == 'tags' else '&&'} {{}}::text[]")
                args.append([f"{field}={v}" for v in values])
        more, more_args = range_filters(f)
        return where + more, args + more_args

    async def _gather(self, hits: Awaitable[Any], counts: Awaitable[Any]) -> tuple[Any, Any]:
        # Two pool connections, two cores: the page and the counts are computed side by side.
        found, counted = await asyncio.gather(hits, counts)
        return found, counted

    async def _hits(self, plan: Plan, query: SearchQuery) -> list[dict[str, Any]]:
        if not (query.sort == "relevance" and plan.match):
            return await super()._hits(plan, query)
        head = f"d.head @@ {_TSQUERY}"
        order = f"ORDER BY {plan.rank}, d.rid LIMIT {{}} OFFSET {{}}"
        filters = "".join(f" AND {w}" for w in plan.filters)
        first = await self.q(
            f"SELECT d.doc FROM search_docs d WHERE {head}{filters} {order}",
            *plan.match_args,
            *plan.filter_args,
            *plan.rank_args,
            query.limit,
            query.offset,
        )
        if len(first) == query.limit:
            return first
        # The title/tag matches ran out on this page: the rest are description-only matches.
        if first:
            head_total = query.offset + len(first)
        else:
            counted = await self.q(
                f"SELECT count(*) AS n FROM search_docs d WHERE {head}{filters}", *plan.match_args, *plan.filter_args
            )
            head_total = int(counted[0]["n"])
        rest = await self.q(
            f"SELECT d.doc FROM search_docs d WHERE {plan.where_sql} AND NOT ({head}) {order}",
            *plan.args,
            *plan.match_args,
            *plan.rank_args,
            query.limit - len(first),
            max(0, query.offset - head_total),
        )
        return first + rest

    async def _counts(self, plan: Plan) -> tuple[int, list[dict[str, Any]], bool]:
        expected = await self._estimate(plan.where_sql, plan.args)
        share = min(1.0, self.exact_upto / max(expected, 1))
        source, source_args, sample, sample_args = "search_docs d", [], "", []
        where, where_args = plan.where_sql, plan.args
        if share <= _SAMPLE_BLOCKS_UPTO:
            # Broad: a random share of the table's blocks, every row of them checked. Cheaper than
            # intersecting the text index's long posting lists (most of this query's time before,
            # scripts/bench/search.py); REPEATABLE keeps a query's figures steady between requests.
            source, source_args = "search_docs d TABLESAMPLE SYSTEM ({}) REPEATABLE (0)", [share * 100]
        elif share < 1:
            # Between: the documents of the first few buckets, an index range.
            buckets = math.ceil(_BUCKETS * share)
            share = buckets / _BUCKETS
            sample, sample_args = " AND d.bucket < {}", [buckets]
            filters = " AND ".join(plan.filters)
            # Asked only here: the filters' own estimate matters to this band alone.
            if plan.match and filters and await self._estimate(filters, plan.filter_args) * share <= _TEXT_CHECKED_UPTO:
                # Few filtered rows in the sample: check the text on each of them rather than
                # build the text index's bitmap of every match (a common word's posting lists
                # cost ~20 ms at 100k; sampled rows ~3 µs each). OFFSET 0 keeps the planner from
                # moving the text condition back into the index scan.
                source = f"(SELECT d.tsv, d.facets FROM search_docs d WHERE {filters}{sample} OFFSET 0) d"
                source_args, sample, sample_args = [*plan.filter_args, buckets], "", []
                where, where_args = plan.match, plan.match_args
        rows = await self.q(
            f"SELECT f, count(*) AS n FROM {source} CROSS JOIN LATERAL unnest(d.facets) AS f "
            f"WHERE {where}{sample} GROUP BY f",
            *source_args,
            *where_args,
            *sample_args,
        )
        total, facet_rows = 0, []
        for row in rows:
            n = round(int(row["n"]) / share)
            if row["f"] == _ALL:
                total = n
            else:
                field, _, value = row["f"].partition("=")
                facet_rows.append({"field": field, "value": value, "n": n})
        if share < 1 and not total:
            total = expected  # the sample missed every match; the planner's figure is the best left
        return total, facet_rows, share >= 1

    async def _estimate(self, where: str, args: list[Any]) -> int:
        """The planner's row estimate for a condition: a cheap count for choosing the method."""
        rows = await self.q(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM search_docs d WHERE {where}", *args)
        raw = rows[0]["QUERY PLAN"]
        tree = json.loads(raw) if isinstance(raw, str) else raw
        return int(tree[0]["Plan"]["Plan Rows"])

    async def _known(self, term: str) -> bool:
        return bool(await self.q("SELECT 1 FROM search_words WHERE word = {}", term))

    async def _candidates(self, term: str) -> list[str]:
        rows = await self.q(
            "SELECT word FROM search_words WHERE word % {} ORDER BY similarity(word, {}) DESC LIMIT 50", term, term
        )
        return [r["word"] for r in rows]

    async def suggest(self, prefix: str, limit: int) -> list[str]:
        words = text.query_terms(prefix)
        if not words:
            return []
        # Titles, tags and creators only, as on SQLite: a description word is no suggestion.
        tsquery = " & ".join([*words[:-1], f"{words[-1]}:*"])
        rows = await self.q(
            f"SELECT doc FROM search_docs WHERE head @@ {_TSQUERY} "
            "ORDER BY popularity DESC, published_at DESC LIMIT {}",
            tsquery,
            limit,
        )
        return distinct_titles(rows)


def _tsquery(matched: list[list[str]]) -> str:
    groups = []
    for i, alternatives in enumerate(matched):
        # Words are \w+ only, so none of tsquery's operators can reach to_tsquery.
        options = list(alternatives)
        if i == len(matched) - 1:
            options.append(f"{alternatives[0]}:*")
        groups.append("(" + " | ".join(options) + ")")
    return " & ".join(groups)
