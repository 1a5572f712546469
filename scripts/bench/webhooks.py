"""Benchmark of Stripe webhook handling (issue 5): latency at 100 signed events/s, and throughput.

    uv run python scripts/bench/webhooks.py          # SQLite, about a minute
    uv run python scripts/bench/webhooks.py --pg     # also against a temporary PostgreSQL

The app runs as ``echoel run`` (one worker) with Stripe pointed at stripe-mock (the same binary
the tests use); pending orders are made through the real checkout API first. Events are built
and signed as Stripe signs them. The mix: half ``checkout.session.completed`` that fulfil an
order (entitlement, ledger, receipt job, in one transaction), a quarter redeliveries of those
(deduplicated by event id), a quarter event types we do not handle. The background job worker is
off so only webhook handling is measured.

Printed side by side, from the same run and the same client:

1. p50/p99 of webhook deliveries sent at a fixed 100 events/s (latency counted from when each
   was due), next to ``GET /healthz`` at the same rate. Goal: webhook p99 under 100 ms.
2. events/s with 16 deliveries in flight, next to ``/healthz`` requests/s the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

from _load import Server, fmt, free_port, median, percentile, print_table  # noqa: E402

from app.core.security import signature_header  # noqa: E402
from tests.services.stripe_mock import TEST_API_KEY, StripeMock  # noqa: E402

SECRET = "whsec_bench_" + "b" * 24
RATE, IN_FLIGHT = 100, 16
Row = tuple[str, str, str, str, str, str]


async def seed(url: str, orders: int) -> list[str]:
    """A creator, a published paid listing, a buyer, and ``orders`` pending orders with sessions."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        heads = []
        for creator in (True, False):
            tag = uuid.uuid4().hex[:10]
            me = {"email": f"b{tag}@example.com", "password": "bench password long enough", "handle": f"b{tag}"}
            assert (await c.post("/api/v1/auth/signup", json=me)).status_code == 202
            login = {"email": me["email"], "password": me["password"]}
            token = (await c.post("/api/v1/auth/login", json=login)).json()["access_token"]
            h = {"Authorization": f"Bearer {token}"}
            if creator:
                await c.post("/api/v1/account/creator", headers=h)
                token = (await c.post("/api/v1/auth/login", json=login)).json()["access_token"]
                h = {"Authorization": f"Bearer {token}"}
            heads.append(h)
        creator_h, buyer_h = heads
        body = {"kind": "preset", "title": "Bench pack", "price_kind": "fixed", "price_amount": 999}
        listing = (await c.post("/api/v1/listings", json=body, headers=creator_h)).json()
        data = b"bench preset"
        up = (
            await c.post(
                "/api/v1/uploads",
                json={
                    "listing_id": listing["id"],
                    "version": "1.0",
                    "file_name": "a.fxp",
                    "size": len(data),
                    "content_type": "application/octet-stream",
                    "role": "file",
                },
                headers=creator_h,
            )
        ).json()
        form = up["post"]
        await c.post(form["url"], data=form["fields"], files={"file": ("a", data, form["fields"]["Content-Type"])})
        await c.post(f"/api/v1/uploads/{up['id']}/complete", headers=creator_h)
        r = await c.post(f"/api/v1/listings/{listing['id']}/status", json={"status": "published"}, headers=creator_h)
        assert r.status_code == 200, r.text

        sem = asyncio.Semaphore(8)

        async def one() -> str:
            async with sem:
                cart = {"cart_id": str(uuid.uuid4()), "items": [{"listing_id": listing["id"]}]}
                r = await c.post("/api/v1/checkout", json=cart, headers=buyer_h)
                assert r.status_code == 201, r.text
                return str(r.json()["order_id"])

        ids = await asyncio.gather(*(one() for _ in range(orders)))
        orders_page = (await c.get("/api/v1/orders", headers=buyer_h)).json()
        assert len(orders_page) == orders
    return list(ids)


def events(orders: list[str], sessions: dict[str, str]) -> list[bytes]:
    """The delivery mix (see the module docstring), as raw bodies."""
    out: list[bytes] = []
    for order_id in orders:
        session = {
            "id": sessions[order_id],
            "object": "checkout.session",
            "client_reference_id": order_id,
            "metadata": {"order_id": order_id},
            "payment_status": "paid",
            "status": "complete",
            "payment_intent": f"pi_{uuid.uuid4().hex[:16]}",
        }
        evt = {"id": f"evt_{uuid.uuid4().hex}", "type": "checkout.session.completed", "data": {"object": session}}
        body = json.dumps(evt).encode()
        out.append(body)
        if random.random() < 0.5:
            out.append(body)  # a redelivery
        other = {"id": f"evt_{uuid.uuid4().hex}", "type": "invoice.created", "data": {"object": {"id": "in_1"}}}
        if random.random() < 0.5:
            out.append(json.dumps(other).encode())
    return out


async def deliver(client: httpx.AsyncClient, body: bytes) -> None:
    r = await client.post(
        "/api/v1/stripe/webhook", content=body, headers={"Stripe-Signature": signature_header(SECRET, body)}
    )
    if r.status_code != 200:
        raise RuntimeError(f"webhook answered {r.status_code}: {r.text}")


