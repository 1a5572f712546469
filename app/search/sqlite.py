# ruff: noqa: S608 - SQL here joins fixed fragments and {} placeholders; values travel as parameters
"""SQLite FTS5 search for the embedded default; typo tolerance from the FTS vocabulary."""

from __future__ import annotations

from typing import Any

from app.search import text
from app.search.protocol import SearchDoc
from app.search.sql import SqlSearch, distinct_titles, searchable_text


class SqliteSearch(SqlSearch):
    name = "sqlite"
    probes = ("SELECT 1 FROM search_docs LIMIT 0", "SELECT 1 FROM search_vocab LIMIT 0")
    ddl = (
        "CREATE TABLE IF NOT EXISTS search_docs (rid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, doc TEXT NOT NULL, "
        "price INTEGER NOT NULL, is_free INTEGER NOT NULL, bpm INTEGER, popularity INTEGER NOT NULL, "
        "published_at INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS search_docs_published ON search_docs (published_at)",
        "CREATE INDEX IF NOT EXISTS search_docs_price ON search_docs (price)",
        "CREATE TABLE IF NOT EXISTS search_terms (rid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS search_terms_fv ON search_terms (field, value, rid)",
        "CREATE INDEX IF NOT EXISTS search_terms_rid ON search_terms (rid)",
        # Text is folded before it gets here; prefix indexes make search-as-you-type cheap.
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, tags, creator, description, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_vocab USING fts5vocab(search_fts, 'row')",
    )

    def text_tables(self) -> tuple[str, ...]:
        return ("search_fts",)

    def _text_match(self, matched: list[list[str]]) -> tuple[str, str, str, list[Any], list[Any]]:
        groups = []
        for i, alternatives in enumerate(matched):
            # Every word is quoted: FTS5 syntax in the query is never interpreted.
            options = [f'"{w}"' for w in alternatives]
            if i == len(matched) - 1:
                options.append(f'"{alternatives[0]}"*')
            groups.append("(" + " OR ".join(options) + ")")
        source = "search_fts JOIN search_docs d ON d.rid = search_fts.rowid"
        return source, "search_fts MATCH {}", "bm25(search_fts, 10.0, 5.0, 3.0, 1.0)", [" AND ".join(groups)], []

    async def _insert_texts(self, rows: list[tuple[int, SearchDoc]]) -> None:
        if rows:
            await self.q(
                "INSERT INTO search_fts (rowid, title, tags, creator, description) VALUES "
                + ", ".join("({}, {}, {}, {}, {})" for _ in rows),
                *[x for rid, doc in rows for x in (rid, *searchable_text(doc))],
            )

    async def _delete_texts(self, rids_sql: str, args: list[Any]) -> None:
        await self.q(f"DELETE FROM search_fts WHERE rowid IN {rids_sql}", *args)

    async def _known(self, term: str) -> bool:
        return bool(await self.q("SELECT 1 FROM search_vocab WHERE term = {}", term))

    async def _candidates(self, term: str) -> list[str]:
        # Same first letter (a typo there is rare and costly to search for), similar length.
        first = term[0]
        # The length filter in SQL, before the LIMIT: a Python filter after it lost candidates.
        rows = await self.q(
            "SELECT term FROM search_vocab WHERE term >= {} AND term < {} AND length(term) BETWEEN {} AND {} "
            "ORDER BY doc DESC LIMIT 5000",
            first,
            first + "\U0010ffff",
            len(term) - 2,
            len(term) + 2,
        )
        return [r["term"] for r in rows]

    async def suggest(self, prefix: str, limit: int) -> list[str]:
        words = text.query_terms(prefix)
        if not words:
            return []
        match = " AND ".join(f'"{w}"' for w in words[:-1]) + (" AND " if len(words) > 1 else "") + f'"{words[-1]}"*'
        rows = await self.q(
            "SELECT d.doc FROM search_fts JOIN search_docs d ON d.rid = search_fts.rowid "
            "WHERE search_fts MATCH {} ORDER BY bm25(search_fts, 10.0, 5.0, 3.0, 1.0) LIMIT {}",
            "{title tags creator} : (" + match + ")",
            limit,
        )
        return distinct_titles(rows)
