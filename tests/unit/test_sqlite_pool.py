"""The embedded SQLite engine: lent connections, one trip per query, writers queued in-process."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from pathlib import Path

import pytest
from piccolo.engine.sqlite import TransactionType
from piccolo.querystring import QueryString

from app.core.db import make_engine, stop
from app.core.sqlite_pool import PooledSQLiteEngine


async def _sql(engine: PooledSQLiteEngine, sql: str, *args: object) -> list[dict[str, object]]:
    return await engine.run_querystring(QueryString(sql, *args))  # type: ignore[no-any-return]


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    assert isinstance(engine, PooledSQLiteEngine)
    await _sql(engine, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    await _sql(engine, "INSERT INTO counter (id, n) VALUES (1, 0)")
    yield engine
    await stop(engine)


async def test_concurrent_writers_all_land(engine: PooledSQLiteEngine) -> None:
    """Read-modify-write in IMMEDIATE transactions from many tasks at once: none lost, none locked."""

    async def bump() -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            n = (await _sql(engine, "SELECT n FROM counter WHERE id = 1"))[0]["n"]
            await asyncio.sleep(0)  # let the others try to get in between the read and the write
            await _sql(engine, "UPDATE counter SET n = {} WHERE id = 1", int(n) + 1)  # type: ignore[call-overload]

    async def insert(i: int) -> None:
        await _sql(engine, "INSERT INTO counter (id, n) VALUES ({}, 0)", 100 + i)

    await asyncio.gather(*(bump() for _ in range(40)), *(insert(i) for i in range(40)))
    # The writers queued in this process (not in SQLite's sleeping busy handler): an open
    # IMMEDIATE transaction holds the queue, and a plain write waits for it there.
    pool = engine._pool()
    queued: list[int] = []
    take = engine.queued_write

    async def spy() -> asyncio.Lock:
        queued.append(99)
        return await take()

    engine.queued_write = spy  # type: ignore[method-assign]
    async with engine.transaction(transaction_type=TransactionType.immediate):
        assert pool.write_lock.locked() and len(queued) == 1  # this transaction's own turn
        # A fresh context: a task inheriting ours would join the open transaction.
        late = asyncio.create_task(insert(99), context=contextvars.Context())
        await asyncio.sleep(0.05)
        # The raw INSERT joined the queue (not SQLite's busy handler) and waits there.
        assert len(queued) == 2 and not late.done()
    await asyncio.wait_for(late, 5)
    assert not pool.write_lock.locked()
    assert (await _sql(engine, "SELECT n FROM counter WHERE id = 1"))[0]["n"] == 40
    assert (await _sql(engine, "SELECT COUNT(*) AS c FROM counter"))[0]["c"] == 42


async def test_transaction_connections_go_back_to_the_pool(engine: PooledSQLiteEngine) -> None:
    for _ in range(3 * engine.pool_size):
        async with engine.transaction():
            await _sql(engine, "SELECT n FROM counter")
    pool = engine._pool()
    assert 1 <= len(pool.for_transactions) <= engine.pool_size
    assert len({id(c) for c in pool.for_transactions}) == len(pool.for_transactions)


async def test_a_failed_transaction_rolls_back_and_its_connection_is_clean(engine: PooledSQLiteEngine) -> None:
    async def fail() -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await _sql(engine, "UPDATE counter SET n = 99 WHERE id = 1")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail()
    assert (await _sql(engine, "SELECT n FROM counter WHERE id = 1"))[0]["n"] == 0
    pool = engine._pool()
    assert not pool.write_lock.locked()
    assert pool.for_transactions and all(not c.in_transaction for c in pool.for_transactions)
    # The next writer is not blocked by the failed one.
    async with engine.transaction(transaction_type=TransactionType.immediate):
        await _sql(engine, "UPDATE counter SET n = 1 WHERE id = 1")
    assert (await _sql(engine, "SELECT n FROM counter WHERE id = 1"))[0]["n"] == 1


async def test_an_open_transaction_does_not_starve_plain_queries(engine: PooledSQLiteEngine) -> None:
    """Transactions holding more connections than the pool keeps: plain reads still get one."""
    release, all_in = asyncio.Event(), asyncio.Event()
    count = engine.pool_size + 2
    started = 0

    async def hold() -> None:
        nonlocal started
        async with engine.transaction():
            await _sql(engine, "SELECT n FROM counter")
            started += 1
            if started == count:
                all_in.set()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(count)]
    await asyncio.wait_for(all_in.wait(), 5)
    rows = await asyncio.wait_for(_sql(engine, "SELECT n FROM counter WHERE id = 1"), 5)
    assert rows[0]["n"] == 0
    release.set()
    await asyncio.gather(*holders)


async def test_a_transaction_that_cannot_begin_gives_its_connection_back(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock past the timeout: BEGIN fails, nothing leaks."""
    path = tmp_path / "locked.db"
    engine = PooledSQLiteEngine(path=str(path), timeout=0.2)
    await _sql(engine, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError):
            async with engine.transaction(transaction_type=TransactionType.immediate):
                pass
        pool = engine._pool()
        assert len(pool.for_transactions) == 1 and not pool.for_transactions[0].in_transaction
        assert not pool.write_lock.locked()
    finally:
        other.execute("ROLLBACK")
        other.close()
        await stop(engine)


async def test_a_handed_write_frees_the_queue_and_a_transaction_waits_for_it(engine: PooledSQLiteEngine) -> None:
    """A single write holds the queue only while it is handed over; a transaction after it waits."""
    path = engine.connection_kwargs["database"]
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process mid-write: the writer's statement must wait
    order: list[str] = []

    async def write() -> None:
        await _sql(engine, "INSERT INTO counter (id, n) VALUES (2, 0)")
        order.append("write")

    async def transaction() -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            order.append("transaction")
            await _sql(engine, "UPDATE counter SET n = n + 1 WHERE id = 2")

    try:
        handed = asyncio.create_task(write(), context=contextvars.Context())
        await asyncio.sleep(0.1)
        pool = engine._pool()
        # Handed over, still waiting on SQLite: the queue is free for the next write already.
        assert not handed.done() and not pool.write_lock.locked()
        later = asyncio.create_task(transaction(), context=contextvars.Context())
        await asyncio.sleep(0.1)
        assert not later.done() and order == []
    finally:
        other.execute("ROLLBACK")
        other.close()
    await asyncio.wait_for(asyncio.gather(handed, later), 10)
    # The transaction began only once the write it queued behind had landed, and saw its row.
    assert order == ["write", "transaction"]
    assert (await _sql(engine, "SELECT n FROM counter WHERE id = 2"))[0]["n"] == 1
