# ruff: noqa: S608 - SQL here joins fixed fragments and {} placeholders; values travel as parameters
"""PostgreSQL search: a weighted tsvector for matching and ranking, pg_trgm for typo tolerance."""

from __future__ import annotations

from typing import Any

from app.search import text
from app.search.protocol import SearchDoc
from app.search.sql import SqlSearch, distinct_titles, searchable_text


class PostgresSearch(SqlSearch):
    name = "postgres"
    probe_table = "search_words"
    ddl = (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE TABLE IF NOT EXISTS search_docs (rid BIGSERIAL PRIMARY KEY, id TEXT UNIQUE NOT NULL, "
        "doc TEXT NOT NULL, price BIGINT NOT NULL, is_free BOOLEAN NOT NULL, bpm INTEGER, "
        "popularity INTEGER NOT NULL, published_at BIGINT NOT NULL, tsv TSVECTOR, suggest TEXT)",
        "CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING GIN (tsv)",
        "CREATE INDEX IF NOT EXISTS search_docs_published ON search_docs (published_at)",
        "CREATE INDEX IF NOT EXISTS search_docs_price ON search_docs (price)",
        "CREATE INDEX IF NOT EXISTS search_docs_suggest ON search_docs USING GIN (suggest gin_trgm_ops)",
        "CREATE TABLE IF NOT EXISTS search_terms (rid BIGINT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS search_terms_fv ON search_terms (field, value, rid)",
        "CREATE INDEX IF NOT EXISTS search_terms_rid ON search_terms (rid)",
        # Every indexed word once; its trigram index finds near misses of a query word.
        "CREATE TABLE IF NOT EXISTS search_words (word TEXT PRIMARY KEY)",
        "CREATE INDEX IF NOT EXISTS search_words_trgm ON search_words USING GIN (word gin_trgm_ops)",
    )

    def text_tables(self) -> tuple[str, ...]:
        return ("search_words",)

    def _text_match(self, matched: list[list[str]]) -> tuple[str, str, str, list[Any], list[Any]]:
        groups = []
        for i, alternatives in enumerate(matched):
            # Words are \w+ only, so none of tsquery's operators can reach to_tsquery.
            options = list(alternatives)
            if i == len(matched) - 1:
                options.append(f"{alternatives[0]}:*")
            groups.append("(" + " | ".join(options) + ")")
        tsquery = " & ".join(groups)
        rank = "ts_rank_cd(d.tsv, to_tsquery('simple', {})) DESC"
        return "search_docs d", "d.tsv @@ to_tsquery('simple', {})", rank, [tsquery], [tsquery]

    extra_columns = ("tsv", "suggest")

    def _doc_extras(self, doc: SearchDoc) -> tuple[list[str], list[Any]]:
        title, tags, creator, description = searchable_text(doc)
        tsv = (
            "setweight(to_tsvector('simple', {}), 'A') || setweight(to_tsvector('simple', {}), 'B') || "
            "setweight(to_tsvector('simple', {}), 'C')"
        )
        return [tsv, "{}"], [title, f"{tags} {creator}", description, f"{title} {tags} {creator}"]

    async def _insert_texts(self, rows: list[tuple[int, SearchDoc]]) -> None:
        words = sorted({w for _, doc in rows for w in text.words(" ".join(searchable_text(doc)))})
        for i in range(0, len(words), 1000):
            piece = words[i : i + 1000]
            marks = ", ".join("({})" for _ in piece)
            await self.q(f"INSERT INTO search_words (word) VALUES {marks} ON CONFLICT DO NOTHING", *piece)

    async def _delete_texts(self, rids_sql: str, args: list[Any]) -> None:
        # The tsvector goes with its row; words stay (a stale word only widens a typo search).
        return None

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
        tsquery = " & ".join([*words[:-1], f"{words[-1]}:*"])
        rows = await self.q(
            "SELECT doc FROM search_docs WHERE tsv @@ to_tsquery('simple', {}) ORDER BY popularity DESC, "
            "published_at DESC LIMIT {}",
            tsquery,
            limit,
        )
        return distinct_titles(rows)
