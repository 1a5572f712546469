"""The Piccolo engine: SQLite for the embedded default, PostgreSQL in production.

Tables are bound to the engine explicitly (``bind_tables``) rather than through Piccolo's global
engine finder, so one process (the test suite) can run the app on either database.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from piccolo.conf.apps import AppRegistry
from piccolo.engine import Engine, PostgresEngine, SQLiteEngine
from piccolo.engine.sqlite import TransactionType
from piccolo.querystring import QueryString

from app.core.sqlite_pool import PooledSQLiteEngine

# Every domain's Piccolo app; the order is the migration order.
APPS = [
    "app.accounts.piccolo_app",
    "app.catalog.piccolo_app",
    "app.jobs.piccolo_app",
    "app.collab.piccolo_app",
    "app.torrents.piccolo_app",
    "app.payments.piccolo_app",
    "app.search.piccolo_app",
]


def make_engine(url: str) -> Engine[Any]:
    """An engine for ``sqlite:///path`` or ``postgresql://…``; the URL scheme picks it."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        _prepare_sqlite(path)
        # timeout: how long a writer waits for another worker's write lock before failing.
        return PooledSQLiteEngine(path=str(path), timeout=30)
    if scheme in {"postgres", "postgresql"}:
        return PostgresEngine(config={"dsn": url}, log_queries=False)
    raise ValueError(f"unsupported database URL scheme {scheme!r}: use sqlite:/// or postgresql://")


def _prepare_sqlite(path: Path) -> None:
    # WAL lets readers go on while one worker writes; it is a property of the file, set once.
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def registry() -> AppRegistry:
    return AppRegistry(apps=APPS)


def bind_tables(engine: Engine[Any]) -> None:
    """Point every table of every app at ``engine``."""
    for app_config in registry().app_configs.values():
        for table in app_config.table_classes:
            table._meta.db = engine


@asynccontextmanager
async def connected(engine: Engine[Any]) -> AsyncIterator[Engine[Any]]:
    """Tables bound to ``engine`` and its connections open, for commands that need no web app."""
    bind_tables(engine)
    await start(engine)
    try:
        yield engine
    finally:
        await stop(engine)


def write_transaction(engine: Engine[Any]) -> Any:
    """A transaction that will write: on SQLite it takes the write lock at BEGIN (IMMEDIATE).

    A deferred SQLite transaction whose lock upgrade meets another writer fails at once with
    "database is locked"; an immediate one waits its turn (the engine's busy timeout), and with
    WAL and ``synchronous = NORMAL`` a commit is short, so a burst drains in order. Nested use
    joins the open transaction.
    """
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def _keep_session(_: Any) -> None:
    """A pooled connection's reset: nothing beyond asyncpg's own rollback of an open transaction.

    asyncpg's default reset sends ``RESET ALL; CLOSE ALL; UNLISTEN *; pg_advisory_unlock_all()``
    on every release, one more round trip for each query outside a transaction (about a third
    of the database time of a one-query endpoint, scripts/bench/storage.py). Pooled connections
    here never change session settings, LISTEN, hold advisory locks or cursors: the job worker's
    LISTEN, the channels backend and ``pg_dump``'s snapshot use connections of their own.
    """


async def start(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10, reset=_keep_session)


async def stop(engine: Engine[Any]) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.close_connections()


async def ping(engine: Engine[Any]) -> None:
    """Raise unless the database answers a trivial query."""
    await engine.run_querystring(QueryString("SELECT 1"))


def now() -> int:
    """Seconds since the epoch: the one clock every table uses for expiries and windows."""
    return int(time.time())
