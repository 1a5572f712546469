"""The repo's real nginx configuration, rendered by scripts/render-nginx for test ports."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.services.binaries import REPO_ROOT, free_port
from tests.services.nginx import Nginx


def nginx_env(folder: Path, port: int, app_port: int, minio_port: int = 1, **extra: str) -> dict[str, str]:
    """The NGINX_* variables of scripts/render-nginx for an HTTP-only site with its files in ``folder``."""
    static = folder / "static"
    static.mkdir(parents=True, exist_ok=True)
    return {
        "NGINX_SERVER_NAME": "127.0.0.1 localhost",
        "NGINX_TLS": "off",
        "NGINX_HTTP_PORT": str(port),
        "NGINX_APP_UPSTREAM": f"127.0.0.1:{app_port}",
        "NGINX_MINIO_UPSTREAM": f"127.0.0.1:{minio_port}",
        "NGINX_STATIC_ROOT": str(static),
        "NGINX_SEED_DIR": str(folder / "packs"),
        "NGINX_CACHE_DIR": str(folder / "cache"),
        "NGINX_ACCESS_LOG": str(folder / "access.log"),
        "NGINX_STATUS_PORT": str(free_port()),
        **extra,
    }


def render_nginx(folder: Path, port: int, app_port: int, minio_port: int = 1, **extra: str) -> str:
    """Render nginx/ in HTTP-only mode into ``folder``; the text of the main nginx.conf."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NGINX_")},
        **nginx_env(folder, port, app_port, minio_port, **extra),
    }
    out = folder / "conf"
    subprocess.run([str(REPO_ROOT / "scripts" / "render-nginx"), str(out)], env=env, check=True, capture_output=True)
    return (out / "nginx.conf").read_text()


class EdgeNginx(Nginx):
    """tests.services.nginx.Nginx on a port chosen before rendering (the listen line is in a snippet)."""

    def __init__(self, folder: Path, app_port: int, minio_port: int = 1, **extra: str) -> None:
        self.fixed_port = free_port()
        self.static_root = folder / "static"
        self.access_log = folder / "access.log"
        super().__init__(render_nginx(folder, self.fixed_port, app_port, minio_port, **extra))

    def _allocate(self) -> None:
        self.port = self.fixed_port


class HostNginx(Nginx):
    """nginx running ``conf_dir/nginx.conf`` itself, as the host's nginx does on a VPS.

    scripts/deploy (processes runtime) renders ``conf_dir`` and reloads this master through
    ``pid_file``: a reload reads whatever was rendered last, the main nginx.conf included.
    """

    def __init__(self, conf_dir: Path, port: int, pid_file: Path) -> None:
        super().__init__("")
        self.conf_dir, self.fixed_port, self.pid_file = conf_dir, port, pid_file

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.fixed_port}"

    @property
    def conf_path(self) -> Path:
        return self.conf_dir / "nginx.conf"

    @property
    def pid_path(self) -> Path:
        return self.pid_file

    def _allocate(self) -> None:
        self.port = self.fixed_port

    def _prepare(self) -> None:
        # The http temp paths stay nginx's compiled-in ones (Debian: /var/lib/nginx), as on a VPS.
        (self.prefix / "logs").mkdir(exist_ok=True)
        self.conf_text = self.conf_path.read_text()
