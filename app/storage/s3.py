"""S3 storage through the ``minio`` SDK (MinIO in production; any S3-compatible store).

Every SDK call that touches the network runs in a worker thread. Presigning is pure CPU and
runs inline (a thread hop would cost more than the signature), through ``sigv4.Presigner``,
which caches the day's signing key: about a quarter of the SDK's cost per URL.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio.to_thread
import urllib3
from minio import Minio
from minio.datatypes import Part
from minio.error import S3Error

from app.core.settings import Settings
from app.storage.protocol import (
    MultipartInfo,
    ObjectInfo,
    PartInfo,
    PostForm,
    StorageError,
    content_disposition,
)
from app.storage.sigv4 import Presigner

_MISSING = {"NoSuchKey", "NoSuchObject", "NotFound", "ResourceNotFound"}
CHUNK = 1024 * 1024


class S3Storage:
    """One bucket; ``client`` talks to the store, ``signer`` signs URLs for the public endpoint."""

    def __init__(self, client: Minio, presigner: Presigner, bucket: str, public_prefix: str = "") -> None:
        self.client, self.presigner, self.bucket = client, presigner, bucket
        # Browsers reach the store through nginx at e.g. https://site/s3/: the signature covers
        # /bucket/key (nginx strips the prefix before MinIO checks it), so the prefix is added after signing.
        self.public_prefix = public_prefix.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
        base = f"{'https' if settings.s3_secure else 'http'}://{settings.s3_endpoint}"
        prefix = ""
        if settings.s3_public_url:
            parts = urlsplit(settings.s3_public_url)
            base, prefix = f"{parts.scheme}://{parts.netloc}", parts.path
        presigner = Presigner(base, settings.s3_access_key, settings.s3_secret_key, settings.s3_region)
        return cls(client, presigner, settings.s3_bucket, prefix)

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        def call() -> Any:
            return fn(*args, **kwargs)

        try:
            return await anyio.to_thread.run_sync(call)
        except S3Error as exc:
            raise StorageError(f"{exc.code}: {exc.message}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # refused, reset, timed out
            raise StorageError(f"Unavailable: {exc}") from exc

    def _public(self, url: str) -> str:
        if not self.public_prefix:
            return url
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=self.public_prefix + parts.path))

    async def ensure_ready(self) -> None:
        if not await self._run(self.client.bucket_exists, self.bucket):
            await self._run(self.client.make_bucket, self.bucket)

    def presign_post(self, key: str, content_type: str, max_size: int, expires: timedelta) -> PostForm:
        fields = self.presigner.post_policy(self.bucket, key, content_type, max_size, expires)
        return PostForm(url=self._public(f"{self.presigner.base_url}/{self.bucket}"), fields=fields)

    async def create_multipart(self, key: str, content_type: str) -> str:
        upload_id: str = await self._run(
            self.client._create_multipart_upload, self.bucket, key, {"Content-Type": content_type}
        )
        return upload_id

    def presign_part(self, key: str, upload_id: str, number: int, expires: timedelta) -> str:
        params = {"partNumber": str(number), "uploadId": upload_id}
        return self._public(self.presigner.url("PUT", self.bucket, key, expires, params))

    async def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        parts: list[PartInfo] = []
        marker: str | None = None
        while True:
            result = await self._run(self.client._list_parts, self.bucket, key, upload_id, part_number_marker=marker)
            parts += [PartInfo(p.part_number, p.etag, p.size or 0) for p in result.parts]
            if not result.is_truncated:
                return parts
            marker = result.next_part_number_marker

    async def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        await self._run(
            self.client._complete_multipart_upload,
            self.bucket,
            key,
            upload_id,
            [Part(p.number, p.etag) for p in sorted(parts, key=lambda p: p.number)],
        )

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        try:
            await self._run(self.client._abort_multipart_upload, self.bucket, key, upload_id)
        except StorageError as exc:
            if "NoSuchUpload" not in str(exc):
                raise

    async def list_multipart_uploads(self, prefix: str = "") -> list[MultipartInfo]:
        found: list[MultipartInfo] = []
        key_marker: str | None = None
        id_marker: str | None = None
        while True:
            # MinIO matches the prefix of ListMultipartUploads only against whole keys, so list
            # everything and filter here.
            result = await self._run(
                self.client._list_multipart_uploads,
                self.bucket,
                key_marker=key_marker,
                upload_id_marker=id_marker,
            )
            found += [
                MultipartInfo(u.object_name, u.upload_id or "", u.initiated_time)
                for u in result.uploads
                if u.object_name.startswith(prefix)
            ]
            if not result.is_truncated:
                return found
            key_marker, id_marker = result.next_key_marker, result.next_upload_id_marker

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            st = await self._run(self.client.stat_object, self.bucket, key)
        except StorageError as exc:
            if str(exc).split(":")[0] in _MISSING:
                return None
            raise
        modified = st.last_modified or datetime.now(UTC)
        return ObjectInfo(key, int(st.size or 0), str(st.etag or ""), modified, st.content_type or "")

    async def read_head(self, key: str, length: int) -> bytes:
        def read() -> bytes:
            response = self.client.get_object(self.bucket, key, offset=0, length=length)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        data: bytes = await self._run(read)
        return data

    async def sha256(self, key: str) -> str:
        def digest() -> str:
            response = self.client.get_object(self.bucket, key)
            try:
                h = hashlib.sha256()
                for chunk in response.stream(CHUNK):
                    h.update(chunk)
                return h.hexdigest()
            finally:
                response.close()
                response.release_conn()

        hexdigest: str = await self._run(digest)
        return hexdigest

    async def get_file(self, key: str, dest: Path) -> None:
        await self._run(self.client.fget_object, self.bucket, key, str(dest))

    async def put_file(self, key: str, src: Path, content_type: str) -> None:
        await self._run(self.client.fput_object, self.bucket, key, str(src), content_type=content_type)

    def presign_get(self, key: str, filename: str, expires: timedelta) -> str:
        params = {"response-content-disposition": content_disposition(filename)}
        return self._public(self.presigner.url("GET", self.bucket, key, expires, params))

    async def delete(self, key: str) -> None:
        await self._run(self.client.remove_object, self.bucket, key)

    async def list_objects(self, prefix: str = "") -> list[ObjectInfo]:
        def listing() -> list[ObjectInfo]:
            return [
                ObjectInfo(
                    o.object_name or "", int(o.size or 0), str(o.etag or ""), o.last_modified or datetime.now(UTC)
                )
                for o in self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
                if not o.is_dir
            ]

        objects: list[ObjectInfo] = await self._run(listing)
        return objects
