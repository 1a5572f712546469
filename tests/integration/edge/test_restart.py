"""Restart drill: the app is replaced behind the repo's nginx and not one request fails.

The same order scripts/deploy follows with containers, here with processes: start the new app
beside the old one, point nginx at the new one only (render + reload), wait until nginx's old
workers have finished what they were serving, then stop the old app with SIGTERM. Clients keep
signing up (a write) and reading (a read) through nginx the whole time.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import new_database
from tests.integration.edge.conftest import edge_env
from tests.integration.edge.stack import EdgeNginx, render_nginx
from tests.services.minio import MinioServer
from tests.support import LiveApp

CLIENTS = 6
# The drill signs up hundreds of accounts from one address: lift both rate limits.
UNLIMITED_AUTH = {"ECHOEL_AUTH_MAX_FAILURES": "1000000", "ECHOEL_AUTH_REQUESTS_PER_MINUTE": "1000000"}
NGINX_UNLIMITED = {"NGINX_AUTH_RATE": "100000r/s", "NGINX_AUTH_BURST": "100000"}


class Load:
    """CLIENTS threads signing up new accounts and reading /readyz through nginx until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.accepted: list[str] = []
        self.failures: list[str] = []
        self.requests = 0
        self.resent = 0  # requests sent again after nginx closed their idle connection (see _send)
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(CLIENTS)]

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _send(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, sent again once if the kept-alive connection was closed before any answer.

        On reload nginx's old workers close their idle kept-alive connections; a request written
        to one at that instant meets the close, unread. Browsers and Cloudflare send it again on
        a new connection, and so does this client. Counted: the test bounds them.
        """
        try:
            return client.request(method, path, **kwargs)
        except httpx.RemoteProtocolError as exc:
            if "without sending a response" not in str(exc):
                raise
            with self._lock:
                self.resent += 1
            return client.request(method, path, **kwargs)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self.stop.is_set():
                tag = uuid.uuid4().hex[:12]
                email = f"d{tag}@example.com"
                try:
                    signup = self._send(
                        client,
                        "POST",
                        "/api/v1/auth/signup",
                        json={"email": email, "password": "correct horse battery staple", "handle": f"d{tag}"},
                    )
                    ready = self._send(client, "GET", "/readyz")
                except httpx.HTTPError as exc:
                    self._record(failure=f"{type(exc).__name__}: {exc}")
                    continue
                if signup.status_code == 202:
                    self._record(accepted=email)
                else:
                    self._record(failure=f"signup {signup.status_code}: {signup.text[:200]}")
                if ready.status_code != 200:
                    self._record(failure=f"readyz {ready.status_code}: {ready.text[:200]}")

    def _record(self, *, accepted: str | None = None, failure: str | None = None) -> None:
        with self._lock:
            self.requests += 1
            if accepted:
                self.accepted.append(accepted)
            if failure:
                self.failures.append(failure)

    def wait_for(self, more: int, timeout: float = 60) -> None:
        target = self.requests + more
        deadline = time.monotonic() + timeout
        while self.requests < target and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.requests >= target, f"load stalled at {self.requests} requests"


def _workers_shutting_down(master_pid: int) -> int:
    out = subprocess.run(["ps", "--ppid", str(master_pid), "-o", "args="], capture_output=True, text=True).stdout
    return sum("shutting down" in line for line in out.splitlines())


def _point_nginx_at(nginx: EdgeNginx, folder: Path, app_port: int) -> None:
    """Render the site for another app upstream and reload nginx, as scripts/deploy does."""
    render_nginx(folder, nginx.fixed_port, app_port, **NGINX_UNLIMITED)
    assert nginx.process is not None
    nginx.process.send_signal(signal.SIGHUP)
    # nginx starts new workers with the new upstream; the old ones finish their requests and exit.
    deadline = time.monotonic() + 30
    time.sleep(0.2)
    while _workers_shutting_down(nginx.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _workers_shutting_down(nginx.process.pid), "nginx's old workers never finished"


def test_replacing_the_app_behind_nginx_drops_no_request(minio_server: MinioServer, tmp_path: Path) -> None:
    db_url = new_database("sqlite", None, tmp_path)
    old, new = LiveApp({}), LiveApp({})
    nginx = EdgeNginx(tmp_path / "nginx", old.port, minio_server.port, **NGINX_UNLIMITED)
    old.env = new.env = edge_env(tmp_path, minio_server, nginx.fixed_port, db_url, **UNLIMITED_AUTH)
    with nginx, old, new, Load(nginx.url) as load:
        load.wait_for(200)
        _point_nginx_at(nginx, tmp_path / "nginx", new.port)
        load.wait_for(100)
        # SIGTERM, as `docker stop` sends: uvicorn stops listening and finishes what it has.
        old.__exit__()
        # uvicorn re-raises the signal once it has shut down cleanly; a crash would differ.
        assert old.process is not None and old.process.returncode in {0, -signal.SIGTERM}
        load.wait_for(200)  # only the new app is left
    assert load.failures == [], f"{len(load.failures)} of {load.requests} failed: {load.failures[:5]}"
    # At most one per client for the one reload: each holds one connection to nginx. A sign-up
    # sent again after it had been handled would have failed above (409: its handle is taken).
    assert load.resent <= CLIENTS, f"{load.resent} requests met a closed connection"
    # Every accepted sign-up is in the database: nothing an answer promised was lost.
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as db:
        stored = {row[0] for row in db.execute("SELECT email FROM users")}
    assert load.accepted and set(load.accepted) <= stored
