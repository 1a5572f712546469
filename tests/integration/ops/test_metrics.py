"""/metrics: request latency histograms per route template, domain gauges, optional token."""

from __future__ import annotations

from pathlib import Path

import httpx
from litestar import Litestar

from app.asgi import create_app
from app.jobs import queue
from tests.integration.ops.scrape import sample
from tests.integration.torrents.helpers import make_pack
from tests.support import test_settings


async def test_latency_histogram_per_route_template(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await client.get("/api/v1/meta")).status_code == 200
    text = (await client.get("/metrics")).text
    count = sample(text, "echoel_request_duration_seconds_count", path="/api/v1/meta", method="GET")
    assert count >= 3
    assert sample(text, "echoel_request_duration_seconds_bucket", path="/api/v1/meta", le="+Inf") == count


async def test_job_queue_depth_and_lag_are_scraped(client: httpx.AsyncClient) -> None:
    await queue.enqueue("ops.metrics-probe", {}, run_at_ms=queue.now_ms() - 30_000)
    text = (await client.get("/metrics")).text
    assert sample(text, "echoel_jobs", state="ready") >= 1
    assert sample(text, "echoel_jobs_lag_seconds") >= 29


async def test_web_seed_bytes_move_the_http_counter(app: Litestar, client: httpx.AsyncClient, tmp_path: Path) -> None:
    torrent = await app.state.torrents.publish(make_pack(tmp_path, {"a.wav": 300_000}, name="Metered")[0])
    before = sample((await client.get("/metrics")).text, "echoel_torrent_http_bytes_total")
    url = f"/ws/seed/public/{torrent.info_hash_v1}/Metered/a.wav"
    got = await client.get(url, headers={"Range": "bytes=1000-10999"})
    assert got.status_code == 206 and len(got.content) == 10_000
    assert (await client.get(url)).status_code == 200
    after = sample((await client.get("/metrics")).text, "echoel_torrent_http_bytes_total")
    assert after - before == 10_000 + 300_000


async def test_token_required_when_configured(db_url: str, tmp_path: Path) -> None:
    app: Litestar = create_app(test_settings(db_url, tmp_path / "var", ECHOEL_METRICS_TOKEN="scrape-" + "s" * 24))
    for hook in app.on_startup:
        await hook()  # type: ignore[call-arg]
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as c:
            denied = await c.get("/metrics")
            assert denied.status_code == 401
            assert denied.headers["content-type"].startswith("application/problem+json")
            assert "echoel_" not in denied.text
            assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
            ok = await c.get("/metrics", headers={"Authorization": "Bearer scrape-" + "s" * 24})
            assert ok.status_code == 200 and "echoel_jobs_lag_seconds" in ok.text
    finally:
        for hook in app.on_shutdown:
            await hook()  # type: ignore[call-arg]


def test_several_workers_report_together(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, any worker's /metrics counts every worker's requests."""
    from tests.conftest import new_database
    from tests.support import LiveApp, test_env

    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = test_env(new_database("sqlite", None, tmp_path), tmp_path / "var", PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    with LiveApp(env, workers=2) as live:
        # New connections each time, so both workers answer some of them.
        for _ in range(20):
            assert httpx.get(f"{live.url}/api/v1/meta", headers={"Connection": "close"}).status_code == 200
        text = httpx.get(f"{live.url}/metrics").text
    assert sample(text, "echoel_request_duration_seconds_count", path="/api/v1/meta", method="GET") == 20
    assert len(list(multiproc.glob("*.db"))) >= 2  # files from more than one process
