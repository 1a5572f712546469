"""Blocking, whole-store access to object storage for backups: list, fetch to disk, put from disk.

The app's ``ObjectStorage`` protocol is async and per-key; a backup walks the whole bucket and
writes files, so it talks to the store directly (minio SDK, or the local objects folder) and
runs in a thread or a CLI process, never on the event loop.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.core.settings import Settings

CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """A backup or restore cannot go on (bad manifest, checksum mismatch, non-empty target)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    # Changes whenever the bytes do (S3 ETag; for local files size + mtime): lets a backup
    # hard-link an unchanged object from the previous backup instead of fetching it again.
    version: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_relative(key: str) -> Path:
    """``key`` as a relative path; BackupError if it could escape the backup folder."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in {"", ".", ".."} for p in parts):
        raise BackupError(f"refusing unsafe object key {key!r}")
    return Path(*parts)


class ObjectStore(Protocol):
    def list(self) -> Iterator[StoredObject]: ...
    def fetch(self, key: str, dest: Path) -> None: ...
    def put(self, key: str, src: Path) -> None: ...
    def size(self, key: str) -> int | None: ...


class S3Objects:
    """One bucket through the minio SDK (the internal endpoint, not the public one)."""

    def __init__(self, settings: Settings) -> None:
        from minio import Minio

        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        self.bucket = settings.s3_bucket

    def list(self) -> Iterator[StoredObject]:
        if not self.client.bucket_exists(self.bucket):
            return
        for obj in self.client.list_objects(self.bucket, recursive=True):
            if obj.object_name and not obj.is_dir:
                yield StoredObject(obj.object_name, obj.size or 0, (obj.etag or "").strip('"'))

    def fetch(self, key: str, dest: Path) -> None:
        self.client.fget_object(self.bucket, key, str(dest))

    def put(self, key: str, src: Path) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)
        self.client.fput_object(self.bucket, key, str(src))

    def size(self, key: str) -> int | None:
        from minio.error import S3Error

        try:
            size: int | None = self.client.stat_object(self.bucket, key).size
            return size
        except S3Error:
            return None


class LocalObjects:
    """The embedded default's objects folder (``var/objects``)."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.var_path.resolve() / "objects"

    def list(self) -> Iterator[StoredObject]:
        if not self.root.exists():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                st = path.stat()
                yield StoredObject(path.relative_to(self.root).as_posix(), st.st_size, f"{st.st_size}-{st.st_mtime_ns}")

    def fetch(self, key: str, dest: Path) -> None:
        shutil.copyfile(self.root / safe_relative(key), dest)

    def put(self, key: str, src: Path) -> None:
        target = self.root / safe_relative(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)

    def size(self, key: str) -> int | None:
        path = self.root / safe_relative(key)
        return path.stat().st_size if path.is_file() else None


def object_store(settings: Settings) -> ObjectStore:
    return S3Objects(settings) if settings.storage == "s3" else LocalObjects(settings)
