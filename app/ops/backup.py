"""Backups that restore: a database dump plus a mirror of the object store, with sha256 manifests.

A backup is one folder ``echoel-<UTC time>/`` holding::

    database.dump | database.sqlite3   pg_dump -Fc, or a SQLite online copy
    objects/<key>                      every object of the store, byte for byte
    manifest.json                      database file, row counts, and key/size/sha256 per object
    SHA256SUMS                         `sha256sum -c` compatible, over every file above

An object unchanged since the previous backup (same ETag and size) is hard-linked from it, so
a daily backup of a large store costs only what changed. The folder is written as ``.partial``
and renamed when complete: a crash never leaves a backup that looks finished.

Objects go through the app's own ``ObjectStorage`` (``app.storage``), the same adapter every
upload and download uses, so a backup sees exactly the objects the app does (never a local
store's half-written ``*.tmp`` files). The blocking parts (pg_dump, SQLite's copy, hashing
files) run in threads: call these from the event loop, or through ``asyncio.run`` in a CLI.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread

from app.core.settings import Settings
from app.ops import dbdump
from app.ops.dbdump import BackupError
from app.storage import ObjectInfo, ObjectStorage, StorageError, make_storage

PREFIX = "echoel-"
FORMAT = 1
# What a restored object is stored as when the backup did not know (the local store keeps none).
DEFAULT_CONTENT_TYPE = "application/octet-stream"

__all__ = ["BackupError", "create_backup", "list_backups", "prune", "restore_backup", "verify_backup"]


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def safe_relative(key: str) -> Path:
    """``key`` as a relative path; BackupError if it could escape the backup folder."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in {"", ".", ".."} for p in parts):
        raise BackupError(f"refusing unsafe object key {key!r}")
    return Path(*parts)


def list_backups(root: Path) -> list[Path]:
    """Finished backups under ``root``, oldest first."""
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX) and "." not in p.name)


def _previous_objects(root: Path) -> dict[str, dict[str, Any]]:
    backups = list_backups(root)
    if not backups:
        return {}
    manifest = json.loads((backups[-1] / "manifest.json").read_text())
    return {o["key"]: {**o, "path": backups[-1] / "objects" / safe_relative(o["key"])} for o in manifest["objects"]}


async def create_backup(settings: Settings, root: Path, storage: ObjectStorage | None = None) -> Path:
    """Write a complete backup under ``root`` and return its folder."""
    storage = storage or make_storage(settings)
    work = await anyio.to_thread.run_sync(_start, root)
    try:
        db_file, counts = await anyio.to_thread.run_sync(dbdump.dump, settings.db_url, work)
        previous = await anyio.to_thread.run_sync(_previous_objects, root)
        await storage.ensure_ready()
        objects = [await _copy_object(storage, obj.key, work, previous) for obj in await storage.list_objects()]
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "database": {"file": db_file, "kind": "postgresql" if dbdump.is_postgres(settings.db_url) else "sqlite"},
            "row_counts": counts,
            "storage": settings.storage,
            "objects": objects,
        }
        folder: Path = await anyio.to_thread.run_sync(_finish, work, manifest)
    except StorageError as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise BackupError(f"the object store failed: {exc}") from exc
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return folder


def _start(root: Path) -> Path:
    """The new backup's ``.partial`` folder, created."""
    name = PREFIX + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    work = root / f"{name}.partial"
    (work / "objects").mkdir(parents=True)
    return work


