"""Wiring of the torrents domain into the app (called from ``app.asgi.create_app``)."""

from __future__ import annotations

import asyncio
import logging

import anyio
from litestar import Litestar

from app.core.settings import Settings
from app.torrents.catalog import CatalogEntitlements
from app.torrents.controllers import TorrentController, TrackerController, WebSeedController
from app.torrents.packs import Entitlements
from app.torrents.services import TorrentService
from app.torrents.tokens import seeder_key
from app.torrents.tracker import Tracker

ROUTE_HANDLERS = [TrackerController, TorrentController, WebSeedController]
log = logging.getLogger("echoel.torrents")


def attach(app: Litestar, settings: Settings, entitlements: Entitlements | None = None) -> None:
    """Put the torrent service and tracker on app.state; start the embedded seeder if configured."""
    app.state.torrents = TorrentService(settings, entitlements or CatalogEntitlements())
    app.state.tracker = Tracker(settings, seeder_key(settings.secret_key))
    if not settings.seeder_in_process:
        return
    if settings.workers > 1:
        # Each worker would open the same listening port: run one `echoel seeder` instead.
        log.warning("seeder_in_process is ignored with several workers; run `echoel seeder`")
        return
    stop = anyio.Event()
    task: asyncio.Task[None] | None = None

    async def start_seeder() -> None:
        nonlocal task
        from app.torrents.seeder import Seeder

        seeder = Seeder(settings)
        app.state.seeder = seeder
        task = asyncio.get_running_loop().create_task(seeder.run(stop))

    async def stop_seeder() -> None:
        stop.set()
        if task is not None:
            await task

    # After the database opens, before it closes.
    app.on_startup.append(start_seeder)
    app.on_shutdown.insert(0, stop_seeder)
