"""`echoel reindex`: rebuild the search index from the database, with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time


def _bar(done: int, total: int, started: float) -> None:
    width = 30
    filled = width if total == 0 else int(width * done / total)
    rate = done / max(time.monotonic() - started, 1e-6)
    sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} listings  {rate:,.0f}/s")
    sys.stderr.flush()


def cmd_reindex(_: argparse.Namespace) -> None:
    from app.asgi import create_app
    from app.core import db
    from app.core.settings import get_settings

    app = create_app(get_settings())

    async def go() -> None:
        async with db.connected(app.state.engine):
            started = time.monotonic()
            count = await app.state.search.reindex(lambda done, total: _bar(done, total, started))
            sys.stderr.write("\n")
            print(f"reindexed {count} published listings into {app.state.search.backend.name}")

    asyncio.run(go())


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("reindex", help="rebuild the search index from the database").set_defaults(func=cmd_reindex)
