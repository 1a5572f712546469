"""Benchmark of the foundation (issue 2): JSON throughput, log-in latency, p99 under a log-in storm.

    uv run python scripts/bench/auth.py            # SQLite, about 2.5 minutes
    uv run python scripts/bench/auth.py --pg       # also against a temporary PostgreSQL

Prints one table, every figure measured in this run and side by side:

1. requests/s of small JSON endpoints of Echoel with its full middleware stack (``/healthz``, and
   ``/api/v1/account/`` with a Bearer token, which also loads the user from the database) against
   a bare Litestar hello-world app on the same server and settings; both one worker, loaded by
   wrk in alternating rounds; medians. Goal: ratio >= 0.7.
2. log-in latency p50/p99 for sequential log-ins at bcrypt cost 12 (the production default),
   next to bcrypt.checkpw alone at the same cost.
3. p99 of those JSON endpoints from a fixed-rate probe while idle and while a log-in storm
   keeps the password-hashing pool saturated. Goal: storm p99 <= 2x idle p99.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

import bcrypt
import httpx

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parent)]

from _load import Server, fmt, free_port, median, percentile, print_table, probe, wrk  # noqa: E402

EMAIL, PASSWORD, HANDLE = "bench@example.com", "bench password, long enough", "bench"
ROUNDS = 12
ACCOUNT = "/api/v1/account/"
Row = tuple[str, str, str, str, str, str]


def app_env(var_dir: str, database_url: str, hash_threads: int | None) -> dict[str, str]:
    env = {
        "ECHOEL_VAR_DIR": var_dir,
        "ECHOEL_ENVIRONMENT": "development",
        "ECHOEL_BCRYPT_ROUNDS": str(ROUNDS),
        # The limiter and failure counter must not turn the storm into 429s.
        "ECHOEL_AUTH_MAX_FAILURES": "1000000",
        "ECHOEL_AUTH_REQUESTS_PER_MINUTE": "1000000",
    }
    if database_url:
        env["ECHOEL_DATABASE_URL"] = database_url
    if hash_threads:
        env["ECHOEL_HASH_THREADS"] = str(hash_threads)
    return env


def login_body() -> dict[str, object]:
    return {"email": EMAIL, "password": PASSWORD, "refresh_in_body": True}


def storm(url: str, clients: int, stop: Event, ok: Synchronized[int], bad: Synchronized[int]) -> None:
    """Child process: ``clients`` concurrent clients log in back to back until ``stop`` is set.

    Each client finishes its request in flight before stopping, so no hashing is left queued in
    the app when the storm is over.
    """

    async def client(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            r = await http.post("/api/v1/auth/login", json=login_body())
            counter = ok if r.status_code == 200 else bad
            with counter.get_lock():
                counter.value += 1

    async def main() -> None:
        limits = httpx.Limits(max_connections=clients)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
            await asyncio.gather(*(client(http) for _ in range(clients)))

    asyncio.run(main())


@contextmanager
def log_in_storm(url: str, clients: int) -> Iterator[tuple[Synchronized[int], Synchronized[int]]]:
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    ok, bad = ctx.Value("i", 0), ctx.Value("i", 0)
    process = ctx.Process(target=storm, args=(url, clients, stop, ok, bad), daemon=True)
    process.start()
    try:
        # Saturated once every client has sent its first log-in and the pool has answered some.
        deadline = time.monotonic() + 30
        while ok.value < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield ok, bad
    finally:
        stop.set()
        process.join(timeout=120)
        if process.is_alive():
            process.terminate()


def throughput(app: Server, base: Server, token: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """wrk rounds alternating app and baseline; requests/s per target and round."""
    auth = {"Authorization": f"Bearer {token}"}
    targets = {
        "hello": (base.url + "/", None),
        "/healthz": (app.url + "/healthz", None),
        ACCOUNT: (app.url + ACCOUNT, auth),
    }
    for url, headers in targets.values():  # warm-up: imports, caches, JIT-free but lazy paths
        wrk(url, 1, args.connections, headers)
    figures: dict[str, list[float]] = {name: [] for name in targets}
    names = ["/healthz", "hello", ACCOUNT, "hello"]
    for i in range(args.rounds):
        # Reversed every other round so slow drift (heat, other tenants) lands on both sides.
        for name in names if i % 2 == 0 else names[::-1]:
            url, headers = targets[name]
            figures[name].append(wrk(url, args.seconds, args.connections, headers))
    return figures


def login_latency(app: Server, count: int) -> list[float]:
    with httpx.Client(base_url=app.url, timeout=60) as http:
        http.post("/api/v1/auth/login", json=login_body()).raise_for_status()
        times = []
        for _ in range(count):
            t = time.perf_counter()
            http.post("/api/v1/auth/login", json=login_body()).raise_for_status()
            times.append((time.perf_counter() - t) * 1000)
    return times


def bcrypt_alone(count: int) -> list[float]:
    hashed = bcrypt.hashpw(b"x" * 44, bcrypt.gensalt(ROUNDS))
    times = []
    for _ in range(count):
        t = time.perf_counter()
        bcrypt.checkpw(b"x" * 44, hashed)
        times.append((time.perf_counter() - t) * 1000)
    return times


def storm_probe(app: Server, token: str, args: argparse.Namespace) -> tuple[dict[str, dict[str, list[float]]], float]:
    """Probe latencies per condition (idle, storm) and path, alternating; plus log-ins/s in storms."""
    paths = ["/healthz", ACCOUNT]
    headers = {"Authorization": f"Bearer {token}"}
    samples: dict[str, dict[str, list[float]]] = {c: {p: [] for p in paths} for c in ("idle", "storm")}
    logins, storm_time = 0, 0.0
    asyncio.run(probe(app.port, paths, args.rate, 1, headers))  # warm-up
    for _ in range(args.probe_rounds):
        for path, values in asyncio.run(probe(app.port, paths, args.rate, args.probe_seconds, headers)).items():
            samples["idle"][path] += values
        with log_in_storm(app.url, args.storm_clients) as (ok, bad):
            before, t = ok.value, time.perf_counter()
            result = asyncio.run(probe(app.port, paths, args.rate, args.probe_seconds, headers))
            logins, storm_time = logins + ok.value - before, storm_time + time.perf_counter() - t
            if bad.value:
                raise RuntimeError(f"{bad.value} log-ins failed during the storm")
        for path, values in result.items():
            samples["storm"][path] += values
    return samples, logins / storm_time


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def measure(label: str, database_url: str, base: Server, args: argparse.Namespace) -> list[Row]:
    var_dir = tempfile.mkdtemp(prefix="echoel-bench-var-")
    env = app_env(var_dir, database_url, args.hash_threads)
    if database_url:
        from tests.support import run_cli

        done = run_cli(["migrate"], env)
        if done.returncode:
            raise RuntimeError(f"migrate failed: {done.stderr}")
    port = free_port()
    argv = [sys.executable, "-m", "app.cli", "run", "--port", str(port), "--workers", "1"]
    with Server(f"echoel-{label}", argv, port, env, ready_path="/readyz") as app:
        signup = {"email": EMAIL, "password": PASSWORD, "handle": HANDLE}
        httpx.post(app.url + "/api/v1/auth/signup", json=signup, timeout=60).raise_for_status()
        token = httpx.post(app.url + "/api/v1/auth/login", json=login_body(), timeout=60).json()["access_token"]

        print(f"[{label}] throughput: {args.rounds} rounds of wrk, {args.seconds}s x {args.connections} connections")
        rps = throughput(app, base, token, args)
        print(f"[{label}] sequential log-ins: {args.logins}")
        logins = login_latency(app, args.logins)
        hashes = bcrypt_alone(max(5, args.logins // 4))
        print(
            f"[{label}] probe {args.rate:g} req/s, {args.probe_rounds} x ({args.probe_seconds}s idle,"
            f" {args.probe_seconds}s under {args.storm_clients} log-in clients)"
        )
        samples, logins_per_s = storm_probe(app, token, args)

    hello = median(rps["hello"])
    rows: list[Row] = []
    for name in ("/healthz", ACCOUNT):
        ratio = median(rps[name]) / hello
        metric = f"[{label}] req/s GET {name}" + (" (Bearer)" if name == ACCOUNT else "")
        rows.append(
            (metric, fmt(median(rps[name])), fmt(hello) + " hello", f"{ratio:.2f}", ">= 0.70", verdict(ratio >= 0.7))
        )
    for q in (50, 99):
        app_ms, alone_ms = percentile(logins, q), percentile(hashes, q)
        metric = f"[{label}] log-in p{q} (bcrypt {ROUNDS}, n={len(logins)})"
        rows.append(
            (metric, fmt(app_ms, " ms"), fmt(alone_ms, " ms") + " checkpw", f"{app_ms / alone_ms:.2f}", "-", "info")
        )
    for name in ("/healthz", ACCOUNT):
        for q in (50, 99):
            idle, busy = percentile(samples["idle"][name], q), percentile(samples["storm"][name], q)
            goal = q == 99
            metric = f"[{label}] p{q} GET {name} storm vs idle (n={len(samples['storm'][name])})"
            rows.append(
                (
                    metric,
                    fmt(busy, " ms"),
                    fmt(idle, " ms") + " idle",
                    f"{busy / idle:.2f}",
                    "<= 2.00" if goal else "-",
                    verdict(busy <= 2 * idle) if goal else "info",
                )
            )
    rows.append((f"[{label}] log-ins/s during storm", fmt(logins_per_s), "-", "-", "-", "info"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5, help="each wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating wrk rounds (default 3)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--logins", type=int, default=40, help="sequential log-ins timed (default 40)")
    parser.add_argument("--rate", type=float, default=200, help="probe requests/s (default 200)")
    parser.add_argument("--probe-seconds", type=float, default=10, help="each probe window (default 10)")
    parser.add_argument("--probe-rounds", type=int, default=2, help="idle/storm window pairs (default 2)")
    parser.add_argument("--storm-clients", type=int, default=16, help="concurrent log-in clients (default 16)")
    parser.add_argument("--hash-threads", type=int, help="ECHOEL_HASH_THREADS for the app (default: the app's, 1)")
    parser.add_argument("--pg", action="store_true", help="also run against a temporary PostgreSQL")
    args = parser.parse_args()

    print(f"Echoel auth benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, bcrypt cost {ROUNDS}")
    # Other work on the cores shows up directly in p99: say how busy the machine was.
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    started = time.monotonic()
    port = free_port()
    with Server("hello", [sys.executable, "scripts/bench/_hello.py", str(port)], port, {}) as base:
        rows = measure("sqlite", "", base, args)
        print()
        print_table(rows)  # printed now too, so a failure later does not lose these figures
        print()
        if args.pg:
            from tests.services.postgres import PostgresServer

            pg = PostgresServer().start()
            try:
                rows += measure("postgres", pg.create_database("bench"), base, args)
            finally:
                pg.stop()
    print(f"\nmeasured in {time.monotonic() - started:.0f} s, load average after: {os.getloadavg()[0]:.1f}\n")
    print_table(rows)


if __name__ == "__main__":
    main()
