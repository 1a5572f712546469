"""Fixtures for the job queue tests: the tables bound to a migrated database, the queue emptied."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from piccolo.engine import Engine

from app.core import db
from app.jobs.tables import Job


@pytest.fixture
async def queue_db(db_url: str) -> AsyncIterator[Engine[Any]]:
    engine = db.make_engine(db_url)
    db.bind_tables(engine)
    await db.start(engine)
    await Job.delete(force=True)
    try:
        yield engine
    finally:
        await db.stop(engine)
