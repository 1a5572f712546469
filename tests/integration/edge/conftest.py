"""Edge fixtures: the app (a real `echoel run`) and MinIO behind the repo's rendered nginx."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import new_database
from tests.integration.edge.stack import EdgeNginx
from tests.services.binaries import free_port
from tests.services.minio import MinioServer
from tests.support import LiveApp, test_env


@dataclass
class Edge:
    app: LiveApp
    nginx: EdgeNginx
    minio: MinioServer
    bucket: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.nginx.url


def edge_env(folder: Path, minio: MinioServer, nginx_port: int, db_url: str, **extra: str) -> dict[str, str]:
    return test_env(
        db_url,
        folder / "var",
        ECHOEL_PUBLIC_URL=f"http://127.0.0.1:{nginx_port}",
        ECHOEL_STORAGE="s3",
        ECHOEL_S3_ENDPOINT=minio.endpoint,
        ECHOEL_S3_ACCESS_KEY=minio.access_key,
        ECHOEL_S3_SECRET_KEY=minio.secret_key,
        ECHOEL_S3_BUCKET=f"edge-{uuid.uuid4().hex[:12]}",
        ECHOEL_S3_PUBLIC_URL=f"http://127.0.0.1:{nginx_port}/s3",
        **extra,
    )


def start_edge(folder: Path, minio: MinioServer, db_url: str, nginx_extra: dict[str, str] | None = None) -> Edge:
    """Not started: call ``with edge.app, edge.nginx``."""
    app_port = free_port()
    nginx = EdgeNginx(folder / "nginx", app_port, minio.port, **(nginx_extra or {}))
    env = edge_env(folder, minio, nginx.fixed_port, db_url, ECHOEL_AUTH_MAX_FAILURES="3")
    app = LiveApp(env)
    app.port, app.url = app_port, f"http://localhost:{app_port}"
    return Edge(app, nginx, minio, env["ECHOEL_S3_BUCKET"], env)


@pytest.fixture(scope="module")
def edge(minio_server: MinioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """One app + nginx for the module; the auth rate limit is low enough to hit in a test."""
    folder = tmp_path_factory.mktemp("edge")
    stack = start_edge(folder, minio_server, new_database("sqlite", None, folder), {"NGINX_AUTH_RATE": "30r/m"})
    with stack.app, stack.nginx:
        yield stack
