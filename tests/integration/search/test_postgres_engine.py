"""What only the PostgreSQL engine does: title matches ranked first across pages, counts on a
sample for very broad queries, and an index of an older shape rebuilt by ``echoel migrate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.core import db
from app.search.postgres import PostgresSearch
from app.search.protocol import Filters, SearchQuery
from app.search.text import query_terms
from tests.conftest import new_database
from tests.integration.search.corpus import doc
from tests.integration.search.test_sync import make_creator, make_listing
from tests.services.postgres import PostgresServer
from tests.support import run_cli, test_env


@pytest.fixture
def pg(app: Litestar, db_url: str) -> PostgresSearch:
    if not db_url.startswith("postgres"):
        pytest.skip("PostgreSQL engine only")
    backend = app.state.search.backend
    assert isinstance(backend, PostgresSearch)
    return backend


async def empty(pg: PostgresSearch) -> None:
    """Clear the index and its statistics: a later test must not be planned as 3,000 documents."""
    await pg.clear()
    await pg.q("ANALYZE search_docs")


async def search(backend: PostgresSearch, q: str = "", offset: int = 0, limit: int = 20, **filters: Any) -> Any:
    query = SearchQuery(terms=query_terms(q), filters=Filters(**filters), offset=offset, limit=limit)
    return await backend.search(query)


async def test_relevance_pages_list_title_matches_first_and_every_match_once(
    pg: PostgresSearch, client: httpx.AsyncClient
) -> None:
    await pg.clear()
    in_title = [doc(i, f"Reese Bass {i}", description="a heavy low end") for i in range(1, 8)]
    in_description = [doc(i, f"Low End {i}", description="a reese under the drop") for i in range(8, 16)]
    elsewhere = [doc(i, f"Bright Keys {i}", description="nothing low here") for i in range(16, 21)]
    await pg.upsert([*in_description, *elsewhere, *in_title])

    seen: list[str] = []
    for offset in range(0, 21, 3):  # pages of three, one of them straddling the two groups
        page = await search(pg, "reese", offset=offset, limit=3)
        assert page.total == 15 and page.exhaustive
        seen += [h.doc.id for h in page.hits]
    assert len(seen) == len(set(seen)) == 15
    assert set(seen[:7]) == {d.id for d in in_title}
    assert set(seen[7:]) == {d.id for d in in_description}


async def test_broad_queries_count_on_a_sample_and_say_so(pg: PostgresSearch, client: httpx.AsyncClient) -> None:
    await pg.clear()
    n = 3_000
    docs = [
        doc(i, f"Pad {i}", description="warm evolving pad " * 8, kind="sample_pack" if i % 3 else "preset")
        for i in range(1, n + 1)
    ]
    for start in range(0, n, 500):
        await pg.upsert(docs[start : start + 500])
    await pg.q("ANALYZE search_docs")

    pg.exact_upto = 5_000
    try:
        exact = await search(pg, "pad")
        pg.exact_upto = 300  # the planner expects 3,000 matches: a tenth of the table's blocks
        broad = await search(pg, "pad")
        again = await search(pg, "pad")
        pg.exact_upto = 1_000  # a third of the matches: the documents of 34 buckets of 100
        middle = await search(pg, "pad")
        pg.exact_upto = 300
        narrow = await search(pg, "pad", kind=["preset"], bpm_max=10)  # no BPM set: expects few
        response = await client.get("/api/v1/search/", params={"q": "pad"})
    finally:
        pg.exact_upto = PostgresSearch.exact_upto
    assert (exact.total, exact.exhaustive) == (n, True)
    assert exact.facets["kind"] == {"sample_pack": 2_000, "preset": 1_000}
    assert not broad.exhaustive
    assert 0.6 * n <= broad.total <= 1.4 * n
    kinds = broad.facets["kind"]
    assert 0.6 * 2_000 <= kinds["sample_pack"] <= 1.4 * 2_000 and 0.6 * 1_000 <= kinds["preset"] <= 1.4 * 1_000
    assert [h.doc.title for h in broad.hits] == [h.doc.title for h in exact.hits]  # the page itself is exact
    assert (again.total, again.facets) == (broad.total, broad.facets)  # the same sample each time
    assert not middle.exhaustive and 0.6 * n <= middle.total <= 1.4 * n
    assert 0.6 * 1_000 <= middle.facets["kind"]["preset"] <= 1.4 * 1_000
    assert (narrow.total, narrow.exhaustive) == (0, True)
    body = response.json()
    assert response.status_code == 200 and body["exhaustive"] is False
    await empty(pg)


async def test_a_filtered_sample_checks_the_text_row_by_row_with_the_same_figures(
    pg: PostgresSearch, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pg.clear()
    docs = [
        doc(i, f"Pad {i}", description="warm pad", kind="sample_pack" if i % 3 else "preset") for i in range(1, 3001)
    ]
    for start in range(0, len(docs), 500):
        await pg.upsert(docs[start : start + 500])
    await pg.q("ANALYZE search_docs")
    statements: list[str] = []
    query = pg.q

    async def watched(sql: str, *args: Any) -> Any:
        statements.append(sql)
        return await query(sql, *args)

    monkeypatch.setattr(pg, "q", watched)
    # 2,000 sample packs match: half of them are sampled, 1,000 filtered rows to check one by one.
    monkeypatch.setattr(pg, "exact_upto", 1_000)
    by_row = await search(pg, "pad", kind=["sample_pack"])
    assert any("OFFSET 0" in s for s in statements)
    statements.clear()
    monkeypatch.setattr("app.search.postgres._TEXT_CHECKED_UPTO", 0)  # the text index's bitmap instead
    by_index = await search(pg, "pad", kind=["sample_pack"])
    assert not any("OFFSET 0" in s for s in statements)
    assert not by_row.exhaustive and 0.6 * 2_000 <= by_row.total <= 1.4 * 2_000
    assert by_row.facets["kind"] == {"sample_pack": by_row.total}
    assert (by_row.total, by_row.facets) == (by_index.total, by_index.facets)
    assert [h.doc.id for h in by_row.hits] == [h.doc.id for h in by_index.hits]
    await empty(pg)


async def test_migrate_rebuilds_an_index_of_an_older_shape_and_refills_it(
    pg: PostgresSearch, postgres: PostgresServer, tmp_path: Path
) -> None:
    url = new_database("postgres", postgres, tmp_path)
    engine = db.make_engine(url)
    async with db.connected(engine):
        listing = await make_listing(await make_creator(), "Upgrade Survivor Pack")
        # An index from before the facets and head columns existed, holding nothing.
        await engine.run_ddl("DROP TABLE search_docs")
        await engine.run_ddl("CREATE TABLE search_docs (rid BIGSERIAL PRIMARY KEY, id TEXT UNIQUE, doc TEXT)")
        backend = PostgresSearch(engine)
        # Which missing column PostgreSQL names first (head, tsv, facets) depends on the query.
        with pytest.raises(Exception, match=r"column \S+ does not exist"):
            await search(backend, "survivor")

        result = run_cli(["migrate"], test_env(url, tmp_path / "var"))
        assert result.returncode == 0, result.stderr
        found = await search(backend, "survivor")
    assert [h.doc.id for h in found.hits] == [str(listing.id)]
