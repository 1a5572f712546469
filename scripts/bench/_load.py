"""Shared helpers for the benchmarks in scripts/bench/: servers, wrk, a fixed-rate probe, tables.

Not a test helper: nothing here asserts. Benchmarks print side-by-side figures measured in one
run, so machine noise hits both sides alike.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


class Server:
    """A server child process on a free loopback port, ready once ``ready_path`` answers 200."""

    def __init__(self, name: str, argv: list[str], port: int, env: dict[str, str], ready_path: str = "/") -> None:
        self.name, self.argv, self.port, self.env, self.ready_path = name, argv, port, env, ready_path
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(tempfile.mkstemp(prefix=f"echoel-bench-{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        log = self.log_path.open("wb")
        # Our ECHOEL_* variables only: the caller's shell must not change what is measured.
        base = {k: v for k, v in os.environ.items() if not k.startswith("ECHOEL_")}
        self.process = subprocess.Popen(
            self.argv, env={**base, **self.env}, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log_path.read_text()[-3000:]}")

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wrk(url: str, seconds: float, connections: int, headers: dict[str, str] | None = None) -> float:
    """Requests per second wrk reaches against ``url`` (one wrk thread; errors make it fail loudly)."""
    # A long timeout: a slow answer is a slow answer, not an error (wrk's default is 2 s).
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    for key, value in (headers or {}).items():
        argv += ["-H", f"{key}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or re.search(r"Socket errors: connect [1-9]|read [1-9]|write [1-9]", out):
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not found:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    return float(found.group(1))


class _Conn:
    """One keep-alive HTTP/1.1 connection that sends a fixed GET and reads a Content-Length reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        if length is None:
            raise RuntimeError(f"reply without content-length: {head!r}")
        await self.reader.readexactly(int(length.group(1)))
        return status


async def probe(
    port: int, paths: Sequence[str], rate: float, seconds: float, headers: dict[str, str] | None = None
) -> dict[str, list[float]]:
    """GET ``paths`` in turn at a fixed total ``rate`` for ``seconds``; latencies in ms per path.

    Latency counts from the moment a request was due, not when it went out, so a stalled server
    cannot hide its stall by slowing the probe down (no coordinated omission). A small raw
    client keeps the probe's own overhead and jitter far below what it measures.
    """
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    requests = {p: f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode() for p in paths}
    # First in, first out, so every pooled connection stays busy and none reaches the server's
    # keep-alive timeout (uvicorn: 5 s) while waiting in the pool.
    idle: deque[_Conn] = deque()
    results: dict[str, list[float]] = {p: [] for p in paths}
    failures: list[str] = []

    async def connect() -> _Conn:
        return _Conn(*await asyncio.open_connection("127.0.0.1", port))

    for _ in range(8):
        idle.append(await connect())

    async def one(path: str, due: float) -> None:
        conn = idle.popleft() if idle else await connect()
        try:
            status = await conn.get(requests[path])
        except (asyncio.IncompleteReadError, ConnectionError):
            # The server may close a kept-alive connection at any time; a fresh one must work.
            conn.writer.close()
            conn = await connect()
            status = await conn.get(requests[path])
        results[path].append((time.perf_counter() - due) * 1000)
        if status != 200:
            failures.append(f"{path}: {status}")
        idle.append(conn)

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], due)))
    errors = [r for r in await asyncio.gather(*tasks, return_exceptions=True) if isinstance(r, BaseException)]
    for conn in idle:
        conn.writer.close()
    if errors:
        raise RuntimeError(f"probe: {len(errors)} requests failed, first: {errors[0]!r}")
    if failures:
        raise RuntimeError(f"probe got non-200 answers: {failures[:5]}")
    return results


def fmt(value: float, unit: str = "") -> str:
    if value != value:  # NaN
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:.2f}{unit}" if abs(value) < 10 else f"{value:.1f}{unit}"


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = ()) -> None:
    """Rows of (metric, app, baseline, ratio, goal, result), printed as an aligned table.

    A header of other columns (an extra figure beside the app's) fits rows of its length.
    """
    header = header or ("metric", "app", "baseline", "ratio", "goal", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("{:<" + str(w) + "}" for w in widths)
    print(line.format(*header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    sys.stdout.flush()
