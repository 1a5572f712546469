"""A public GET stays available from nginx's cache while the app is down (stale-if-error)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import new_database
from tests.integration.edge.conftest import start_edge
from tests.integration.edge.test_edge import assert_security_headers
from tests.services.minio import MinioServer


def test_public_get_served_stale_while_app_is_stopped(minio_server: MinioServer, tmp_path: Path) -> None:
    stack = start_edge(tmp_path, minio_server, new_database("sqlite", None, tmp_path))
    with stack.nginx:
        with stack.app:
            fresh = httpx.get(f"{stack.url}/api/v1/meta")
            assert fresh.headers["x-cache-status"] == "MISS"
            max_age = int(fresh.headers["cache-control"].split("max-age=")[1].split(",")[0])
        # The app is stopped; let the cached copy expire so only stale-if-error can answer.
        time.sleep(max_age + 1)
        stale = httpx.get(f"{stack.url}/api/v1/meta")
        assert stale.status_code == 200
        assert stale.json() == fresh.json()
        assert stale.headers["x-cache-status"] in {"STALE", "UPDATING"}
        assert_security_headers(stale)
        # What was never cached cannot be served: a problem+json 503, not nginx's HTML page.
        down = httpx.get(f"{stack.url}/api/v1/account")
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert_security_headers(down)
