"""Uploads straight to object storage: presign, list parts to resume, verify on completion.

The app never sees the bytes. It hands out a form POST (small files) or presigned part URLs
(large files, multipart) bound to a key it chose, then on completion checks what arrived
(size, optional SHA-256, magic bytes, covers decode as images) before the file joins a version.
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
import uuid
from datetime import timedelta

from piccolo.querystring import QueryString

from app.accounts.tables import User
from app.catalog import access
from app.catalog.processing import schedule_processing
from app.catalog.schemas import FileOut, PartUrl, PostUpload, StoredPart, UploadCreate, UploadOut, UploadParts
from app.catalog.services import CatalogService
from app.catalog.tables import Listing, ListingFile, ListingVersion, Upload
from app.catalog.verify import COVER_MAX_BYTES, Rejected, allowed_for_role, verify_object
from app.catalog.views import file_out
from app.core.db import now
from app.core.errors import Conflict, DomainError, InvalidInput, NotFound, ServiceUnavailable
from app.ops import metrics
from app.storage import PartInfo, StorageError
from app.storage.protocol import MAX_PARTS

UPLOAD_NOT_FOUND = "No such upload."


class QuotaExceeded(DomainError):
    status, title = 413, "Storage quota exceeded"


def safe_name(name: str) -> str:
    """A key-safe version of a file name: no folders, no control or odd characters."""
    base = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "file"
    return cleaned[-120:]


# The uploader's bytes: ready files of the listings they own, plus uploads still pending (they may
# yet arrive). Parameters: user, user.
USED_SQL = """
(SELECT COALESCE(SUM(f.size), 0) FROM listing_files f JOIN listings o ON o.id = f.listing
  WHERE o.creator = {} AND f.status = 'ready')
