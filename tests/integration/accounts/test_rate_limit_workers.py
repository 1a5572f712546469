"""Log-in throttling holds when the app runs as two worker processes (a real `echoel run`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.support import LiveApp, test_env


def _client(source_ip: str) -> httpx.Client:
    # A fresh connection per request, so the kernel spreads them over both workers.
    transport = httpx.HTTPTransport(local_address=source_ip)
    return httpx.Client(transport=transport, timeout=30, headers={"Connection": "close"})


def _worker_count(pid: int) -> int:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return sum("multiprocessing" in line or "app.cli" in line for line in out.splitlines())


def test_failures_counted_across_two_workers(db_url: str, tmp_path: Path) -> None:
    env = test_env(db_url, tmp_path / "var")
    with LiveApp(env, workers=2) as live:
        assert live.process is not None
        assert _worker_count(live.process.pid) >= 2
        base = f"http://127.0.0.1:{live.port}"
        with _client("127.0.0.1") as c:
            assert (
                c.post(
                    f"{base}/api/v1/auth/signup",
                    json={"email": "w@example.com", "password": "right password", "handle": "worker"},
                ).status_code
                == 202
            )
        # Ten failures for one account from five addresses: the account key trips.
        for i in range(10):
            with _client(f"127.0.0.{2 + i % 5}") as c:
                r = c.post(f"{base}/api/v1/auth/login", json={"email": "w@example.com", "password": "wrong"})
                assert r.status_code == 401
        with _client("127.0.0.9") as c:
            r = c.post(f"{base}/api/v1/auth/login", json={"email": "w@example.com", "password": "right password"})
            assert r.status_code == 429
            assert int(r.headers["retry-after"]) > 0
        # Ten failures from one address over ten different accounts: the address key trips.
        for i in range(10):
            with _client("127.0.0.20") as c:
                r = c.post(f"{base}/api/v1/auth/login", json={"email": f"x{i}@example.com", "password": "wrong"})
                assert r.status_code == 401
        with _client("127.0.0.20") as c:
            r = c.post(f"{base}/api/v1/auth/login", json={"email": "other@example.com", "password": "wrong"})
            assert r.status_code == 429
        # Another address is not affected.
        with _client("127.0.0.21") as c:
            r = c.post(f"{base}/api/v1/auth/login", json={"email": "other@example.com", "password": "wrong"})
            assert r.status_code == 401
