"""Benchmark of background processing (issue 3, item 5): the job queue and the media functions.

    uv run python scripts/bench/media.py          # SQLite
    uv run python scripts/bench/media.py --pg     # also against a temporary PostgreSQL

Prints one table, every figure measured in this run, each next to its baseline:

1. jobs/s through the queue (enqueue, claim, run a no-op, finish) with one worker and with two
   workers of concurrency 4, against the same number of bare INSERT + UPDATE statements on the
   same database (the floor any database-backed queue pays).
2. enqueue-to-start latency with an idle worker in the same process (woken by the enqueue) and
   from another worker process (found by polling, interval 1 s).
3. audio: peaks of a 60 s stereo WAV, and its AAC preview, as multiples of real time, next to a
   bare PyAV decode of the same file.
4. zips: expanding 256 MiB with every guard on, against ``zipfile.extractall``.
5. images: WebP thumbnails (640 and 1280) of a 4000x3000 JPEG, against Pillow's own resize+save.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[2])]

import av  # noqa: E402
from PIL import Image  # noqa: E402

from app.core import db  # noqa: E402
from app.jobs import queue  # noqa: E402
from app.jobs.registry import JobContext, Registry  # noqa: E402
from app.jobs.tables import Job  # noqa: E402
from app.jobs.worker import Worker  # noqa: E402
from app.media import archives, audio, images  # noqa: E402
from tests.unit.media.helpers import sine_wav  # noqa: E402

JOBS = 400
Row = tuple[str, str, str, str]


def migrate(url: str, var_dir: Path) -> None:
    env = {**os.environ, "ECHOEL_DATABASE_URL": url, "ECHOEL_VAR_DIR": str(var_dir), "ECHOEL_ENVIRONMENT": "test"}
    subprocess.run([sys.executable, "-m", "app.cli", "migrate"], env=env, check=True, capture_output=True)


async def queue_bench(url: str, label: str) -> list[Row]:
    engine = db.make_engine(url)
    db.bind_tables(engine)
    await db.start(engine)
    try:
        registry = Registry()
        ran = {"n": 0}
        all_ran = asyncio.Event()

        @registry.register("bench.noop")
        async def noop(_job: JobContext) -> None:
            ran["n"] += 1
            if ran["n"] == JOBS:
                all_ran.set()

        async def through(workers: int, concurrency: int) -> float:
            await Job.delete(force=True)
            ran["n"] = 0
            all_ran.clear()
            for _ in range(JOBS):
                await queue.enqueue("bench.noop", {}, max_attempts=3)
            started = time.perf_counter()
            pool = [Worker(registry=registry, concurrency=concurrency, poll_seconds=0.05) for _ in range(workers)]
            for w in pool:
                w.start()
            await all_ran.wait()
            for w in pool:
                await w.stop()  # lets the last jobs record their outcome
            elapsed = time.perf_counter() - started
            assert await Job.count().where(Job.status == "done") == JOBS
            return JOBS / elapsed

        async def bare() -> float:
            await Job.delete(force=True)
            started = time.perf_counter()
            for _ in range(JOBS):
                rows = await Job.insert(Job(kind="bare", run_at_ms=0, created_at_ms=0)).returning(Job.id)
                await Job.update({Job.status: "done"}).where(Job.id == rows[0]["id"])
            return JOBS / (time.perf_counter() - started)

        one, two, floor = await through(1, 1), await through(2, 4), await bare()
        lag = await local_lag(registry)
        await Job.delete(force=True)
        return [
            (f"jobs/s, 1 worker ({label})", f"{one:.0f}", f"bare insert+update {floor:.0f}/s", f"{one / floor:.2f}"),
            (
                f"jobs/s, 2 workers x4 ({label})",
                f"{two:.0f}",
                f"bare insert+update {floor:.0f}/s",
                f"{two / floor:.2f}",
            ),
            (f"enqueue->start, same process ({label})", f"{lag * 1000:.1f} ms", "poll interval 1000 ms", ""),
        ]
    finally:
        await db.stop(engine)


async def local_lag(registry: Registry) -> float:
    from app import jobs

    started: list[float] = []
    enough = asyncio.Event()

    @registry.register("bench.lag")
    async def mark(job: JobContext) -> None:
        started.append(time.perf_counter() - job.payload["t"])
        if len(started) == 20:
            enough.set()

    worker = Worker(registry=registry, poll_seconds=1.0)
    worker.start()
    await asyncio.sleep(0.2)
    for _ in range(20):
        # perf_counter is per process: fine, the worker is in this process.
        await jobs.enqueue("bench.lag", {"t": time.perf_counter()})
        await asyncio.sleep(0.05)
    await enough.wait()
    await worker.stop()
    return sorted(started)[10]


def timed(fn: Any, *args: Any, repeat: int = 1) -> float:
    """The best of ``repeat`` runs (the first run also pays for a cold page cache)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - started)
    return best


