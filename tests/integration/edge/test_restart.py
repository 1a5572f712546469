"""Restart drill: the app is replaced behind the repo's nginx and not one request fails.

The same order scripts/deploy follows with containers, here with processes: start the new app
beside the old one, point nginx at the new one only (render + reload), wait until nginx's old
workers have finished what they were serving, then stop the old app with SIGTERM. Clients keep
signing up (a write) and reading (a read) through nginx the whole time.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.conftest import new_database
from tests.integration.edge.conftest import edge_env
from tests.integration.edge.load import CLIENTS, NGINX_UNLIMITED, UNLIMITED_AUTH, Load
from tests.integration.edge.stack import EdgeNginx, render_nginx
from tests.services.minio import MinioServer
from tests.support import LiveApp


def _workers_shutting_down(master_pid: int) -> int:
    out = subprocess.run(["ps", "--ppid", str(master_pid), "-o", "args="], capture_output=True, text=True).stdout
    return sum("shutting down" in line for line in out.splitlines())


def _point_nginx_at(nginx: EdgeNginx, folder: Path, app_port: int) -> None:
    """Render the site for another app upstream and reload nginx, as scripts/deploy does."""
    render_nginx(folder, nginx.fixed_port, app_port, **NGINX_UNLIMITED)
    assert nginx.process is not None
    nginx.process.send_signal(signal.SIGHUP)
    # nginx starts new workers with the new upstream; the old ones finish their requests and exit.
    deadline = time.monotonic() + 30
    time.sleep(0.2)
    while _workers_shutting_down(nginx.process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _workers_shutting_down(nginx.process.pid), "nginx's old workers never finished"


def test_replacing_the_app_behind_nginx_drops_no_request(minio_server: MinioServer, tmp_path: Path) -> None:
    db_url = new_database("sqlite", None, tmp_path)
    old, new = LiveApp({}), LiveApp({})
    nginx = EdgeNginx(tmp_path / "nginx", old.port, minio_server.port, **NGINX_UNLIMITED)
    old.env = new.env = edge_env(tmp_path, minio_server, nginx.fixed_port, db_url, **UNLIMITED_AUTH)
    with nginx, old, new, Load(nginx.url) as load:
        load.wait_for(200)
        _point_nginx_at(nginx, tmp_path / "nginx", new.port)
        load.wait_for(100)
        # SIGTERM, as `docker stop` sends: uvicorn stops listening and finishes what it has.
        old.__exit__()
        # uvicorn re-raises the signal once it has shut down cleanly; a crash would differ.
        assert old.process is not None and old.process.returncode in {0, -signal.SIGTERM}
        load.wait_for(200)  # only the new app is left
    assert load.failures == [], f"{len(load.failures)} of {load.requests} failed: {load.failures[:5]}"
    # At most one per client for the one reload: each holds one connection to nginx. A sign-up
    # sent again after it had been handled would have failed above (409: its handle is taken).
    assert load.resent <= CLIENTS, f"{load.resent} requests met a closed connection"
    # Every accepted sign-up is in the database: nothing an answer promised was lost.
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as db:
        stored = {row[0] for row in db.execute("SELECT email FROM users")}
    assert load.accepted and set(load.accepted) <= stored
