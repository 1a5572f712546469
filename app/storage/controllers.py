"""The local-disk store's signed endpoints: form upload, multipart part upload, ranged download.

Only mounted when ``ECHOEL_STORAGE=local``. Every route checks the HMAC grant in its ``t`` query
parameter before reading a byte of the body, so an unsigned client cannot make the app spool data.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import anyio
import anyio.to_thread
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromQuery
from litestar.response import Stream

from app.core.errors import Forbidden, InvalidInput, NotFound
from app.core.ranges import answer_range, read_span
from app.storage.local import CHUNK, LocalStorage
from app.storage.protocol import StorageError, content_disposition
from app.storage.signing import BadGrant, verify

# Room for the form's other fields and multipart boundaries around the file itself.
FORM_OVERHEAD = 64 * 1024


def _grant(storage: LocalStorage, token: str, op: str) -> dict[str, Any]:
    try:
        return verify(storage.secret, token, op)
    except BadGrant as exc:
        raise Forbidden(f"Access denied: {exc}.") from None


def _storage(request: Request[Any, Any, Any]) -> LocalStorage:
    storage = request.app.state.storage
    assert isinstance(storage, LocalStorage)
    return storage


async def _write_stream(request: Request[Any, Any, Any], target: Any, limit: int) -> int:
    """Stream the request body into ``target``; refuse (and remove it) past ``limit`` bytes."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    await anyio.to_thread.run_sync(lambda: target.parent.mkdir(parents=True, exist_ok=True))
    total = 0
    f = await anyio.open_file(tmp, "wb")
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise InvalidInput("EntityTooLarge: the body is larger than the signed limit.")
            await f.write(chunk)
    except BaseException:
        await f.aclose()
        tmp.unlink(missing_ok=True)
        raise
    await f.aclose()
    os.replace(tmp, target)
    return total


class LocalStorageController(Controller):
    path = "/api/v1/storage"
    tags = ["storage"]
    opt = {"public": True}

    @post("/upload", status_code=204, request_max_body_size=None)
    async def upload(self, request: Request[Any, Any, Any], t: FromQuery[str]) -> None:
        """A browser form upload under a signed policy: exact key and type, 1 byte ≤ size ≤ max."""
        storage = _storage(request)
        claims = _grant(storage, t, "post")
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise InvalidInput("The upload needs a Content-Length header.")
        if int(length) > claims["max"] + FORM_OVERHEAD:
            raise InvalidInput("EntityTooLarge: the body is larger than the signed limit.")
        form = await request.form()
        if form.get("key") != claims["k"]:
            raise Forbidden("Access denied: the key does not match the policy.")
        if form.get("Content-Type") != claims["ct"]:
            raise Forbidden("Access denied: the content type does not match the policy.")
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidInput("The form has no file field.")
        target = storage.path(claims["k"])

        def save() -> int:
            file.file.seek(0, os.SEEK_END)
            size = file.file.tell()
            if not (1 <= size <= claims["max"]):
                raise InvalidInput("EntityTooLarge: the file size is outside the signed range.")
            file.file.seek(0)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
            with tmp.open("wb") as out:
                while chunk := file.file.read(CHUNK):
                    out.write(chunk)
            os.replace(tmp, target)
            return size

        try:
            await anyio.to_thread.run_sync(save)
        finally:
            await file.close()

    @put("/part", status_code=200, request_max_body_size=None)
    async def part(self, request: Request[Any, Any, Any], t: FromQuery[str]) -> Response[None]:
        """One part of a multipart upload; answers with its ETag like S3 does."""
        storage = _storage(request)
        claims = _grant(storage, t, "part")
        try:
            target = storage.part_path(claims["k"], claims["u"], int(claims["n"]))
        except StorageError as exc:
            raise NotFound(str(exc)) from None
        await _write_stream(request, target, request.app.state.settings.upload_part_bytes)
        from app.storage.local import _file_etag

        return Response(None, status_code=200, headers={"ETag": f'"{_file_etag(target)}"'})

    @get("/object")
    async def download(self, request: Request[Any, Any, Any], t: FromQuery[str]) -> Response[Any]:
        """The object as an attachment named as signed; honours one ``Range: bytes=a-b``."""
        storage = _storage(request)
        claims = _grant(storage, t, "get")
        path = storage.path(claims["k"])
        if not path.is_file():
            raise NotFound("No such object.")
        start, end, status, headers = answer_range(request.headers.get("range"), path.stat().st_size)
        headers |= {"Content-Disposition": content_disposition(claims["fn"]), "Cache-Control": "private, no-store"}
        body = read_span(path, start, end)
        return Stream(body, status_code=status, headers=headers, media_type="application/octet-stream")
