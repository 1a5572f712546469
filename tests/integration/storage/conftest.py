"""Storage fixtures: one real MinIO for the session and a fresh bucket per test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from app.storage import ObjectStorage
from app.storage.s3 import S3Storage
from tests.services.minio import MinioServer
from tests.support import test_settings


def s3_settings(server: MinioServer, db_url: str, var_dir: Path, **extra: str) -> Settings:
    """Test settings pointing at ``server`` with a bucket of its own."""
    return test_settings(
        db_url,
        var_dir,
        ECHOEL_STORAGE="s3",
        ECHOEL_S3_ENDPOINT=server.endpoint,
        ECHOEL_S3_ACCESS_KEY=server.access_key,
        ECHOEL_S3_SECRET_KEY=server.secret_key,
        ECHOEL_S3_BUCKET=f"t-{uuid.uuid4().hex[:16]}",
        **extra,
    )


@dataclass
class Backend:
    """A storage backend and an HTTP client that reaches its presigned URLs."""

    name: str
    storage: ObjectStorage
    http: httpx.AsyncClient


@pytest.fixture
async def s3_backend(minio_server: MinioServer, tmp_path: Path) -> AsyncIterator[Backend]:
    settings = s3_settings(minio_server, "sqlite:///unused.db", tmp_path)
    storage = S3Storage.from_settings(settings)
    await storage.ensure_ready()
    async with httpx.AsyncClient(timeout=30) as http:
        yield Backend("s3", storage, http)


@pytest.fixture
async def local_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    """The local-disk store with the app that serves its signed URLs (on a migrated database,
    as the app always runs)."""
    from app.asgi import create_app
    from tests.conftest import new_database

    url = new_database("sqlite", None, tmp_path)
    settings = test_settings(url, tmp_path / "var", ECHOEL_UPLOAD_PART_BYTES=str(5 * 2**20))
    app = create_app(settings)
    for hook in app.on_startup:
        await hook()  # type: ignore[call-arg]
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver.local") as http:
            yield Backend("local", app.state.storage, http)
    finally:
        for hook in app.on_shutdown:
            await hook()  # type: ignore[call-arg]


@pytest.fixture(params=["s3", "local"])
def backend(request: pytest.FixtureRequest) -> Backend:
    value: Backend = request.getfixturevalue(f"{request.param}_backend")
    return value
