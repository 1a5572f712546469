"""Prometheus metrics: request latency (Litestar's middleware) plus the gauges and counters the
domains update. Import what you need and call it; names are stable, labels are small sets::

    from app.ops import metrics

    metrics.WEBSOCKET_CONNECTIONS.labels(kind="signaling").inc()   # .dec() on close
    metrics.UPLOADS.labels(outcome="completed").inc(); metrics.UPLOAD_BYTES.inc(size)
    metrics.TORRENT_HTTP_BYTES.inc(span)                           # web seed bytes asked for
    metrics.SALES.labels(currency="EUR").inc(); metrics.SALES_AMOUNT.labels(currency="EUR").inc(cents)

Values owned by another process (the job queue in the database, the seeder's stats file) are
read when Prometheus scrapes, by ``refresh``.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import Counter, Gauge

log = logging.getLogger("echoel.metrics")

# Request count and latency per route template (group_path: /api/v1/x/{id}, never raw ids).
PROMETHEUS = PrometheusConfig(
    app_name="echoel",
    prefix="echoel",
    group_path=True,
    exclude=["/metrics", "/healthz", "/readyz"],
    # HTTP only: a websocket's "duration" is how long someone stayed, and wrapping its sends cost
    # every relayed message; open sockets are the echoel_websocket_connections gauge.
    scopes={ScopeType.HTTP},
    buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
)

# multiprocess_mode matters only with several uvicorn workers (PROMETHEUS_MULTIPROC_DIR set):
# connections add up over live workers; values read from a shared source keep the latest.
WEBSOCKET_CONNECTIONS = Gauge(
    "echoel_websocket_connections", "Open websocket connections", ["kind"], multiprocess_mode="livesum"
)
JOBS = Gauge(
    "echoel_jobs",
    "Background jobs by state (ready, scheduled, running, dead)",
    ["state"],
    multiprocess_mode="mostrecent",
)
JOBS_LAG = Gauge(
    "echoel_jobs_lag_seconds", "Seconds the oldest due job has waited past its run time", multiprocess_mode="mostrecent"
)
TORRENT_HTTP_BYTES = Counter("echoel_torrent_http_bytes", "Pack bytes sent over the HTTP web seed")
TORRENT_P2P_BYTES = Gauge(
    "echoel_torrent_p2p_bytes",
    "Pack payload bytes the seeder has uploaded to BitTorrent peers (seeder total)",
    multiprocess_mode="mostrecent",
)
SEEDER_UPLOAD_RATE = Gauge(
    "echoel_seeder_upload_bytes_per_second",
    "Payload bytes per second the seeder uploads to BitTorrent peers (at its last refresh)",
    multiprocess_mode="mostrecent",
)
SEEDER_PEERS = Gauge("echoel_seeder_peers", "Peers connected to the seeder", multiprocess_mode="mostrecent")
SEEDER_TORRENTS = Gauge("echoel_seeder_torrents", "Torrents the seeder serves", multiprocess_mode="mostrecent")
UPLOADS = Counter("echoel_uploads", "Finished uploads by outcome (completed, rejected, aborted)", ["outcome"])
UPLOAD_BYTES = Counter("echoel_upload_bytes", "Bytes of completed uploads")
SALES = Counter("echoel_sales", "Completed sales", ["currency"])
SALES_AMOUNT = Counter("echoel_sales_amount_minor", "Sales revenue in minor currency units", ["currency"])
WEBHOOK_DELIVERIES = Counter("echoel_webhook_deliveries", "Outbound webhook attempts by outcome", ["outcome"])


async def refresh(state: Any) -> None:
    """Update the values other processes own; a failing source leaves its last values."""
    try:
        from app.jobs import stats

        q = await stats()
        for name in ("ready", "scheduled", "running", "dead"):
            JOBS.labels(state=name).set(getattr(q, name))
        JOBS_LAG.set(q.lag_seconds)
    except Exception:  # a scrape must still answer; the log says why the values are stale
        log.warning("job queue stats unavailable", exc_info=True)
    try:
        from app.torrents.seeder import read_stats

        # A file read: off the event loop, like every other disk access in a request.
        seeder = await anyio.to_thread.run_sync(read_stats, state.settings.var_path)
        if seeder:
            TORRENT_P2P_BYTES.set(seeder.get("payload_uploaded", 0))
            SEEDER_UPLOAD_RATE.set(seeder.get("upload_rate", 0))
            SEEDER_PEERS.set(seeder.get("peers", 0))
            SEEDER_TORRENTS.set(seeder.get("torrents", 0))
    except ImportError:  # the torrents domain is not installed
        pass
