"""Client load through nginx for the restart and deploy drills: writes and reads, failures counted."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import httpx

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
        a new connection, and so does this client. The close shows as the server disconnecting
        without a response or, when the request's bytes arrived after it, as a reset (Chromium
        resends on both, for a reused connection). Counted: the test bounds them.
        """
        try:
            return client.request(method, path, **kwargs)
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if "without sending a response" not in str(exc) and "Connection reset by peer" not in str(exc):
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
