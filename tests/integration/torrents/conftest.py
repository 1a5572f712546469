"""Fixtures for torrent tests: the app as a real process (tracker and web seed) and its settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.settings import Settings
from app.torrents.services import TorrentService
from tests.services.binaries import free_port
from tests.support import LiveApp, test_env, test_settings


@pytest.fixture
def torrent_env(db_url: str, var_dir: Path) -> dict[str, str]:
    """Environment shared by the live app, the seeder process and this test's service."""
    port = free_port()
    return test_env(
        db_url,
        var_dir,
        ECHOEL_PUBLIC_URL=f"http://127.0.0.1:{port}",
        ECHOEL_PORT=str(port),
        ECHOEL_SEEDER_PORT=str(free_port()),
        ECHOEL_SEEDER_REFRESH_SECONDS="1",
        ECHOEL_TRACKER_INTERVAL_SECONDS="30",
    )


@pytest.fixture
def torrent_settings(torrent_env: dict[str, str]) -> Settings:
    return test_settings(
        torrent_env["ECHOEL_DATABASE_URL"],
        Path(torrent_env["ECHOEL_VAR_DIR"]),
        **{k: v for k, v in torrent_env.items() if k not in {"ECHOEL_DATABASE_URL", "ECHOEL_VAR_DIR"}},
    )


@pytest.fixture
def service(torrent_settings: Settings, client: object) -> TorrentService:
    """The torrent service in this process, on the test database (``client`` opened it)."""
    return TorrentService(torrent_settings)


@pytest.fixture
def live_app(torrent_env: dict[str, str]) -> Iterator[LiveApp]:
    live = LiveApp(torrent_env)
    port = int(torrent_env["ECHOEL_PORT"])
    live.port, live.url = port, f"http://127.0.0.1:{port}"
    with live:
        yield live
