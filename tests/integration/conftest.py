"""Fixtures shared by several domains' integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services.minio import MinioServer


@pytest.fixture(scope="session")
def minio_server() -> Iterator[MinioServer]:
    """One real MinIO for the whole run; tests isolate themselves with a bucket each."""
    with MinioServer() as server:
        yield server
