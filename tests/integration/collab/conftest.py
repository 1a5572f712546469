"""Live-app fixtures for collaboration: the app as a real process on SQLite or PostgreSQL, coturn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import new_database
from tests.integration.collab.live import LIVE_ENV
from tests.services.coturn import Coturn
from tests.support import LiveApp, test_env


@pytest.fixture(scope="session")
def coturn() -> Iterator[Coturn]:
    """The shipped configuration plus the one hole a relay-to-relay transfer on one machine needs.

    Both peers' relayed addresses are on 127.0.0.1, which the shipped rules deny. coturn refuses
    loopback peers before it reads the allow/deny lists, so both switches are needed; every other
    deny rule stays as shipped.
    """
    with Coturn("--allow-loopback-peers", "--allowed-peer-ip=127.0.0.1") as server:
        yield server


def turn_env(server: Coturn) -> dict[str, str]:
    return {
        "ECHOEL_STUN_URLS": server.stun_url,
        "ECHOEL_TURN_URLS": f"{server.turn_url}?transport=udp",
        "ECHOEL_TURN_SECRET": server.secret,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, coturn: Coturn) -> Iterator[LiveApp]:
    """One app process per database kind, with coturn configured as its TURN server."""
    folder: Path = tmp_path_factory.mktemp(f"live-{request.param}")
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    url = new_database(request.param, server, folder)
    env = test_env(url, folder / "var", **LIVE_ENV, **turn_env(coturn))
    with LiveApp(env) as app:
        yield app
