"""The app behind the repo's real nginx config: static files, API, caching, headers, limits."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import websockets

from tests.integration.edge.conftest import Edge

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "frame-ancestors 'none'",
    "permissions-policy": "microphone=(self)",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, expected in SECURITY_HEADERS.items():
        assert expected in response.headers.get(name, ""), f"{name} missing on {response.status_code} {response.url}"


def test_fingerprinted_static_file_is_immutable_and_html_revalidated(edge: Edge) -> None:
    root = edge.nginx.static_root
    (root / "app.3f9a1c2b7d.js").write_text("export const x = 1;\n" * 200)
    (root / "index.html").write_text("<!doctype html><title>Echoel</title>")
    r = httpx.get(f"{edge.url}/app.3f9a1c2b7d.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip"
    assert r.text.startswith("export const x = 1;")
    assert_security_headers(r)
    page = httpx.get(f"{edge.url}/")
    assert page.status_code == 200 and "<title>Echoel</title>" in page.text
    assert page.headers["cache-control"] == "no-cache"
    assert_security_headers(page)


def test_api_is_proxied_and_public_get_cached_per_app_headers(edge: Edge) -> None:
    path = f"{edge.url}/api/v1/meta?probe={uuid.uuid4().hex}"
    first = httpx.get(path)
    assert first.status_code == 200 and first.json()["name"] == "Echoel"
    assert first.headers["x-cache-status"] == "MISS"
    assert first.headers["cloudflare-cdn-cache-control"].startswith("public, max-age=60")
    assert "Accept-Encoding" in first.headers["vary"]
    second = httpx.get(path)
    assert second.headers["x-cache-status"] == "HIT" and second.json() == first.json()
    # A request with credentials never shares the cache.
    authed = httpx.get(path, headers={"Authorization": "Bearer whatever"})
    assert authed.headers["x-cache-status"] == "BYPASS"
    assert_security_headers(second)


def test_personal_answers_are_not_cached(edge: Edge) -> None:
    for _ in range(2):
        r = httpx.get(f"{edge.url}/api/v1/auth/csrf")
        assert r.status_code == 204
    r = httpx.get(f"{edge.url}/healthz")
    assert r.headers["cache-control"] == "private, no-store"
    me = httpx.get(f"{edge.url}/api/v1/account")
    assert me.headers.get("x-cache-status") in {"MISS", "BYPASS", None}


def test_errors_carry_security_headers(edge: Edge) -> None:
    missing_api = httpx.get(f"{edge.url}/api/v1/no-such-thing")
    assert missing_api.status_code == 404
    assert missing_api.headers["content-type"].startswith("application/problem+json")
    assert_security_headers(missing_api)
    missing_file = httpx.get(f"{edge.url}/img/no-such-file.png")
    assert missing_file.status_code == 404
    assert_security_headers(missing_file)


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/meta"])
def test_oversized_body_is_413_problem_json(edge: Edge, path: str) -> None:
    r = httpx.post(f"{edge.url}{path}", content=b"x" * (2 * 1024 * 1024), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 413
    assert_security_headers(r)


@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics/", "//metrics", "/metrics?x", "/%6Detrics", "/METRICS", "/metrics/x.js"]
)
def test_metrics_are_not_reachable_through_nginx(edge: Edge, path: str) -> None:
    # A raw path: httpx would otherwise tidy "//metrics" and "%6D" before sending them.
    r = httpx.get(httpx.URL(edge.url).copy_with(raw_path=path.encode()))
    assert r.status_code == 404
    assert "echoel_" not in r.text and "python_gc" not in r.text
    # nginx's own page, not the app's problem+json: the app's guard would answer 404 as well.
    assert "text/html" in r.headers["content-type"] and "nginx" in r.text
    assert_security_headers(r)


def test_the_app_refuses_metrics_that_came_through_a_proxy(edge: Edge) -> None:
    """The second lock: were nginx ever to forward /metrics, the headers it sets give it away."""
    direct = httpx.get(f"{edge.app.url}/metrics")
    assert direct.status_code == 200 and "echoel_" in direct.text
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        proxied = httpx.get(f"{edge.app.url}/metrics", headers={header: "203.0.113.7"})
        assert proxied.status_code == 404, header
        assert "echoel_" not in proxied.text


async def test_websocket_upgrade_reaches_the_signaling_socket(edge: Edge) -> None:
    ws_url = edge.url.replace("http://", "ws://") + f"/ws/sessions/{uuid.uuid4()}"
    async with websockets.connect(ws_url, origin=websockets.Origin(edge.url)) as socket:
        # The app answers our first frame by closing with its own code: frames pass both ways.
        await socket.send(json.dumps({"type": "auth", "token": "not-a-jwt"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_api_reference_pages_get_their_own_csp(edge: Edge) -> None:
    docs = httpx.get(f"{edge.url}/api/schema/docs")
    assert docs.status_code == 200
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert_security_headers(docs)
    # Everywhere else the strict policy stands.
    assert "cdn.jsdelivr.net" not in httpx.get(f"{edge.url}/api/v1/meta").headers["content-security-policy"]
