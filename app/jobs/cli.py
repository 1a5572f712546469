"""``echoel worker``: a process that only runs background jobs, stopped by SIGTERM or Ctrl+C."""

from __future__ import annotations

import asyncio
import logging
import signal

from litestar import Litestar

from app.core import db
from app.core.settings import Settings
from app.jobs.registry import registry
from app.jobs.worker import Worker
from app.schedules import schedule_periodic

log = logging.getLogger("echoel.jobs")


async def run_worker(app: Litestar, settings: Settings, concurrency: int | None = None) -> None:
    # Only the database is opened, not the app's whole lifespan: a worker process must not
    # start what serves the web (the in-process seeder, listeners). Handlers get app.state.
    async with db.connected(app.state.engine):
        worker = Worker.from_settings(settings, state=app.state)
        if concurrency:
            worker.concurrency = concurrency
        await schedule_periodic(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        worker.start()
        print(f"echoel worker {worker.id}: kinds {', '.join(sorted(registry.kinds))}", flush=True)
        await stop.wait()
        log.info("stopping: letting running jobs finish")
        await worker.stop(grace_seconds=30)
        print("echoel worker stopped", flush=True)
