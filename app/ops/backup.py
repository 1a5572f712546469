"""Backups that restore: a database dump plus a mirror of the object store, with sha256 manifests.

A backup is one folder ``echoel-<UTC time>/`` holding::

    database.dump | database.sqlite3   pg_dump -Fc, or a SQLite online copy
    objects/<key>                      every object of the store, byte for byte
    manifest.json                      database file, row counts, and key/size/sha256 per object
    SHA256SUMS                         `sha256sum -c` compatible, over every file above

An object unchanged since the previous backup (same ETag and size) is hard-linked from it, so
a daily backup of a large store costs only what changed. The folder is written as ``.partial``
and renamed when complete: a crash never leaves a backup that looks finished.

Everything here blocks (subprocesses, file hashing, the minio SDK): call it from a CLI or
through ``anyio.to_thread``.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.core.settings import Settings
from app.ops import dbdump
from app.ops.objects import BackupError, object_store, safe_relative, sha256_file

PREFIX = "echoel-"
FORMAT = 1


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


def create_backup(settings: Settings, root: Path) -> Path:
    """Write a complete backup under ``root`` and return its folder."""
    root.mkdir(parents=True, exist_ok=True)
    name = PREFIX + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    work = root / f"{name}.partial"
    (work / "objects").mkdir(parents=True)
    try:
        db_file, counts = dbdump.dump(settings.db_url, work)
        previous = _previous_objects(root)
        store = object_store(settings)
        objects = []
        for obj in store.list():
            target = work / "objects" / safe_relative(obj.key)
            target.parent.mkdir(parents=True, exist_ok=True)
            old = previous.get(obj.key)
            if old and old["version"] == obj.version and old["size"] == obj.size and old["path"].exists():
                os.link(old["path"], target)
                digest = old["sha256"]
            else:
                store.fetch(obj.key, target)
                digest = sha256_file(target)
            if target.stat().st_size != obj.size:
                raise BackupError(f"object {obj.key} changed while it was copied; run the backup again")
            objects.append({"key": obj.key, "size": obj.size, "sha256": digest, "version": obj.version})
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "database": {"file": db_file, "kind": "postgresql" if dbdump.is_postgres(settings.db_url) else "sqlite"},
            "row_counts": counts,
            "storage": settings.storage,
            "objects": objects,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        _write_sums(work, db_file, objects)
        work.rename(root / name)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return root / name


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


def restore_backup(settings: Settings, folder: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore ``folder`` into the database and store ``settings`` name; a report of what was restored."""
    manifest = verify_backup(folder)
    dbdump.restore(settings.db_url, folder / manifest["database"]["file"], force=force)
    counts = dbdump.row_counts(settings.db_url)
    expected = manifest["row_counts"]
    if any(counts.get(table) != n for table, n in expected.items()):
        raise BackupError(f"row counts differ after restore: expected {expected}, found {counts}")
    store = object_store(settings)
    for obj in manifest["objects"]:
        store.put(obj["key"], folder / "objects" / safe_relative(obj["key"]))
        if store.size(obj["key"]) != obj["size"]:
            raise BackupError(f"object {obj['key']} did not arrive whole")
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
