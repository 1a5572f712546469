"""The ObjectStorage protocol: what the catalog needs from an object store, and its value types.

Two implementations: ``S3Storage`` (MinIO or any S3-compatible store, through the ``minio`` SDK)
and ``LocalStorage`` (files on disk, with HMAC-signed URLs served by the app). Uploads and
downloads go straight between the browser and the store through presigned requests; the app
only signs, checks and bookkeeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

# S3 allows 10 000 parts; every part but the last must be at least 5 MiB.
MAX_PARTS = 10_000


class StorageError(Exception):
    """The store refused or failed an operation (other than "no such object")."""


@dataclass(frozen=True)
class PostForm:
    """A browser form upload: POST ``url`` as multipart/form-data with ``fields`` and then ``file``."""

    url: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    last_modified: datetime
    # Known from ``stat`` on S3 (listings carry none); empty where the store keeps no type (local).
    content_type: str = ""


@dataclass(frozen=True)
class PartInfo:
    number: int
    etag: str
    size: int


@dataclass(frozen=True)
class MultipartInfo:
    key: str
    upload_id: str
    initiated: datetime | None


class ObjectStorage(Protocol):
    """An object store holding every uploaded file under a key the server chose."""

    async def ensure_ready(self) -> None:
        """Create the bucket or folder if needed; raise StorageError if the store is unreachable."""

    def presign_post(self, key: str, content_type: str, max_size: int, expires: timedelta) -> PostForm:
        """A form upload bound to exactly ``key`` and ``content_type``, 0 < size ≤ ``max_size``."""

    async def create_multipart(self, key: str, content_type: str) -> str:
        """Start a multipart upload; returns its upload id."""

    def presign_part(self, key: str, upload_id: str, number: int, expires: timedelta) -> str:
        """A URL the client PUTs part ``number`` (1-based) of the upload to."""

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """The parts stored so far (for resuming); StorageError if the upload is unknown."""

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        """Join ``parts`` into the object ``key``."""

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Drop an unfinished multipart upload and its parts (no error if already gone)."""

    async def list_multipart_uploads(self, prefix: str = "") -> list[MultipartInfo]:
        """Unfinished multipart uploads under ``prefix``."""

    async def stat(self, key: str) -> ObjectInfo | None:
        """Size and etag of ``key``, or None when there is no such object."""

    async def read_head(self, key: str, length: int) -> bytes:
        """The first ``length`` bytes (fewer if the object is smaller), for magic-byte checks."""

    async def sha256(self, key: str) -> str:
        """Hex SHA-256 of the whole object, streamed (never held in memory)."""

    async def get_file(self, key: str, dest: Path) -> None:
        """Copy the object ``key`` to the local file ``dest`` (for background processing)."""

    async def put_file(self, key: str, src: Path, content_type: str) -> None:
        """Store the local file ``src`` as ``key``, replacing any object there."""

    def presign_get(self, key: str, filename: str, expires: timedelta) -> str:
        """A download URL that serves the object as an attachment named ``filename``; Range works."""

    async def delete(self, key: str) -> None:
        """Remove ``key`` (no error if it is already gone)."""

    async def list_objects(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object under ``prefix`` (for orphan clean-up)."""


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / 5987)."""
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
