"""Signaling benchmark: Echoel's websocket relay against the same relay on bare ``websockets``.

In one run, for each server (one worker, SQLite for Echoel: the in-memory channels backend):
Echoel as ``echoel run`` serves it (uvicorn), the same app on granian (the other ASGI server
we considered; issue 6 asks to measure before choosing), and the bare relay:

1. 2,000 authenticated sockets in 500 rooms (4 each); directed messages of 300 bytes at
   5,000 messages/s for ``--seconds``; relay latency p50/p99 measured send-to-receive in this
   process (so it includes this client's own scheduling, on the same 2 cores as the server).
   Rounds alternate between the two servers; the table shows medians and each round's p99.
   This client runs on uvloop, as both servers do: on the default loop its own overhead was a
   good part of what it measured.
2. 10,000 idle authenticated sockets; the server's resident memory per socket
   ((RSS with them - RSS before) / 10,000).

Usage: uv run python scripts/bench/signaling.py [--seconds 10] [--rate 5000] [--idle 10000]
Goals from issue 6: p99 < 5 ms at 5,000 msg/s; ≤ 40 KiB per idle socket.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvloop
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import Server, free_port, percentile, print_table

PASSWORD = "bench password, long enough"
T0 = time.monotonic()


def progress(what: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f} s] {what}", file=sys.stderr, flush=True)


PAYLOAD_BYTES = 300


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (granian serves from a worker process)."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) * 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += sum(rss_bytes(int(child)) for child in (task / "children").read_text().split())
    return total


class Echoel:
    """Users and rooms on a live Echoel; tokens for the sockets."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tokens: list[str] = []
        self.rooms: list[tuple[str, str]] = []  # (room id, token of a member)

    async def prepare(self, rooms: int, users: int = 50) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as http:
            for _ in range(users):
                tag = uuid.uuid4().hex[:10]
                ident = {"email": f"b{tag}@example.com", "password": PASSWORD, "handle": f"b{tag}"}
                (await http.post("/api/v1/auth/signup", json=ident)).raise_for_status()
                body = {"email": ident["email"], "password": PASSWORD, "refresh_in_body": True}
                r = await http.post("/api/v1/auth/login", json=body)
                r.raise_for_status()
                self.tokens.append(r.json()["access_token"])
            sem = asyncio.Semaphore(20)

            async def one(i: int) -> tuple[str, str]:
                token = self.tokens[i % len(self.tokens)]
                async with sem:
                    r = await http.post(
                        "/api/v1/sessions", json={"title": f"bench {i}"}, headers={"Authorization": f"Bearer {token}"}
                    )
                r.raise_for_status()
                return r.json()["id"], token

            self.rooms = list(await asyncio.gather(*(one(i) for i in range(rooms))))


class Sock:
    """One client socket: answers pings, records the latency of timestamped messages."""

    def __init__(self, ws: Any, peer: str, latencies: list[float] | None) -> None:
        self.ws, self.peer, self.latencies = ws, peer, latencies
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                if '"ping"' in raw[:20]:
                    await self.ws.send(json.dumps({"type": "pong"}))
                    continue
                if self.latencies is not None and '"offer"' in raw[:20]:
                    sent = float(json.loads(raw)["sdp"].split(" ", 1)[0])
                    self.latencies.append(time.perf_counter() - sent)
        except websockets.ConnectionClosed:
            pass


async def open_socks(
    base: str, rooms: list[tuple[str, str]], per_room: int, latencies: list[float] | None
) -> list[list[Sock]]:
    ws_base = base.replace("http://", "ws://")
    sem = asyncio.Semaphore(100)

    async def one(room: str, token: str) -> Sock:
        async with sem:
            ws = await websockets.connect(f"{ws_base}/ws/sessions/{room}", max_queue=None, open_timeout=60)
            await ws.send(json.dumps({"type": "auth", "token": token}))
            welcome = json.loads(await ws.recv())
            if welcome.get("type") != "welcome":
                raise RuntimeError(f"refused: {welcome}")
            return Sock(ws, welcome["peer"], latencies)

    async def group(room: str, token: str) -> list[Sock]:
        return [await one(room, token) for _ in range(per_room)]

    return list(await asyncio.gather(*(group(room, token) for room, token in rooms)))


async def close_all(groups: list[list[Sock]]) -> None:
    socks = [s for g in groups for s in g]
    await asyncio.gather(*(s.ws.close() for s in socks), return_exceptions=True)
    for s in socks:
        s.task.cancel()