def media_bench(tmp: Path) -> list[Row]:
    wav = sine_wav(tmp / "a.wav", seconds=60.0)

    def bare_decode() -> None:
        with av.open(str(wav)) as c:
            for _ in c.decode(audio=0):
                pass

    decode = timed(bare_decode)
    peaks = timed(audio.analyse, wav)
    preview = timed(audio.transcode_preview, wav, tmp / "p.m4a")

    big = tmp / "big.zip"
    block = os.urandom(1024 * 1024)
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(64):
            # Random data repeated within a file: deflate finds little, as with real samples.
            zf.writestr(f"samples/{i:03d}.wav", block * 4)

    def guard() -> None:
        shutil.rmtree(tmp / "guarded", ignore_errors=True)
        archives.expand_zip(big, tmp / "guarded")

    def plain() -> None:
        shutil.rmtree(tmp / "plain", ignore_errors=True)
        with zipfile.ZipFile(big) as zf:
            zf.extractall(tmp / "plain")

    guarded, unguarded = timed(guard, repeat=2), timed(plain, repeat=2)

    photo = tmp / "photo.jpg"
    # A cover-like picture: smooth shading with some grain (pure noise would measure WebP alone).
    shade = Image.radial_gradient("L").resize((4000, 3000))
    grain = Image.effect_noise((4000, 3000), 12)
    Image.merge("RGB", (shade, Image.blend(shade, grain, 0.3), grain)).save(photo, quality=90)
    thumbs = timed(images.make_thumbnails, photo, tmp / "thumbs", repeat=2)

    def pillow_only() -> None:
        with Image.open(photo) as im:
            for w in (640, 1280):
                im.resize((w, w * 3 // 4), Image.Resampling.LANCZOS).save(tmp / f"p{w}.webp", "WEBP", quality=82)

    pillow = timed(pillow_only, repeat=2)
    return [
        (
            "audio peaks, 60 s WAV",
            f"{60 / peaks:.0f}x real time",
            f"bare decode {60 / decode:.0f}x",
            f"{decode / peaks:.2f}",
        ),
        ("audio AAC preview, 60 s WAV", f"{60 / preview:.0f}x real time", f"bare decode {60 / decode:.0f}x", ""),
        (
            "zip expand 256 MiB, guarded",
            f"{256 / guarded:.0f} MiB/s",
            f"extractall {256 / unguarded:.0f} MiB/s",
            f"{unguarded / guarded:.2f}",
        ),
        (
            "thumbnails 640+1280 of 12 MP JPEG",
            f"{thumbs * 1000:.0f} ms",
            f"Pillow alone {pillow * 1000:.0f} ms",
            f"{pillow / thumbs:.2f}",
        ),
    ]


def print_table(rows: list[Row]) -> None:
    head = ("measure", "value", "baseline", "ratio")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg", action="store_true", help="also measure the queue on a temporary PostgreSQL")
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.db'}"
        migrate(url, tmp / "var")
        rows += asyncio.run(queue_bench(url, "SQLite"))
        if args.pg:
            from tests.services.postgres import PostgresServer

            with PostgresServer() as server:
                pg = server.create_database("echoel_bench")
                migrate(pg, tmp / "var")
                rows += asyncio.run(queue_bench(pg, "PostgreSQL"))
        rows += media_bench(tmp)
    print_table(rows)


if __name__ == "__main__":
    main()
