"""Spoofed client-address headers from a non-Cloudflare peer change nothing; limit_req answers 429."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import new_database
from tests.integration.edge.conftest import Edge, start_edge
from tests.integration.edge.test_edge import assert_security_headers
from tests.services.minio import MinioServer


def spoofed(i: int) -> dict[str, str]:
    """Headers a client would send to pose as a different address on every request."""
    fake = f"198.51.100.{i % 250 + 1}"
    return {"CF-Connecting-IP": fake, "X-Forwarded-For": fake, "X-Real-IP": fake, "True-Client-IP": fake}


@pytest.fixture(scope="module")
def strict_edge(minio_server: MinioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """nginx allows 5 auth requests at once, then 1 every 6 s per address."""
    folder = tmp_path_factory.mktemp("edge-strict")
    db = new_database("sqlite", None, folder)
    stack = start_edge(folder, minio_server, db, {"NGINX_AUTH_RATE": "10r/m", "NGINX_AUTH_BURST": "4"})
    with stack.app, stack.nginx:
        yield stack


@pytest.fixture(scope="module")
def loose_edge(minio_server: MinioServer, tmp_path_factory: pytest.TempPathFactory, db_url: str) -> Iterator[Edge]:
    """nginx's limit out of the way, so the app's own per-address failure count shows."""
    folder = tmp_path_factory.mktemp("edge-loose")
    stack = start_edge(folder, minio_server, db_url, {"NGINX_AUTH_RATE": "6000r/m", "NGINX_AUTH_BURST": "100"})
    with stack.app, stack.nginx:
        yield stack


def test_limit_req_counts_the_true_peer_despite_spoofed_headers(strict_edge: Edge) -> None:
    statuses = []
    for i in range(12):
        # A GET of the log-in route: nginx counts it (the app answers 405); refreshes are not limited.
        r = httpx.get(f"{strict_edge.url}/api/v1/auth/login", headers=spoofed(i))
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["source"] == "edge" and r.json()["status"] == 429
            assert_security_headers(r)
    # Were the spoofed addresses believed, every request would have its own bucket.
    assert statuses[:5] == [405] * 5
    assert statuses[5:] == [429] * 7
    # The same address, limited on log-in, still refreshes its session (a page load's refresh).
    assert httpx.get(f"{strict_edge.url}/api/v1/auth/csrf").status_code == 204


def test_app_failure_count_keys_on_the_true_peer(loose_edge: Edge) -> None:
    """Failed log-ins for different accounts, each posing as another address, share one count."""
    statuses = []
    for i in range(5):
        r = httpx.post(
            f"{loose_edge.url}/api/v1/auth/login",
            json={"email": f"nobody{uuid.uuid4().hex[:8]}@example.com", "password": "wrong password!"},
            headers=spoofed(i),
        )
        statuses.append(r.status_code)
    # ECHOEL_AUTH_MAX_FAILURES=3 per address: the fourth attempt is refused by the app itself.
    assert statuses[:3] == [401, 401, 401], statuses
    assert statuses[3:] == [429, 429], statuses
    last = r.json()
    assert last.get("source") != "edge"


@pytest.fixture(scope="module")
def trusted_edge(minio_server: MinioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """127.0.0.2 plays a Cloudflare edge (NGINX_TRUSTED_PROXIES); 127.0.0.1 stays an outsider."""
    folder = tmp_path_factory.mktemp("edge-trusted")
    db = new_database("sqlite", None, folder)
    extra = {"NGINX_AUTH_RATE": "10r/m", "NGINX_AUTH_BURST": "4", "NGINX_TRUSTED_PROXIES": "127.0.0.2/32"}
    stack = start_edge(folder, minio_server, db, extra)
    with stack.app, stack.nginx:
        yield stack


def test_cf_connecting_ip_is_honoured_from_a_trusted_peer_only(trusted_edge: Edge) -> None:
    url = f"{trusted_edge.url}/api/v1/auth/login"
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as edge_peer:
        # Each request names another client: each gets its own bucket, none is limited.
        assert [edge_peer.get(url, headers=spoofed(i)).status_code for i in range(8)] == [405] * 8
        # One client named again and again is limited like any other.
        same = [edge_peer.get(url, headers=spoofed(99)).status_code for _ in range(7)]
        assert same[:4] == [405] * 4 and same[-1] == 429
    time.sleep(1.5)  # the access log is flushed once a second
    log = trusted_edge.nginx.access_log.read_text()
    assert "198.51.100.100 - " in log and "peer=127.0.0.2" in log
    # The untrusted loopback address is still counted as itself, whatever it claims.
    outsider = [httpx.get(url, headers=spoofed(i)).status_code for i in range(7)]
    assert outsider[-1] == 429