async def relay_load(base: str, rooms: list[tuple[str, str]], rate: int, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    groups = await open_socks(base, rooms, 4, latencies)
    await asyncio.sleep(1)  # joins and presence settle
    latencies.clear()
    pad = "x" * PAYLOAD_BYTES
    start, sent = time.perf_counter(), 0
    while (now := time.perf_counter()) - start < seconds:
        due = int((now - start) * rate)
        while sent < due:
            group = random.choice(groups)
            a, b = random.sample(group, 2)
            head = f"{time.perf_counter():.6f} "
            body = {"type": "offer", "to": b.peer, "sdp": ""}
            # Pad the whole message to PAYLOAD_BYTES on the wire.
            body["sdp"] = head + pad[: max(0, PAYLOAD_BYTES - len(json.dumps(body)) - len(head))]
            await a.ws.send(json.dumps(body))
            sent += 1
        await asyncio.sleep(0.001)
    # Stragglers: wait (up to 20 s) until every message arrived, so slow is not mistaken for lost.
    for _ in range(200):
        if len(latencies) >= sent:
            break
        await asyncio.sleep(0.1)
    await close_all(groups)
    return latencies, sent


async def idle_memory(base: str, pid: int, rooms: list[tuple[str, str]], count: int) -> float:
    before = rss_bytes(pid)
    groups = await open_socks(base, rooms, count // len(rooms), None)
    await asyncio.sleep(2)
    after = rss_bytes(pid)
    opened = sum(len(g) for g in groups)
    await close_all(groups)
    return (after - before) / opened


def relay_round(server: Server, rooms: list[tuple[str, str]], args: argparse.Namespace) -> dict[str, float]:
    progress(f"relay load on {server.name}")
    latencies, sent = uvloop.run(relay_load(server.url, rooms, args.rate, args.seconds))
    ms = [x * 1000 for x in latencies]
    return {"sent": sent, "delivered": len(ms), "p50": percentile(ms, 50), "p99": percentile(ms, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating relay rounds per server (medians)")
    args = parser.parse_args()
    py = sys.executable
    var_dir = tempfile.mkdtemp(prefix="echoel-bench-signal-")
    env = {
        "ECHOEL_VAR_DIR": var_dir,
        "ECHOEL_BCRYPT_ROUNDS": "4",
        "ECHOEL_AUTH_MAX_FAILURES": "1000000",
        "ECHOEL_AUTH_REQUESTS_PER_MINUTE": "1000000",
        "ECHOEL_LOG_LEVEL": "warning",
    }
    app_port, granian_port, bare_port = free_port(), free_port(), free_port()
    app_argv = [py, "-m", "app.cli", "run", "--port", str(app_port), "--workers", "1"]
    # The same app and database on granian: one worker, uvloop, no access log, as echoel run has.
    granian_argv = [str(Path(py).parent / "granian"), "--interface", "asgi", "--factory", "--loop", "uvloop"]
    granian_argv += ["--host", "127.0.0.1", "--port", str(granian_port), "--workers", "1", "app.asgi:create_app"]
    bare_argv = [py, str(Path(__file__).parent / "_ws_relay.py"), str(bare_port)]
    with (
        # echoel run migrates the database first; granian then serves the same one.
        Server("echoel-signal", app_argv, app_port, env, "/readyz") as app,
        Server("echoel-granian", granian_argv, granian_port, env, "/readyz") as on_granian,
        Server("ws-relay", bare_argv, bare_port, {}, "/") as bare,
    ):
        echoel = Echoel(app.url)
        progress("creating users and rooms")
        asyncio.run(echoel.prepare(500 + args.idle // 4))
        fake = [(uuid.uuid4().hex, "") for _ in range(500 + args.idle // 4)]
        rooms = {"echoel": echoel.rooms[:500], "granian": echoel.rooms[:500], "bare": fake[:500]}
        idle = echoel.rooms[500:]
        idle_rooms = {"echoel": idle, "granian": idle, "bare": fake[500:]}
        servers = {"echoel": app, "granian": on_granian, "bare": bare}
        # Memory first, on fresh processes: after the load phase the allocator's free lists and
        # the garbage collector would blur the difference.
        kib = {}
        for name, server in servers.items():
            progress(f"idle sockets on {server.name}")
            pid = server.process.pid  # type: ignore[union-attr]
            kib[name] = uvloop.run(idle_memory(server.url, pid, idle_rooms[name], args.idle)) / 1024
        # Alternating rounds, medians: a burst of load from elsewhere on this machine (the
        # tail of one round moved by tens of milliseconds between runs) hits both alike.
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, server in servers.items():
                rounds[name].append(relay_round(server, rooms[name], args))
    results = {
        name: {
            "sent": sum(r["sent"] for r in runs),
            "delivered": sum(r["delivered"] for r in runs),
            "p50": statistics.median(r["p50"] for r in runs),
            "p99": statistics.median(r["p99"] for r in runs),
            "p99s": " / ".join(f"{r['p99']:.1f}" for r in runs),
            "kib": kib[name],
        }
        for name, runs in rounds.items()
    }
    print(
        f"\nSignaling relay: 2,000 sockets in 500 rooms, {args.rate} msg/s of {PAYLOAD_BYTES} B "
        f"for {args.seconds:.0f} s, {args.rounds} alternating rounds (medians); {args.idle} idle sockets for memory.\n"
    )
    e, g, b = results["echoel"], results["granian"], results["bare"]

    def row(metric: str, key: str, goal: str, ok: bool | None) -> tuple[str, ...]:
        ratio = f"x{e[key] / b[key]:.2f}" if b[key] else "-"
        result = "" if ok is None else ("met" if ok else "NOT met")
        return (metric, f"{e[key]:.2f}", f"{g[key]:.2f}", f"{b[key]:.2f}", ratio, goal, result)

    print(
        "app: Echoel as echoel run serves it (Litestar on uvicorn, 1 worker, SQLite, memory channels);"
        " on granian: the same app and settings; baseline: bare websockets; all servers and this client"
        " on uvloop; ratio: app / baseline\n"
    )
    print_table(
        [
            ("messages sent", f"{e['sent']:.0f}", f"{g['sent']:.0f}", f"{b['sent']:.0f}", "", "", ""),
            (
                "messages delivered",
                f"{e['delivered']:.0f}",
                f"{g['delivered']:.0f}",
                f"{b['delivered']:.0f}",
                "",
                "all",
                "met" if e["delivered"] == e["sent"] else "NOT met",
            ),
            row("relay p50 (ms)", "p50", "", None),
            row("relay p99 (ms)", "p99", "< 5 ms", e["p99"] < 5),
            ("  p99 of each round", str(e["p99s"]), str(g["p99s"]), str(b["p99s"]), "", "", ""),
            row("memory per idle socket (KiB)", "kib", "<= 40 KiB", e["kib"] <= 40),
        ],
        header=("metric", "app", "on granian", "baseline", "ratio", "goal", "result"),
    )


if __name__ == "__main__":
    main()
