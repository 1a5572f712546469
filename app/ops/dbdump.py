"""Dump and restore the database: ``pg_dump -Fc`` / ``pg_restore`` on PostgreSQL, the SQLite
online-backup API on the embedded default; plus row counts to check a restore against."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit


class BackupError(RuntimeError):
    """A backup or restore cannot go on (bad manifest, checksum mismatch, non-empty target)."""


def is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql"}


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it (kept out of ``ps``)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, "")), env


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} not found: install the PostgreSQL client (same major version as the server)")
    # argv is fixed here: the tool name and our own paths; the URL travels as one argument.
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {result.stderr.strip()[-2000:]}")


def dump(url: str, dest_dir: Path) -> tuple[str, dict[str, int]]:
    """Write the database into ``dest_dir``; the file name written and its rows per table.

    The counts are of the dump itself (the same snapshot), so a restore can be checked against
    them exactly even while the app kept writing during the backup.
    """
    if is_postgres(url):
        return "database.dump", asyncio.run(_pg_dump(url, dest_dir / "database.dump"))
    source = sqlite3.connect(_sqlite_path(url))
    target = sqlite3.connect(dest_dir / "database.sqlite3")
    try:
        # A consistent copy while the app keeps writing (WAL included).
        source.backup(target)
    finally:
        target.close()
        source.close()
    return "database.sqlite3", row_counts(f"sqlite:///{dest_dir / 'database.sqlite3'}")


async def _pg_dump(url: str, file: Path) -> dict[str, int]:
    """``pg_dump`` of a snapshot this connection exports and counts rows in while it runs."""
    import asyncpg  # type: ignore[import-untyped]

    dsn, env = _libpq(url)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            snapshot = await conn.fetchval("SELECT pg_export_snapshot()")
            counts = await _count(conn)
            # Owners and grants are left out: a restore runs as the schema owner of the new
            # instance and its default privileges (sql/init/01-roles.sql) grant the app role again.
            argv = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--no-comments",
                    f"--snapshot={snapshot}", "--file", str(file), "--dbname", dsn]  # fmt: skip
            # The snapshot lives as long as this transaction: pg_dump must finish inside it.
            await asyncio.to_thread(_run, argv, env)
        return counts
    finally:
        await conn.close()


def restore(url: str, file: Path, *, force: bool = False) -> None:
    """Load ``file`` into the (empty, unless ``force``) database at ``url``."""
    if not force and row_counts(url):
        raise BackupError("the target database already has tables: restore onto a fresh instance")
    if is_postgres(url):
        dsn, env = _libpq(url)
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              "--dbname", dsn, str(file)], env)  # fmt: skip
        return
    path = _sqlite_path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(file, path)


def row_counts(url: str) -> dict[str, int]:
    """Rows per table (PostgreSQL: schema public)."""
    if is_postgres(url):
        return asyncio.run(_pg_counts(url))
    path = _sqlite_path(url)
    if not path.exists():
        return {}
    with sqlite3.connect(path) as conn:
        names = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in sorted(names)}  # noqa: S608 - names from the catalog


async def _pg_counts(url: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await _count(conn)
    finally:
        await conn.close()


async def _count(conn: Any) -> dict[str, int]:
    names = [r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    counts: dict[str, int] = {}
    for name in sorted(names):
        quoted = '"' + name.replace('"', '""') + '"'
        counts[name] = int(await conn.fetchval(f"SELECT count(*) FROM public.{quoted}"))  # noqa: S608 - catalog names
    return counts