+ (SELECT COALESCE(SUM(u.size), 0) FROM uploads u WHERE u."user" = {} AND u.state IN ('pending', 'verifying'))
"""
# A presign is one statement: the row goes in only if the listing is the uploader's (or they are
# an admin), the version exists and the quota holds. On SQLite, where each query is a trip to a
# connection's thread costing more than the query, that is one trip instead of a read and a write,
# and writes serialize, so concurrent presigns cannot pass the quota together. (On PostgreSQL
# they can, by at most the presigns in flight at that instant: each sees the others' rows only
# once committed.) Building a Table row and its INSERT through the ORM was over half of this
# endpoint's Python time (scripts/bench/storage.py). A column the statement names that the table
# lost fails loudly; new columns need a default.
# Parameters: id, user, object key, original name, size, content type, role, sha256, multipart
# id, part size, created at; version label, listing, user, is admin; USED_SQL's; size, quota.
INSERT_SQL = (
    'INSERT INTO uploads (id, "user", listing, version, object_key, original_name, size, content_type, role, '
    "sha256, upload_id, part_size, created_at) "
    "SELECT {}, {}, l.id, v.id, {}, {}, {}, {}, {}, {}, {}, {}, {} "
    "FROM listings l JOIN listing_versions v ON v.listing = l.id AND v.label = {} "
    "WHERE l.id = {} AND (l.creator = {} OR {}) AND " + USED_SQL + " + CAST({} AS BIGINT) <= CAST({} AS BIGINT) "
    "RETURNING id"
)
# Why a guarded INSERT wrote nothing, read only then. Parameters: USED_SQL's, version label, listing.
TARGET_SQL = (
    "SELECT l.creator, v.id AS version_id, " + USED_SQL + " AS used "
    "FROM listings l LEFT JOIN listing_versions v ON v.listing = l.id AND v.label = {} WHERE l.id = {}"
)


class UploadService:
    def __init__(self, catalog: CatalogService) -> None:
        self.catalog = catalog
        self.settings, self.storage = catalog.settings, catalog.storage

    @property
    def _expiry(self) -> timedelta:
        return timedelta(seconds=self.settings.upload_url_seconds)

    async def _own(self, user: User, upload_id: uuid.UUID) -> Upload:
        row = await Upload.objects().where(Upload.id == upload_id, Upload.user == user.id).first()
        if row is None:
            raise NotFound(UPLOAD_NOT_FOUND)
        return row

    async def create(self, user: User, data: UploadCreate) -> UploadOut:
        if not allowed_for_role(data.content_type, data.role):
            raise InvalidInput(f"A {data.role} cannot be {data.content_type}.", field="content_type")
        limit = COVER_MAX_BYTES if data.role == "cover" else self.settings.upload_max_file_bytes
        if data.size > limit:
            raise InvalidInput(f"The file is larger than the {limit} bytes allowed.", field="size")
        upload = uuid.uuid4()
        key = f"listings/{data.listing_id}/{data.version}/{upload.hex}/{safe_name(data.file_name)}"
        out = UploadOut(id=upload, key=key, state="pending", size=data.size)
        multipart_id, part_size = "", 0
        if data.size <= self.settings.upload_single_max_bytes:
            form = self.storage.presign_post(key, data.content_type, data.size, self._expiry)
            out.post = PostUpload(url=form.url, fields=form.fields)
        else:
            part_size = self.settings.upload_part_bytes
            count = math.ceil(data.size / part_size)
            if count > MAX_PARTS:
                raise InvalidInput("The file needs more parts than S3 allows.", field="size")
            await self._refuse_if_not_allowed(user, data)  # before the store keeps a multipart for nothing
            try:
                multipart_id = await self.storage.create_multipart(key, data.content_type)
            except StorageError as exc:
                raise ServiceUnavailable("The file store is unavailable; try again shortly.") from exc
            out.upload_id, out.part_size = multipart_id, part_size
            out.parts = self._part_urls(key, multipart_id, range(1, count + 1))
        # fmt: off
        inserted = await Upload._meta.db.run_querystring(QueryString(
            INSERT_SQL,
            upload, user.id, key, data.file_name, data.size, data.content_type, data.role, data.sha256 or "",
            multipart_id, part_size, now(),
            data.version, data.listing_id, user.id, user.role == "admin",
            user.id, user.id, data.size, self.settings.upload_quota_bytes,
        ))
        # fmt: on
        if not inserted:
            if multipart_id:
                with contextlib.suppress(StorageError):
                    await self.storage.abort_multipart(key, multipart_id)
            await self._refuse_if_not_allowed(user, data)
            raise Conflict("The listing changed meanwhile; try again.")
        return out

    async def _refuse_if_not_allowed(self, user: User, data: UploadCreate) -> None:
        """Raise the refusal a presign earns (404, 403, 413), if any."""
        found = await Upload.raw(TARGET_SQL, user.id, user.id, data.version, data.listing_id)
        target = found[0] if found else None
        if target is None or target["version_id"] is None or not access.manages(user, target["creator"]):
            # Not allowed or not there: the catalog's own reads word the refusal (404 or 403).
            listing = await self.catalog.get_managed(data.listing_id, user)
            await self.catalog.version(listing, data.version)
            raise Conflict("The listing changed meanwhile; try again.")
        used = int(target["used"])
        if used + data.size > self.settings.upload_quota_bytes:
            raise QuotaExceeded(
                "This upload would pass your storage quota.", quota=self.settings.upload_quota_bytes, used=used
            )

    def _part_urls(self, key: str, multipart_id: str, numbers: range | list[int]) -> list[PartUrl]:
        return [PartUrl(number=n, url=self.storage.presign_part(key, multipart_id, n, self._expiry)) for n in numbers]

    async def parts(self, user: User, upload_id: uuid.UUID) -> UploadParts:
        """What is stored so far, and fresh URLs for the rest: how a reloaded page resumes."""
        row = await self._own(user, upload_id)
        if not row.upload_id:
            raise InvalidInput("This upload is a single form POST; it has no parts.")
        if row.state != "pending":
            raise Conflict(f"This upload is {row.state}.")
        try:
            stored = await self.storage.list_parts(row.object_key, row.upload_id)
        except StorageError as exc:
            raise Conflict("The store no longer knows this upload; start again.") from exc
        have = {p.number for p in stored}
        count = math.ceil(row.size / row.part_size)
        return UploadParts(
            id=row.id,
            part_size=row.part_size,
            stored=[StoredPart(number=p.number, size=p.size, etag=p.etag) for p in stored],
            missing=self._part_urls(row.object_key, row.upload_id, [n for n in range(1, count + 1) if n not in have]),
        )

    async def complete(self, user: User, upload_id: uuid.UUID) -> UploadOut:
        """Verify and attach the file. Idempotent: a repeat answers as the first call did."""
        row = await self._own(user, upload_id)
        claimed = (
            await Upload.update({Upload.state: "verifying"})
            .where(Upload.id == row.id, Upload.state == "pending")
            .returning(Upload.id)
        )
        if not claimed:
            return await self._settled(row.id)
        try:
            if row.upload_id:
                await self._join_parts(row)
            info = await self.storage.stat(row.object_key)
            if info is None:
                raise Conflict("Nothing has been uploaded for this upload yet.")
            await verify_object(self.storage, row, info.size)
        except Rejected as exc:
            await self.storage.delete(row.object_key)
            await Upload.update({Upload.state: "rejected", Upload.reason: str(exc)}).where(Upload.id == row.id)
            metrics.UPLOADS.labels(outcome="rejected").inc()
            return await self._settled(row.id)
        except StorageError as exc:
            await Upload.update({Upload.state: "pending"}).where(Upload.id == row.id)
            raise ServiceUnavailable("The file store is unavailable; try again shortly.") from exc
        except BaseException:
            # Nothing decided: the client may finish uploading and complete again.
            await Upload.update({Upload.state: "pending"}).where(Upload.id == row.id)
            raise
        file = await self._attach(row)
        await Upload.update({Upload.state: "completed", Upload.file: file.id}).where(Upload.id == row.id)
        # Counted here only: the pending → verifying claim above lets one call per upload get this far.
        metrics.UPLOADS.labels(outcome="completed").inc()
        metrics.UPLOAD_BYTES.inc(row.size)
        await schedule_processing(file)
        return await self._settled(row.id)

    async def _join_parts(self, row: Upload) -> None:
        try:
            parts = await self.storage.list_parts(row.object_key, row.upload_id)
        except StorageError:
            # Already joined by an earlier attempt that died before recording it.
            if await self.storage.stat(row.object_key) is not None:
                return
            raise Conflict("The store no longer knows this upload; start again.") from None
        count = math.ceil(row.size / row.part_size)
        numbers = [p.number for p in parts]
        if numbers != list(range(1, count + 1)):
            missing = sorted(set(range(1, count + 1)) - set(numbers))
            if missing:
                raise Conflict("Some parts have not been uploaded yet.", missing=missing[:100])
            raise Rejected("The upload has more parts than its declared size allows.")
        for p in parts:
            expected = row.part_size if p.number < count else row.size - row.part_size * (count - 1)
            if p.size != expected:
                raise Rejected(f"Part {p.number} is {p.size} bytes; {expected} were expected.")
        await self.storage.complete_multipart(
            row.object_key, row.upload_id, [PartInfo(p.number, p.etag, p.size) for p in parts]
        )

    async def _attach(self, row: Upload) -> ListingFile:
        file = ListingFile(
            listing=row.listing,
            version=row.version,
            object_key=row.object_key,
            original_name=row.original_name,
            size=row.size,
            sha256=row.sha256,
            content_type=row.content_type,
            role=row.role,
            status="ready",
            created_at=now(),
        )
        await file.save()
        if row.role == "cover":
            await Listing.update({Listing.cover_file: file.id}).where(Listing.id == row.listing)
        elif row.role == "demo":
            await Listing.update({Listing.demo_file: file.id}).where(
                Listing.id == row.listing, Listing.demo_file.is_null()
            )
        return file

    async def _settled(self, upload_id: uuid.UUID) -> UploadOut:
        row = await Upload.objects().where(Upload.id == upload_id).first()
        assert row is not None
        if row.state == "rejected":
            raise InvalidInput(f"The upload was rejected: {row.reason}", upload_id=str(row.id), reason=row.reason)
        if row.state == "aborted":
            raise Conflict(f"This upload was aborted ({row.reason or 'by its owner'}); start a new one.")
        if row.state in {"pending", "verifying"}:
            raise Conflict("This upload is being verified; try again in a moment.")
        out = UploadOut(id=row.id, key=row.object_key, state=row.state, size=row.size)
        if row.file is not None:
            file = await ListingFile.objects().where(ListingFile.id == row.file).first()
            version = await ListingVersion.objects().where(ListingVersion.id == row.version).first()
            if file is not None and version is not None:
                out.file = file_out(file, version.label)
        return out

    async def abort(self, user: User, upload_id: uuid.UUID) -> None:
        row = await self._own(user, upload_id)
        if row.state != "pending":
            raise Conflict(f"This upload is {row.state}.")
        if row.upload_id:
            await self.storage.abort_multipart(row.object_key, row.upload_id)
        await self.storage.delete(row.object_key)
        await Upload.update({Upload.state: "aborted", Upload.reason: "aborted by its owner"}).where(Upload.id == row.id)
        metrics.UPLOADS.labels(outcome="aborted").inc()


__all__ = ["FileOut", "QuotaExceeded", "UploadService"]
