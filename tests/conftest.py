"""Session fixtures: real PostgreSQL, a migrated database per backend, the app and a client.

Every database test runs twice, on SQLite and on PostgreSQL (the ``db_url`` parameter).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar

from app.asgi import create_app
from app.core import db
from app.core.settings import Settings
from tests.integration.ops.receiver import Receiver
from tests.integration.payments.stripe_server import PaidStripeMock
from tests.services.minio import MinioServer
from tests.services.postgres import PostgresServer
from tests.support import run_cli, test_env, test_settings


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def new_database(kind: str, postgres_server: PostgresServer | None, folder: Path) -> str:
    """A fresh, migrated database of ``kind``; migrations run through ``echoel migrate``."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'test-{uuid.uuid4().hex[:8]}.db'}"
    else:
        assert postgres_server is not None
        url = postgres_server.create_database(f"echoel_{uuid.uuid4().hex[:8]}")
    result = run_cli(["migrate"], test_env(url, folder))
    assert result.returncode == 0, result.stdout + result.stderr
    return url


@pytest.fixture(scope="session")
def minio_server() -> Iterator[MinioServer]:
    """One real MinIO for the whole run (integration and browser tests); each test uses a bucket of its own."""
    with MinioServer() as server:
        yield server


@pytest.fixture(scope="session")
def stripe_mock() -> Iterator[PaidStripeMock]:
    """One stripe-mock (with its paid-intent proxy) for the whole run."""
    with PaidStripeMock() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP server standing for the operator's webhook receiver."""
    with Receiver() as r:
        yield r


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    return new_database(request.param, server, tmp_path_factory.mktemp(request.param))


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return test_settings(db_url, var_dir)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


async def _empty_tables() -> None:
    # Children before parents, so foreign keys never block the clean-up.
    tables = [t for cfg in db.registry().app_configs.values() for t in cfg.table_classes]
    for table in reversed(tables):
        await table.delete(force=True)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in this event loop (the app's lifespan runs here too)."""
    # The start-up and shut-down hooks run in this task: pytest-asyncio would run a lifespan
    # context's exit in another task, which anyio refuses.
    for hook in app.on_startup:
        await hook()  # type: ignore[call-arg]
    try:
        await _empty_tables()
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
        # https, so the cookie jar sends our Secure cookies back.
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as c:
            yield c
    finally:
        for hook in app.on_shutdown:
            await hook()  # type: ignore[call-arg]
