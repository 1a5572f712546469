"""``echoel worker``: a process that only runs background jobs, stopped by SIGTERM or Ctrl+C."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime

from litestar import Litestar

from app.core import db
from app.core.settings import Settings
from app.jobs import enqueue
from app.jobs.housekeeping import PURGE_KIND
from app.jobs.registry import load_handler_modules, registry
from app.jobs.worker import Worker

log = logging.getLogger("echoel.jobs")


async def run_worker(app: Litestar, settings: Settings, concurrency: int | None = None) -> None:
    # Only the database is opened, not the app's whole lifespan: a worker process must not
    # start what serves the web (the in-process seeder, listeners). Handlers get app.state.
    engine = app.state.engine
    db.bind_tables(engine)
    await db.start(engine)
    try:
        load_handler_modules()
        worker = Worker.from_settings(settings, state=app.state)
        if concurrency:
            worker.concurrency = concurrency
        # One purge of old finished jobs a day, however many workers start that day.
        await enqueue(PURGE_KIND, {"days": 7}, dedupe_key=f"{PURGE_KIND}:{datetime.now(UTC).date()}")
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
    finally:
        await db.stop(engine)
