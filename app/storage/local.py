"""Objects as files under ``<var_dir>/objects``, with HMAC-signed URLs served by the app.

The embedded default. The URLs it hands out point at ``app.storage.controllers`` (same origin,
path only), which checks the grant exactly as S3 checks a presigned request: key, content type,
size range, expiry. Multipart parts wait under ``<var_dir>/multipart/<upload id>/`` until completed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import anyio.to_thread

from app.accounts.auth import derive_key
from app.core.settings import Settings
from app.storage.protocol import MultipartInfo, ObjectInfo, PartInfo, PostForm, StorageError
from app.storage.signing import sign

CHUNK = 1024 * 1024
URL_BASE = "/api/v1/storage"


class LocalStorage:
    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root.resolve()
        self.objects = self.root / "objects"
        self.multipart = self.root / "multipart"
        self.secret = secret

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalStorage:
        return cls(settings.var_path, derive_key(settings.secret_key, "local-storage").encode())

    # -- paths -----------------------------------------------------------------------------
    def path(self, key: str) -> Path:
        """The file of ``key``; StorageError if the key would leave the objects folder."""
        if not key or key.startswith("/") or "\\" in key or any(p in {"", ".", ".."} for p in key.split("/")):
            raise StorageError(f"invalid object key {key!r}")
        return self.objects / key

    def _upload_dir(self, upload_id: str) -> Path:
        try:
            return self.multipart / uuid.UUID(upload_id).hex
        except ValueError:
            raise StorageError("NoSuchUpload: unknown upload id") from None

    def _meta(self, upload_id: str, key: str) -> dict[str, str]:
        meta_file = self._upload_dir(upload_id) / "meta.json"
        if not meta_file.exists():
            raise StorageError("NoSuchUpload: unknown upload id")
        meta: dict[str, str] = json.loads(meta_file.read_text())
        if meta["key"] != key:
            raise StorageError("NoSuchUpload: the upload belongs to another key")
        return meta

    def part_path(self, key: str, upload_id: str, number: int) -> Path:
        self._meta(upload_id, key)
        return self._upload_dir(upload_id) / f"{number:05d}"

    # -- protocol --------------------------------------------------------------------------
    async def ensure_ready(self) -> None:
        self.objects.mkdir(parents=True, exist_ok=True)
        self.multipart.mkdir(parents=True, exist_ok=True)

    def presign_post(self, key: str, content_type: str, max_size: int, expires: timedelta) -> PostForm:
        self.path(key)
        grant = sign(self.secret, "post", int(expires.total_seconds()), k=key, ct=content_type, max=max_size)
        return PostForm(
            url=f"{URL_BASE}/upload?{urlencode({'t': grant})}", fields={"key": key, "Content-Type": content_type}
        )

    async def create_multipart(self, key: str, content_type: str) -> str:
        self.path(key)
        upload_id = str(uuid.uuid4())
        folder = self._upload_dir(upload_id)

        def make() -> None:
            folder.mkdir(parents=True)
            meta = {"key": key, "content_type": content_type, "initiated": datetime.now(UTC).isoformat()}
            (folder / "meta.json").write_text(json.dumps(meta))

        await anyio.to_thread.run_sync(make)
        return upload_id

    def presign_part(self, key: str, upload_id: str, number: int, expires: timedelta) -> str:
        grant = sign(self.secret, "part", int(expires.total_seconds()), k=key, u=upload_id, n=number)
        return f"{URL_BASE}/part?{urlencode({'t': grant})}"

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        def scan() -> list[PartInfo]:
            self._meta(upload_id, key)
            return [
                PartInfo(int(p.name), _file_etag(p), p.stat().st_size)
                for p in sorted(self._upload_dir(upload_id).iterdir())
                if p.name.isdigit()
            ]

        return await anyio.to_thread.run_sync(scan)

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        target = self.path(key)

        def join() -> None:
            self._meta(upload_id, key)
            folder = self._upload_dir(upload_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            with tmp.open("wb") as out:
                for part in sorted(parts, key=lambda p: p.number):
                    src = folder / f"{part.number:05d}"
                    if not src.exists() or _file_etag(src) != part.etag:
                        tmp.unlink()
                        raise StorageError(f"InvalidPart: part {part.number} is missing or changed")
                    with src.open("rb") as f:
                        shutil.copyfileobj(f, out, CHUNK)
            os.replace(tmp, target)
            shutil.rmtree(folder, ignore_errors=True)

        await anyio.to_thread.run_sync(join)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        folder = self._upload_dir(upload_id)
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))

    async def list_multipart_uploads(self, prefix: str = "") -> list[MultipartInfo]:
        def scan() -> list[MultipartInfo]:
            found = []
            for meta_file in self.multipart.glob("*/meta.json"):
                meta = json.loads(meta_file.read_text())
                if meta["key"].startswith(prefix):
                    upload_id = str(uuid.UUID(meta_file.parent.name))
                    found.append(MultipartInfo(meta["key"], upload_id, datetime.fromisoformat(meta["initiated"])))
            return found

        return await anyio.to_thread.run_sync(scan)

    async def stat(self, key: str) -> ObjectInfo | None:
        path = self.path(key)

        def info() -> ObjectInfo | None:
            if not path.is_file():
                return None
            st = path.stat()
            return ObjectInfo(key, st.st_size, _file_etag(path), datetime.fromtimestamp(st.st_mtime, UTC))

        return await anyio.to_thread.run_sync(info)

    async def read_head(self, key: str, length: int) -> bytes:
        path = self.path(key)

        def read() -> bytes:
            with path.open("rb") as f:
                return f.read(length)

        try:
            return await anyio.to_thread.run_sync(read)
        except FileNotFoundError:
            raise StorageError("NoSuchKey: no such object") from None

    async def sha256(self, key: str) -> str:
        path = self.path(key)

        def digest() -> str:
            with path.open("rb") as f:
                return hashlib.file_digest(f, "sha256").hexdigest()

        return await anyio.to_thread.run_sync(digest)

    async def get_file(self, key: str, dest: Path) -> None:
        try:
            await anyio.to_thread.run_sync(shutil.copyfile, self.path(key), dest)
        except FileNotFoundError:
            raise StorageError("NoSuchKey: no such object") from None

    async def put_file(self, key: str, src: Path, content_type: str) -> None:
        target = self.path(key)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Through a temporary name, so a reader never sees half a file.
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)

        await anyio.to_thread.run_sync(copy)

    def presign_get(self, key: str, filename: str, expires: timedelta) -> str:
        self.path(key)
        grant = sign(self.secret, "get", int(expires.total_seconds()), k=key, fn=filename)
        return f"{URL_BASE}/object?{urlencode({'t': grant})}"

    async def delete(self, key: str) -> None:
        path = self.path(key)
        await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))

    async def list_objects(self, prefix: str = "") -> list[ObjectInfo]:
        def scan() -> list[ObjectInfo]:
            found = []
            for path in self.objects.rglob("*"):
                key = path.relative_to(self.objects).as_posix()
                if path.is_file() and not path.name.endswith(".tmp") and key.startswith(prefix):
                    st = path.stat()
                    found.append(
                        ObjectInfo(key, st.st_size, _file_etag(path), datetime.fromtimestamp(st.st_mtime, UTC))
                    )
            return found

        return await anyio.to_thread.run_sync(scan)


def _file_etag(path: Path) -> str:
    # Size and modification time identify a version of a file well enough for resuming uploads.
    st = path.stat()
    return f"{st.st_size:x}-{st.st_mtime_ns:x}"
