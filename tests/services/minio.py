"""A real MinIO server for tests (``minio server`` in a temp dir)."""

from __future__ import annotations

import os
import secrets
import urllib.error
import urllib.request

from tests.services.binaries import ServerProcess, find_binary, free_ports


class MinioServer(ServerProcess):
    """MinIO on 127.0.0.1 with random root credentials.

    Attributes once started: ``endpoint`` ("127.0.0.1:PORT", what the ``minio`` SDK wants),
    ``url`` ("http://127.0.0.1:PORT"), ``access_key``, ``secret_key``, ``port``,
    ``console_port``.
    """

    name = "minio"
    startup_timeout = 60.0

    def __init__(self) -> None:
        super().__init__()
        self.binary = find_binary("minio")
        self.access_key = "echoel" + secrets.token_hex(6)
        self.secret_key = secrets.token_urlsafe(24)
        self.port = 0
        self.console_port = 0

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def _allocate(self) -> None:
        self.port, self.console_port = free_ports(2)

    def _prepare(self) -> None:
        assert self.tmpdir is not None
        (self.tmpdir / "data").mkdir(exist_ok=True)
        (self.tmpdir / "certs").mkdir(exist_ok=True)

    def _command(self) -> list[str]:
        assert self.tmpdir is not None
        return [
            self.binary,
            "server",
            str(self.tmpdir / "data"),
            "--address",
            self.endpoint,
            "--console-address",
            f"127.0.0.1:{self.console_port}",
            "--certs-dir",
            str(self.tmpdir / "certs"),
            "--quiet",
        ]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Never pick up a developer's MinIO settings.
        for key in list(env):
            if key.startswith("MINIO_"):
                del env[key]
        env.update(
            MINIO_ROOT_USER=self.access_key,
            MINIO_ROOT_PASSWORD=self.secret_key,
            MINIO_UPDATE="off",
            MINIO_BROWSER="off",
        )
        return env

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/minio/health/live", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False
