"""Search benchmark: per engine, the search endpoint beside the raw engine query, at 100k listings.

    uv run python scripts/bench/search.py [--docs 100000] [--backends sqlite,postgres]

For each database engine it fills the search index with generated listings (straight into the
index tables: the engine is what is measured), then runs one query mix twice in the same
loop: once as raw engine calls in this process, once through the HTTP endpoint of a real
`echoel run` on the same database, interleaved query by query so machine noise hits both.
It also prints indexing throughput and the outbox lag (listing committed → in the index) with
the app's own job worker applying the outbox. Nothing here asserts; the figures go in notes.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.accounts.tables import User
from app.catalog.tables import Listing
from app.core import db
from app.search import outbox, text
from app.search.backends import database_backend
from app.search.protocol import Filters, SearchDoc, SearchQuery
from scripts.bench._load import Server, fmt, free_port, percentile, print_table
from tests.services.postgres import PostgresServer
from tests.support import TEST_ENV, run_cli

WORDS = [
    "serum",
    "vital",
    "massive",
    "pigments",
    "diva",
    "omnisphere",
    "pluck",
    "pad",
    "bass",
    "lead",
    "keys",
    "arp",
    "chord",
    "drone",
    "ambient",
    "techno",
    "house",
    "trance",
    "dubstep",
    "lofi",
    "cinematic",
    "analog",
    "warm",
    "dark",
    "bright",
    "evolving",
    "glitch",
    "riser",
    "impact",
    "vocal",
    "chop",
    "bell",
    "brass",
    "strings",
    "piano",
    "organ",
    "synthwave",
    "retro",
    "future",
    "garage",
    "drill",
    "trap",
    "hyperpop",
    "granular",
    "modular",
    "texture",
    "foley",
    "kick",
    "snare",
    "hats",
    "percussion",
    "loop",
    "midi",
    "wavetable",
    "reese",
    "growl",
    "wobble",
    "supersaw",
    "stab",
    "sub",
    "atmosphere",
    "shimmer",
    "dusty",
]
KINDS = ["preset", "preset_bank", "sample_pack", "project_template", "midi_pack", "wavetable"]
SYNTHS = ["Serum", "Vital", "Massive X", "Pigments", "Diva", "Omnisphere", ""]
QUERIES: list[tuple[str, dict[str, object]]] = [
    ("serum pluck", {}),
    ("serun pluk", {}),
    ("ambient pad", {"kind": ["preset_bank"]}),
    ("dark techno", {"bpm_min": 120, "bpm_max": 135}),
    ("warm keys", {"free_only": True}),
    ("reese", {"synth": ["Serum"]}),
    ("granular texture", {}),
    ("lofi", {"tags": ["dusty"]}),
    ("", {"kind": ["sample_pack"]}),
    ("cinematc riser", {}),
    ("supersaw", {"price_max": 2000}),
    ("vocal chop", {"formats": ["wav"]}),
]


def generate(n: int, seed: int = 7) -> list[SearchDoc]:
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        title = " ".join(rnd.sample(WORDS, 3)).title()
        free = rnd.random() < 0.3
        docs.append(
            SearchDoc(
                id=str(uuid.UUID(int=i + 1)),
                slug=f"item-{i}",
                title=title,
                description=" ".join(rnd.choices(WORDS, k=30)),
                tags=rnd.sample(WORDS, 3),
                creator=f"creator{rnd.randrange(2000)}",
                creator_name="Bench Maker",
                kind=rnd.choice(KINDS),
                synth=rnd.choice(SYNTHS),
                synth_versions=[rnd.choice(["1", "1.5", "2"])],
                daw=rnd.choice(["Ableton Live", "FL Studio", "Bitwig", ""]),
                formats=[rnd.choice(["wav", "fxp", "vital", "mid", "als"])],
                genre=rnd.choice(["Techno", "House", "Ambient", "Lo-fi", "DnB"]),
                musical_key=rnd.choice(["A minor", "C major", "F# minor", ""]),
                bpm=rnd.choice([None, *range(70, 180)]),
                price=0 if free else rnd.randrange(100, 5000),
                currency="USD",
                is_free=free,
                popularity=rnd.randrange(1000),
                published_at=1_700_000_000 + i,
            )
        )
    return docs


def query_params(q: str, f: dict[str, object]) -> list[tuple[str, str]]:
    names = {"formats": "format", "tags": "tag", "free_only": "free"}
    params: list[tuple[str, str]] = [("q", q)] if q else []
    for key, value in f.items():
        for v in value if isinstance(value, list) else [value]:
            params.append((names.get(key, key), str(v).lower() if isinstance(v, bool) else str(v)))
    return params


async def bench_backend(kind: str, url: str, folder: Path, n: int, rounds: int) -> list[tuple[str, ...]]:
    env = {
        **TEST_ENV,
        "ECHOEL_DATABASE_URL": url,
        "ECHOEL_VAR_DIR": str(folder / "var"),
        "ECHOEL_JOBS_POLL_SECONDS": "0.2",
    }
    result = run_cli(["migrate"], env)
    assert result.returncode == 0, result.stderr
    engine = db.make_engine(url)
    db.bind_tables(engine)
    await db.start(engine)
    backend = database_backend(engine)
    await backend.ensure_index()
    docs = generate(n)
    started = time.perf_counter()
    for i in range(0, n, 1000):
        await backend.upsert(docs[i : i + 1000])
        print(f"\r  {kind}: indexed {min(i + 1000, n):,}/{n:,}", end="", file=sys.stderr, flush=True)
    await backend.optimize()  # what `echoel reindex` ends with
    index_rate = n / (time.perf_counter() - started)
    print(file=sys.stderr)
    rows: list[tuple[str, ...]] = []
    port = free_port()
    app = Server(
        "app",
        [sys.executable, "-m", "app.cli", "run", "--port", str(port)],
        port,
        {**env, "ECHOEL_PORT": str(port)},
        ready_path="/readyz",
    )
    with app:
        raw: list[float] = []
        endpoint: list[float] = []
        async with httpx.AsyncClient(base_url=app.url, timeout=30) as client:
            for _ in range(rounds):
                for q, f in QUERIES:
                    query = SearchQuery(terms=text.query_terms(q), filters=Filters(**f), sort="relevance", limit=20)  # type: ignore[arg-type]
                    t = time.perf_counter()
                    await backend.search(query)
                    raw.append((time.perf_counter() - t) * 1000)
                    t = time.perf_counter()
                    r = await client.get("/api/v1/search/", params=query_params(q, f))
                    endpoint.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
        for p in (50, 95):
            e, w = percentile(endpoint, p), percentile(raw, p)
            goal = "≤ 2.0" if p == 95 else ""
            verdict = ("pass" if e / w <= 2 else "miss") if p == 95 else ""
            rows.append((f"{kind} search p{p} (ms)", fmt(e), fmt(w), f"{e / w:.2f}", goal, verdict))
        if kind == "postgres":
            e95 = percentile(endpoint, 95)
            rows.append(("postgres endpoint p95 (ms)", fmt(e95), "", "", "≤ 50", "pass" if e95 <= 50 else "miss"))
        rows.append((f"{kind} indexing (docs/s)", fmt(index_rate), "", "", "", ""))
        lags = await outbox_lag(20)
        p99 = percentile(lags, 99)
        rows.append((f"{kind} outbox lag p99 (s)", fmt(p99), "", "", "< 2", "pass" if p99 < 2 else "miss"))
    await db.stop(engine)
    return rows


async def outbox_lag(count: int) -> list[float]:
    """Commit ``count`` listing changes at 10/s; time each until the app's worker applied it.

    A watcher polls the outbox every 20 ms while the changes are being made, so each lag is
    measured as it ends (not after the last change was written).
    """
    creator = User(
        email=f"lag{uuid.uuid4().hex[:6]}@example.com",
        handle=f"lag{uuid.uuid4().hex[:6]}",
        password_hash="x",
        role="creator",
    )
    await creator.save()
    pending: dict[int, float] = {}
    lags: list[float] = []
    writing = True

    async def watch() -> None:
        deadline = None
        while writing or pending:
            left = {r["id"] for r in await outbox.SearchOutbox.select(outbox.SearchOutbox.id)}
            now = time.perf_counter()
            for row_id in [r for r in pending if r not in left]:
                lags.append(now - pending.pop(row_id))
            if not writing:
                deadline = deadline or now + 30
                if now > deadline:
                    break
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    for i in range(count):
        t = int(time.time())
        listing = Listing(
            creator=creator.id,
            slug=f"lag-{i}-{uuid.uuid4().hex[:4]}",
            kind="preset",
            title=f"Lag {i}",
            status="published",
            created_at=t,
            updated_at=t,
            published_at=t,
        )
        async with Listing._meta.db.transaction():
            await listing.save()
            await outbox.note(listing.id)
            row = (
                await outbox.SearchOutbox.select(outbox.SearchOutbox.id)
                .order_by(outbox.SearchOutbox.id, ascending=False)
                .first()
            )
        if row:
            pending[row["id"]] = time.perf_counter()  # committed just now
        await asyncio.sleep(0.1)
    writing = False
    await watcher
    lags.extend(30.0 for _ in pending)
    return lags


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10, help="passes over the query mix")
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(prefix="echoel-bench-search-") as tmp:
        folder = Path(tmp)
        for kind in args.backends.split(","):
            if kind == "sqlite":
                rows += await bench_backend(kind, f"sqlite:///{folder / 'bench.db'}", folder, args.docs, args.rounds)
            else:
                with PostgresServer() as pg:
                    url = pg.create_database("bench")
                    rows += await bench_backend(kind, url, folder, args.docs, args.rounds)
    print(f"\nsearch at {args.docs:,} listings; app = through the HTTP endpoint, baseline = raw engine call\n")
    print_table(rows)  # type: ignore[arg-type]


if __name__ == "__main__":
    asyncio.run(main())
