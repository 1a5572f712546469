"""Liveness, readiness and the public site description."""

from __future__ import annotations

import hmac
import importlib.metadata
import os
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess

from app.core import db
from app.core.errors import NotFound, Unauthorized
from app.core.http import NO_STORE, public_cache
from app.ops import metrics


def _version() -> str:
    try:
        return importlib.metadata.version("echoel")
    except importlib.metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "0+unknown"


class SiteMeta(msgspec.Struct, frozen=True):
    name: str
    version: str
    public_url: str


class HealthController(Controller):
    tags = ["ops"]
    opt = {"public": True}

    @get("/healthz", response_headers=NO_STORE)
    async def healthz(self) -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "ok"}

    @get("/readyz", response_headers=NO_STORE)
    async def readyz(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Every configured backend answers; 503 names the ones that do not."""
        checks: dict[str, str] = {}
        try:
            await db.ping(request.app.state.engine)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; say which kind
            checks["database"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "unavailable", "checks": checks}
        return Response(body, status_code=200 if ready else 503, headers=NO_STORE)


class MetaController(Controller):
    """What this site is: the same for every visitor, so cached at the edge."""

    tags = ["ops"]
    opt = {"public": True}

    # Short for browsers and nginx (a new version shows within seconds), longer at Cloudflare.
    @get("/api/v1/meta", response_headers=public_cache(5, swr=30, cdn_max_age=60))
    async def meta(self, request: Request[Any, Any, Any]) -> SiteMeta:
        """The site's name, software version and public address."""
        settings = request.app.state.settings
        return SiteMeta(name="Echoel", version=_version(), public_url=settings.public_url)


# Headers a reverse proxy adds. nginx sets X-Forwarded-For and X-Real-IP on every request it
# passes to the app (nginx/snippets/proxy-app.conf, replacing whatever the client sent), while
# Prometheus scraping app:8000 inside the compose network sends none of them.
_PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


async def not_through_proxy(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: 404, as if there were no such route, for a request that came through nginx.

    nginx already answers 404 for every spelling of /metrics; this is the second lock, so a
    future location that forwards more than it should still cannot publish the metrics. A
    separate listening port would be cleaner in principle, but uvicorn's workers share one
    socket, and the headers nginx always sets mark a proxied request just as surely.
    """
    if any(name in connection.headers for name in _PROXY_HEADERS):
        raise NotFound("No such page.")


class MetricsController(Controller):
    """Prometheus scrape endpoint, for direct scrapes of app:8000 only (never through nginx)."""

    tags = ["ops"]
    opt = {"public": True}
    include_in_schema = False
    guards = [not_through_proxy]

    @get("/metrics", response_headers=NO_STORE)
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Every metric in Prometheus' text format; a Bearer token when ECHOEL_METRICS_TOKEN is set."""
        token = request.app.state.settings.metrics_token
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                raise Unauthorized("A valid metrics token is required.")
        await metrics.refresh(request.app.state)
        registry = REGISTRY
        # Several uvicorn workers: each writes its values to PROMETHEUS_MULTIPROC_DIR.
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)
