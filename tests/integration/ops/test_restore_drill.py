"""Restore drill: backup -> wipe -> restore onto a fresh instance -> same rows, same bytes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from minio import Minio

from app.core.settings import load_settings
from app.ops import dbdump
from app.ops.backup import create_backup, restore_backup, verify_backup
from app.ops.dbdump import row_counts
from app.storage import make_storage
from tests.conftest import new_database
from tests.integration.catalog.helpers import dress, listing, upload, user
from tests.integration.catalog.media import png
from tests.services.minio import MinioServer
from tests.services.postgres import PostgresServer
from tests.support import LiveApp, run_cli, test_env


def store_env(kind: str, minio: MinioServer | None) -> dict[str, str]:
    if kind == "local":
        return {"ECHOEL_STORAGE": "local"}
    assert minio is not None
    return {
        "ECHOEL_STORAGE": "s3",
        "ECHOEL_S3_ENDPOINT": minio.endpoint,
        "ECHOEL_S3_ACCESS_KEY": minio.access_key,
        "ECHOEL_S3_SECRET_KEY": minio.secret_key,
        "ECHOEL_S3_BUCKET": f"drill-{uuid.uuid4().hex[:12]}",
    }


def fresh_database(kind: str, postgres: PostgresServer | None, folder: Path) -> str:
    """An empty database (no migrations): what a new instance starts from."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'restored.db'}"
    assert postgres is not None
    return postgres.create_database(f"restored_{uuid.uuid4().hex[:8]}")


def object_states(env: dict[str, str], keys: list[str] | None = None) -> dict[str, tuple[str, str]]:
    """sha256 and content type of every object (or of ``keys``) in the store ``env`` names, read
    through the app's own adapter; a missing key has no entry."""
    storage = make_storage(load_settings(env))

    async def states() -> dict[str, tuple[str, str]]:
        wanted = keys if keys is not None else [obj.key for obj in await storage.list_objects()]
        out = {}
        for key in wanted:
            info = await storage.stat(key)
            if info is not None:
                out[key] = (await storage.sha256(key), info.content_type)
        return out

    return asyncio.run(states())


def put_objects(env: dict[str, str], payloads: dict[str, bytes], staging: Path) -> None:
    storage = make_storage(load_settings(env))

    async def put() -> None:
        await storage.ensure_ready()
        for key, data in payloads.items():
            (staging / "f").write_bytes(data)
            await storage.put_file(key, staging / "f", "application/octet-stream")

    asyncio.run(put())


# Every column of a row that names an object in the store. Columns named *_key that do not are
# listed too, so a new *_key column fails the drill until someone says which kind it is: an
# object column missing here would let a restore lose its objects unnoticed.
OBJECT_COLUMNS = {("listing_files", "object_key"), ("uploads", "object_key"), ("storefronts", "avatar_key"),
                  ("storefronts", "banner_key")}  # fmt: skip
NOT_OBJECTS = {"musical_key", "member_key", "dedupe_key", "idempotency_key", "entry_key", "code_key", "activation_key"}
# Only a completed upload's object stays in the store (a rejected or aborted one is deleted).
REFERENCED_SQL = """
SELECT object_key FROM listing_files
UNION SELECT object_key FROM uploads WHERE state = 'completed'
UNION SELECT avatar_key FROM storefronts WHERE avatar_key <> ''
UNION SELECT banner_key FROM storefronts WHERE banner_key <> ''
"""
COLUMNS_SQL = {
    "sqlite": "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
    "postgres": "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'",
}


