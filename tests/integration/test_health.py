"""Health, readiness and the served API description."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from app.core import db
from app.core.settings import Settings


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["database"] == "ok"
    assert r.headers["cache-control"] == "private, no-store"


@pytest.mark.filterwarnings("ignore:.*Unable to connect")
async def test_readyz_reports_a_dead_database(client: httpx.AsyncClient, app: Litestar, settings: Settings) -> None:
    real = app.state.engine
    broken = db.make_engine("postgresql://nobody@127.0.0.1:1/none")
    app.state.engine = broken
    try:
        r = await client.get("/readyz")
    finally:
        app.state.engine = real
    assert r.status_code == 503
    assert r.json()["checks"]["database"].startswith("error")


async def test_openapi_and_docs_are_served(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/schema/openapi.json")).json()
    assert "/api/v1/auth/login" in schema["paths"]
    assert (await client.get("/api/schema/docs")).status_code == 200