async def at_rate(client: httpx.AsyncClient, bodies: list[bytes] | None, n: int) -> list[float]:
    """Send ``n`` requests at RATE per second; latency from when each was due (ms)."""
    lat: list[float] = []
    start = time.perf_counter() + 0.05

    async def one(i: int, due: float) -> None:
        if bodies is None:
            r = await client.get("/healthz")
            r.raise_for_status()
        else:
            await deliver(client, bodies[i])
        lat.append((time.perf_counter() - due) * 1000)

    tasks = []
    for i in range(n):
        due = start + i / RATE
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return lat


async def flat_out(client: httpx.AsyncClient, bodies: list[bytes] | None, n: int) -> float:
    """Requests per second with IN_FLIGHT requests always outstanding."""
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            i = queue.pop()
            if bodies is None:
                (await client.get("/healthz")).raise_for_status()
            else:
                await deliver(client, bodies[i])

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return n / (time.perf_counter() - t)


async def sessions_of(db_url: str) -> dict[str, str]:
    from piccolo.querystring import QueryString

    from app.core.db import make_engine

    rows = await make_engine(db_url).run_querystring(QueryString("SELECT id, stripe_session_id FROM orders"))
    return {str(r["id"]): str(r["stripe_session_id"]) for r in rows}


def measure(label: str, db_url: str, stripe_url: str, seconds: int) -> list[Row]:
    var_dir = tempfile.mkdtemp(prefix="echoel-bench-webhooks-")
    env = {
        "ECHOEL_VAR_DIR": var_dir,
        "ECHOEL_DATABASE_URL": db_url,
        "ECHOEL_ENVIRONMENT": "development",
        "ECHOEL_BCRYPT_ROUNDS": "4",
        "ECHOEL_STORAGE": "local",
        "ECHOEL_STRIPE_SECRET_KEY": TEST_API_KEY,
        "ECHOEL_STRIPE_WEBHOOK_SECRET": SECRET,
        "ECHOEL_STRIPE_API_BASE": stripe_url,
        "ECHOEL_JOBS_IN_PROCESS": "false",
        "ECHOEL_SEEDER_IN_PROCESS": "false",
        "ECHOEL_AUTH_REQUESTS_PER_MINUTE": "100000",
        "ECHOEL_LOG_LEVEL": "warning",
    }
    migrated = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        check=False,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stdout + migrated.stderr)
    port = free_port()
    argv = [sys.executable, "-m", "app.cli", "run", "--port", str(port)]
    n_rate, n_flat = RATE * seconds, 50 * seconds
    with Server("app", argv, port, env, ready_path="/readyz") as app:
        orders = asyncio.run(seed(app.url, (n_rate + n_flat) // 2 + 50))
        sessions = asyncio.run(sessions_of(db_url))
        bodies = events(orders, sessions)

        async def run() -> tuple[list[float], list[float], float, float]:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(base_url=app.url, timeout=30, limits=limits) as client:
                await at_rate(client, None, 200)  # warm-up
                idle = await at_rate(client, None, n_rate)
                hooks = await at_rate(client, bodies[:n_rate], n_rate)
                health_rps = await flat_out(client, None, n_flat)
                hook_rps = await flat_out(client, bodies[n_rate : n_rate + n_flat], min(n_flat, len(bodies) - n_rate))
                return idle, hooks, health_rps, hook_rps

        idle, hooks, health_rps, hook_rps = asyncio.run(run())
    p99, base99 = percentile(hooks, 99), percentile(idle, 99)
    return [
        (
            f"{label}: p50 at {RATE}/s (ms)",
            fmt(median(hooks)),
            fmt(median(idle)),
            fmt(median(hooks) / median(idle)),
            "-",
            "-",
        ),
        (
            f"{label}: p99 at {RATE}/s (ms)",
            fmt(p99),
            fmt(base99),
            fmt(p99 / base99),
            "< 100 ms",
            "ok" if p99 < 100 else "MISSED",
        ),
        (
            f"{label}: events/s, {IN_FLIGHT} in flight",
            fmt(hook_rps),
            fmt(health_rps),
            fmt(hook_rps / health_rps),
            ">= 100/s",
            "ok" if hook_rps >= RATE else "MISSED",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="also run against a temporary PostgreSQL")
    parser.add_argument("--seconds", type=int, default=10, help="length of the fixed-rate run (default 10)")
    args = parser.parse_args()
    rows: list[Row] = []
    with StripeMock() as stripe_mock:
        folder = Path(tempfile.mkdtemp(prefix="echoel-bench-db-"))
        rows += measure("sqlite", f"sqlite:///{folder / 'bench.db'}", stripe_mock.url, args.seconds)
        if args.pg:
            from tests.services.postgres import PostgresServer

            pg = PostgresServer().start()
            try:
                rows += measure("postgres", pg.create_database("bench"), stripe_mock.url, args.seconds)
            finally:
                pg.stop()
    print("webhook handling vs GET /healthz (baseline), same client, same run")
    print_table(rows)


if __name__ == "__main__":
    main()