def _finish(work: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest and SHA256SUMS, then give the folder its final name (the last step)."""
    (work / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    _write_sums(work, manifest["database"]["file"], manifest["objects"])
    folder = work.with_name(work.name.removesuffix(".partial"))
    work.rename(folder)
    return folder


async def _copy_object(storage: ObjectStorage, key: str, work: Path, previous: dict[str, Any]) -> dict[str, Any]:
    """Copy one object into the backup (hard-linked when unchanged since the last one); its entry."""
    # stat, not the listing: S3 lists no content type, and restoring it keeps covers and demos
    # served as what they are, not as octet-stream.
    info = await storage.stat(key)
    if info is None:
        raise BackupError(f"object {key} vanished while the backup ran; run it again")
    target, digest = await anyio.to_thread.run_sync(_place, work, info, previous)
    if digest is None:
        await storage.get_file(key, target)
        digest = await anyio.to_thread.run_sync(_digest, target, info.size)
    return {"key": key, "size": info.size, "sha256": digest, "version": info.etag, "content_type": info.content_type}


def _place(work: Path, info: ObjectInfo, previous: dict[str, Any]) -> tuple[Path, str | None]:
    """Where ``info``'s object goes in the backup, and its sha256 if it was linked from the last one."""
    target = work / "objects" / safe_relative(info.key)
    target.parent.mkdir(parents=True, exist_ok=True)
    old = previous.get(info.key)
    if old and old["version"] == info.etag and old["size"] == info.size and old["path"].exists():
        os.link(old["path"], target)
        return target, str(old["sha256"])
    return target, None


def _digest(path: Path, size: int) -> str:
    if path.stat().st_size != size:
        raise BackupError(f"object {path.name} changed while it was copied; run the backup again")
    return sha256_file(path)


def _write_sums(folder: Path, db_file: str, objects: list[dict[str, Any]]) -> None:
    lines = [f"{sha256_file(folder / db_file)}  {db_file}", f"{sha256_file(folder / 'manifest.json')}  manifest.json"]
    lines += [f"{o['sha256']}  objects/{o['key']}" for o in objects]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def verify_backup(folder: Path) -> dict[str, Any]:
    """Check every file against SHA256SUMS (and the manifest against its listing); the manifest."""
    sums = folder / "SHA256SUMS"
    if not sums.exists() or not (folder / "manifest.json").exists():
        raise BackupError(f"{folder} is not a finished backup (no SHA256SUMS or manifest.json)")
    listed: dict[str, str] = {}
    for line in sums.read_text().splitlines():
        digest, _, rel = line.partition("  ")
        listed[rel] = digest
        path = folder / safe_relative(rel)
        if not path.is_file() or sha256_file(path) != digest:
            raise BackupError(f"{rel}: missing or its sha256 differs from SHA256SUMS")
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    for obj in manifest["objects"]:
        if listed.get(f"objects/{obj['key']}") != obj["sha256"]:
            raise BackupError(f"object {obj['key']} is not covered by SHA256SUMS")
    return manifest


async def restore_backup(
    settings: Settings, folder: Path, *, force: bool = False, storage: ObjectStorage | None = None
) -> dict[str, Any]:
    """Restore ``folder`` into the database and store ``settings`` name; a report of what was restored."""
    manifest = await anyio.to_thread.run_sync(verify_backup, folder)
    await anyio.to_thread.run_sync(
        lambda: dbdump.restore(settings.db_url, folder / manifest["database"]["file"], force=force)
    )
    counts = await anyio.to_thread.run_sync(dbdump.row_counts, settings.db_url)
    expected = manifest["row_counts"]
    if any(counts.get(table) != n for table, n in expected.items()):
        raise BackupError(f"row counts differ after restore: expected {expected}, found {counts}")
    storage = storage or make_storage(settings)
    try:
        await storage.ensure_ready()
        for obj in manifest["objects"]:
            src = folder / "objects" / safe_relative(obj["key"])
            await storage.put_file(obj["key"], src, obj.get("content_type") or DEFAULT_CONTENT_TYPE)
            info = await storage.stat(obj["key"])
            if info is None or info.size != obj["size"]:
                raise BackupError(f"object {obj['key']} did not arrive whole")
    except StorageError as exc:
        raise BackupError(f"the object store failed: {exc}") from exc
    return {"tables": counts, "objects": len(manifest["objects"])}


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` backups (and abandoned partial ones); what was removed."""
    removed = [p for p in root.glob(f"{PREFIX}*.partial") if p.is_dir()]
    backups = list_backups(root)
    removed += backups[: max(0, len(backups) - keep)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def backup_root(settings: Settings) -> Path:
    return Path(settings.backup_dir) if settings.backup_dir else settings.var_path / "backups"
