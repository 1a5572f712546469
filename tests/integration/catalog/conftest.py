"""Catalog fixtures: the app on real MinIO (a bucket per test) with small upload limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.core.settings import Settings
from tests.integration.storage.conftest import s3_settings
from tests.services.minio import MinioServer

MiB = 1024 * 1024
# Small limits keep test data to a few MB: one POST up to 1 MiB, 5 MiB parts (S3's minimum).
LIMITS = {
    "ECHOEL_UPLOAD_SINGLE_MAX_BYTES": str(MiB),
    "ECHOEL_UPLOAD_PART_BYTES": str(5 * MiB),
    "ECHOEL_UPLOAD_QUOTA_BYTES": str(24 * MiB),
}


@pytest.fixture
def settings(db_url: str, var_dir: Path, minio_server: MinioServer) -> Settings:
    return s3_settings(minio_server, db_url, var_dir, **LIMITS)


@pytest.fixture
async def store_http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for presigned URLs (the bytes go to MinIO, never through the app)."""
    async with httpx.AsyncClient(timeout=60) as http:
        yield http