def query(db_url: str, sql: str) -> list[tuple[str, ...]]:
    if db_url.startswith("sqlite:///"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            return [tuple(row) for row in conn.execute(sql)]

    async def fetch() -> list[tuple[str, ...]]:
        conn = await asyncpg.connect(db_url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def referenced_keys(db_url: str, kind: str) -> list[str]:
    """Object keys the rows of ``db_url`` name; fails if a column we do not check names objects."""
    named = {(t, c) for t, c in query(db_url, COLUMNS_SQL[kind]) if c.endswith("_key") and c not in NOT_OBJECTS}
    assert named == OBJECT_COLUMNS, f"say whether these name objects: {named ^ OBJECT_COLUMNS}"
    return sorted(row[0] for row in query(db_url, REFERENCED_SQL))


async def populate(url: str) -> None:
    """Through the running app, as people would: a creator with a storefront image (avatar), a
    published listing with a file and a cover, each uploaded straight to the store."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as app, httpx.AsyncClient(timeout=30) as store:
        _, creator = await user(app, creator=True)
        await dress(app, store, creator, "avatar", png((64, 64)))
        item = await listing(app, creator, title="Drill Pack")
        assert (await upload(app, store, creator, item["id"], os.urandom(300_000), name="drill.fxp")).status_code == 200
        cover = await upload(
            app, store, creator, item["id"], png(), role="cover", content_type="image/png", name="c.png"
        )
        assert cover.status_code == 200, cover.text
        status = {"status": "published"}
        assert (
            await app.post(f"/api/v1/listings/{item['id']}/status", json=status, headers=creator)
        ).status_code == 200


@pytest.mark.parametrize(("db_kind", "store_kind"), [("postgres", "s3"), ("sqlite", "local")])
def test_backup_wipe_restore(db_kind: str, store_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    postgres = request.getfixturevalue("postgres") if db_kind == "postgres" else None
    minio = request.getfixturevalue("minio_server") if store_kind == "s3" else None
    source = test_env(new_database(db_kind, postgres, tmp_path), tmp_path / "src", **store_env(store_kind, minio))
    made = run_cli(
        ["create-admin", "--email", "a0@example.com", "--handle", "a0", "--password-stdin"], source, "a long password"
    )
    assert made.returncode == 0, made.stderr
    # No job worker: derived files (thumbnails) would otherwise still be appearing during the backup.
    with LiveApp({**source, "ECHOEL_JOBS_IN_PROCESS": "false"}) as live:
        asyncio.run(populate(live.url))
    # Objects no row names as well: nested keys and one above a MiB, restored all the same.
    payloads = {
        "uploads/u1/preset.fxp": os.urandom(1000),
        "uploads/u2/pack/sample 01.wav": os.urandom(1_500_000),
        "covers/c.png": os.urandom(10),
    }
    staging = tmp_path / "staging"
    staging.mkdir()
    put_objects(source, payloads, staging)
    counts_before = row_counts(source["ECHOEL_DATABASE_URL"])
    filled = {table for table, n in counts_before.items() if n}
    assert {"users", "listings", "listing_versions", "listing_files", "uploads", "storefronts"} <= filled
    keys = referenced_keys(source["ECHOEL_DATABASE_URL"], db_kind)
    assert len(keys) == 3  # the file, the cover and the avatar
    referenced_before = object_states(source, keys)
    assert sorted(referenced_before) == keys
    states_before = object_states(source)
    assert {k: v[0] for k, v in states_before.items() if k in payloads} == {
        k: hashlib.sha256(v).hexdigest() for k, v in payloads.items()
    }

    backups = tmp_path / "backups"
    done = run_cli(["backup", "--dest", str(backups)], source)
    assert done.returncode == 0, done.stderr
    (folder,) = backups.iterdir()
    # A second backup hard-links unchanged objects instead of copying them again.
    again = run_cli(["backup", "--dest", str(backups), "--keep", "1"], source)
    assert again.returncode == 0, again.stderr
    (folder,) = backups.iterdir()
    assert (folder / "objects/uploads/u2/pack/sample 01.wav").stat().st_nlink == 1  # the older one was pruned

    # Wipe the source completely.
    if postgres is not None:
        name = source["ECHOEL_DATABASE_URL"].rsplit("/", 1)[1]
        postgres.psql(f'DROP DATABASE "{name}" WITH (FORCE)')
    else:
        os.unlink(source["ECHOEL_DATABASE_URL"].removeprefix("sqlite:///"))
    if minio is not None:
        client = Minio(minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False)
        bucket = source["ECHOEL_S3_BUCKET"]
        for key in states_before:
            client.remove_object(bucket, key)
        client.remove_bucket(bucket)
    else:
        shutil.rmtree(tmp_path / "src" / "objects")

    # Restore onto a fresh instance: an empty database and a store that does not exist yet.
    target = test_env(fresh_database(db_kind, postgres, tmp_path), tmp_path / "dst", **store_env(store_kind, minio))
    restored = run_cli(["restore", str(folder)], target)
    assert restored.returncode == 0, restored.stderr
    counts_after = row_counts(target["ECHOEL_DATABASE_URL"])
    assert counts_after == counts_before
    # Every object a row names is back, byte for byte, with its content type (S3 keeps one).
    assert referenced_keys(target["ECHOEL_DATABASE_URL"], db_kind) == keys
    assert object_states(target, keys) == referenced_before
    if store_kind == "s3":
        assert {ct for _, ct in referenced_before.values()} >= {"image/png", "application/octet-stream"}
    assert object_states(target) == states_before
    # The restored database is the migrated schema: nothing left to apply, and the app logs in.
    assert run_cli(["migrate"], target).returncode == 0
    again_admin = run_cli(
        ["create-admin", "--email", "a0@example.com", "--handle", "a0", "--password-stdin"], target, "x" * 10
    )
    assert again_admin.returncode == 0 and "admin ready: a0" in again_admin.stdout

    # Restoring twice onto the same (now non-empty) database is refused and changes nothing.
    refused = run_cli(["restore", str(folder)], target)
    assert refused.returncode != 0 and "fresh instance" in refused.stderr
    assert row_counts(target["ECHOEL_DATABASE_URL"])["users"] == counts_before["users"]


def test_tampered_backup_is_refused_before_anything_is_restored(tmp_path: Path) -> None:
    source = test_env(new_database("sqlite", None, tmp_path), tmp_path / "src", ECHOEL_STORAGE="local")
    key_file = tmp_path / "src" / "objects" / "a" / "b.bin"
    key_file.parent.mkdir(parents=True)
    key_file.write_bytes(b"original bytes")
    assert run_cli(["backup", "--dest", str(tmp_path / "bk")], source).returncode == 0
    (folder,) = (tmp_path / "bk").iterdir()
    (folder / "objects" / "a" / "b.bin").write_bytes(b"tampered bytes")
    target = test_env(f"sqlite:///{tmp_path / 'new.db'}", tmp_path / "dst", ECHOEL_STORAGE="local")
    result = run_cli(["restore", str(folder)], target)
    assert result.returncode != 0 and "sha256" in result.stderr
    assert not (tmp_path / "new.db").exists()
    assert not (tmp_path / "dst" / "objects" / "a" / "b.bin").exists()
    assert run_cli(["restore", "--verify-only", str(folder)], target).returncode != 0


def test_backup_sees_the_objects_the_app_sees(tmp_path: Path) -> None:
    """A local store's half-written ``*.tmp`` file (a put or multipart join in flight) is not an
    object: the backup goes through app.storage and leaves it out, as the app's listing does."""
    source = test_env(new_database("sqlite", None, tmp_path), tmp_path / "src", ECHOEL_STORAGE="local")
    put_objects(source, {"a/done.bin": b"whole"}, tmp_path)
    (tmp_path / "src" / "objects" / "a" / ".done.bin.0123.tmp").write_bytes(b"half")
    folder = asyncio.run(create_backup(load_settings(source), tmp_path / "backups"))
    assert [o["key"] for o in verify_backup(folder)["objects"]] == ["a/done.bin"]


@pytest.mark.parametrize("db_kind", ["postgres", "sqlite"])
def test_counts_are_those_of_the_dump_while_the_app_keeps_writing(
    db_kind: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user signs up just after the dump is taken: the manifest's counts match the dump, not
    the live database, so the restore check passes."""
    postgres = request.getfixturevalue("postgres") if db_kind == "postgres" else None
    source = test_env(new_database(db_kind, postgres, tmp_path), tmp_path / "src", ECHOEL_STORAGE="local")
    for n in (1, 2):
        made = run_cli(
            ["create-admin", "--email", f"a{n}@example.com", "--handle", f"a{n}", "--password-stdin"],
            source,
            "pw long enough",
        )
        assert made.returncode == 0, made.stderr
    url = source["ECHOEL_DATABASE_URL"]

    def write_meanwhile() -> None:
        made = run_cli(
            ["create-admin", "--email", "late@example.com", "--handle", "late", "--password-stdin"],
            source,
            "pw long enough",
        )
        assert made.returncode == 0, made.stderr

    if db_kind == "postgres":
        # The write lands after the rows were counted and the snapshot exported, just before
        # pg_dump starts: only dumping that very snapshot keeps it out of the backup.
        real_run = dbdump._run

        def write_then_run(argv: list[str], env: dict[str, str] | None = None) -> None:
            if argv[0] == "pg_dump":
                write_meanwhile()
            real_run(argv, env)

        monkeypatch.setattr(dbdump, "_run", write_then_run)
    else:
        real_dump = dbdump.dump

        def dump_then_write(db_url: str, dest: Path) -> tuple[str, dict[str, int]]:
            out = real_dump(db_url, dest)
            write_meanwhile()
            return out

        monkeypatch.setattr(dbdump, "dump", dump_then_write)
    folder = asyncio.run(create_backup(load_settings(source), tmp_path / "backups"))
    assert row_counts(url)["users"] == 3
    manifest = verify_backup(folder)
    assert manifest["row_counts"]["users"] == 2
    target = test_env(fresh_database(db_kind, postgres, tmp_path), tmp_path / "dst", ECHOEL_STORAGE="local")
    report = asyncio.run(restore_backup(load_settings(target), folder))
    assert report["tables"]["users"] == 2
