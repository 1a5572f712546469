"""One behaviour suite for every search backend: SQLite FTS5 and PostgreSQL always (through the
``db_url`` parameter), Meilisearch when MEILI_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.core.settings import load_settings
from app.search.protocol import Filters, SearchBackend, SearchQuery
from app.search.text import query_terms
from tests.integration.search.corpus import CORPUS, HOSTILE


@pytest.fixture(params=["database", "meili"])
async def backend(request: pytest.FixtureRequest, app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[Any]:
    if request.param == "database":
        engine: SearchBackend = app.state.search.backend
    else:
        if not os.environ.get("MEILI_URL"):
            pytest.skip("MEILI_URL is not set (Meilisearch cannot be installed on this machine)")
        from app.search.meili import MeiliSearch

        settings = load_settings(
            {
                "ECHOEL_VAR_DIR": str(app.state.settings.var_dir),
                "ECHOEL_MEILI_URL": os.environ["MEILI_URL"],
                "ECHOEL_MEILI_KEY": os.environ.get("MEILI_MASTER_KEY", ""),
                "ECHOEL_MEILI_INDEX": f"test_{uuid.uuid4().hex[:8]}",
            }
        )
        engine = MeiliSearch(settings)
    await engine.ensure_index()
    await engine.clear()
    await engine.upsert(CORPUS)
    yield engine
    await engine.clear()


async def find(backend: SearchBackend, q: str = "", sort: str = "relevance", **filters: Any) -> list[str]:
    result = await backend.search(
        SearchQuery(terms=query_terms(q), filters=Filters(**filters), sort=sort, limit=50)  # type: ignore[arg-type]
    )
    return [h.doc.title for h in result.hits]


async def test_exact_words(backend: SearchBackend) -> None:
    assert (await find(backend, "ambient pads"))[0] == "Vital Ambient Pads"


async def test_typos_are_forgiven(backend: SearchBackend) -> None:
    assert "Serum Pluck Essentials" in await find(backend, "serun pluck")
    assert "Vital Ambient Pads" in await find(backend, "ambeint")
    # Short words get no typo budget: "pad" must not match "pal"-like noise.
    assert await find(backend, "xqzv") == []


async def test_prefix_accents_and_creator(backend: SearchBackend) -> None:
    assert await find(backend, "tech") == ["Dark Techno Drums"]
    assert await find(backend, "cafe") == ["Café Piano Presets"]
    assert await find(backend, "CAFÉ piano") == ["Café Piano Presets"]
    assert set(await find(backend, "drone")) == {"Vital Ambient Pads", "Café Piano Presets"}
    assert set(await find(backend, "ana")) == {"Serum Pluck Essentials", "Dark Techno Drums"}


async def test_every_word_must_match(backend: SearchBackend) -> None:
    assert await find(backend, "serum drums") == []


async def test_filters(backend: SearchBackend) -> None:
    assert await find(backend, kind=["sample_pack"]) == ["Dark Techno Drums"]
    assert set(await find(backend, synth=["Serum"])) == {"Serum Pluck Essentials", "<b>Bold</b> Bass & Co"}
    assert await find(backend, synth=["Serum"], synth_versions=["1"]) == ["<b>Bold</b> Bass & Co"]
    assert await find(backend, daw=["Ableton Live"]) == ["Dark Techno Drums"]
    assert await find(backend, formats=["wav"]) == ["Dark Techno Drums"]
    assert await find(backend, genre=["Ambient"]) == ["Vital Ambient Pads"]
    assert await find(backend, tags=["pad", "ambient"]) == ["Vital Ambient Pads"]
    assert await find(backend, tags=["pad", "edm"]) == []
    assert set(await find(backend, bpm_min=120, bpm_max=130)) == {"Serum Pluck Essentials", "Dark Techno Drums"}
    assert await find(backend, musical_key=["C major"]) == ["Lo-fi Keys MIDI"]
    assert set(await find(backend, price_min=800, price_max=1500)) == {
        "Serum Pluck Essentials",
        "<b>Bold</b> Bass & Co",
    }
    assert set(await find(backend, free_only=True)) == {"Vital Ambient Pads", "Lo-fi Keys MIDI"}
    assert set(await find(backend, creator=["ben"])) == {"Vital Ambient Pads", "Café Piano Presets"}
    assert await find(backend, "pads", creator=["ana"]) == []


async def test_facet_counts(backend: SearchBackend) -> None:
    result = await backend.search(SearchQuery(terms=[], filters=Filters(), sort="newest", limit=2))
    assert result.total == len(CORPUS)
    assert result.facets["kind"] == {"preset_bank": 4, "sample_pack": 1, "midi_pack": 1}
    assert result.facets["creator"] == {"ana": 2, "ben": 2, "cleo": 1, "dee": 1}
    assert result.facets["synth"]["Serum"] == 2
    narrowed = await backend.search(SearchQuery(terms=["serum"], filters=Filters(), limit=10))
    assert narrowed.facets["creator"] == {"ana": 1, "dee": 1}


async def test_sorts(backend: SearchBackend) -> None:
    assert (await find(backend, sort="newest"))[0] == "<b>Bold</b> Bass & Co"
    prices = await find(backend, sort="price_asc", free_only=False, price_min=1)
    assert prices == ["Café Piano Presets", "<b>Bold</b> Bass & Co", "Serum Pluck Essentials", "Dark Techno Drums"]
    assert (await find(backend, sort="price_desc"))[0] == "Dark Techno Drums"
    assert (await find(backend, sort="popular"))[:2] == ["Vital Ambient Pads", "Serum Pluck Essentials"]


async def test_highlights_are_escaped(backend: SearchBackend) -> None:
    result = await backend.search(SearchQuery(terms=["bold", "bass"], filters=Filters(), limit=5))
    hit = result.hits[0]
    assert "&lt;b&gt;" in hit.title_html
    assert "<mark>" in hit.title_html
    assert "<script>" not in hit.snippet_html
    pluck = await backend.search(SearchQuery(terms=["serun"], filters=Filters(), limit=5))
    assert "<mark>Serum</mark>" in pluck.hits[0].title_html


async def test_pagination(backend: SearchBackend) -> None:
    pages = [
        await backend.search(SearchQuery(terms=[], filters=Filters(), sort="newest", offset=o, limit=4)) for o in (0, 4)
    ]
    titles = [h.doc.title for p in pages for h in p.hits]
    assert len(titles) == len(CORPUS)
    assert len(set(titles)) == len(CORPUS)
    assert pages[1].total == len(CORPUS)


async def test_delete_removes(backend: SearchBackend) -> None:
    await backend.delete([CORPUS[0].id])
    assert await find(backend, "serum pluck") == []
    assert CORPUS[0].id not in await backend.ids()


async def test_suggestions(backend: SearchBackend) -> None:
    assert await backend.suggest("vit", 5) == ["Vital Ambient Pads"]
    assert await backend.suggest("", 5) == []


async def test_hostile_queries_are_plain_text(backend: SearchBackend) -> None:
    for q in HOSTILE:
        await find(backend, q)
        await backend.suggest(q, 5)
    # Syntax in a query is never executed: the index is intact and plain searches still work.
    assert len(await backend.ids()) == len(CORPUS)
    assert await find(backend, "serum pluck") == ["Serum Pluck Essentials"]
