"""Domain errors and the one mapping of every error to RFC 9457 problem+json.

Services raise ``DomainError`` subclasses and never import Litestar's exceptions; the handlers
below turn those, Litestar's own HTTP errors and anything unexpected into problem documents
without stack traces.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.types import ExceptionHandlersMap

from app.core.http import NO_STORE

log = logging.getLogger("echoel.errors")

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """A rule was broken; ``status`` and ``title`` say how it reaches the client."""

    status = 400
    title = "Bad request"
    # Seconds after which trying again may succeed: sent as Retry-After (429s and 503s).
    retry_after: int | None = None
    # Any other header the answer needs (Content-Range on a 416).
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status, title = 422, "Invalid input"


class Unauthorized(DomainError):
    status, title = 401, "Not authenticated"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status, title = 403, "Forbidden"


class NotFound(DomainError):
    status, title = 404, "Not found"


class Conflict(DomainError):
    status, title = 409, "Conflict"


class RateLimited(DomainError):
    status, title = 429, "Too many attempts"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(DomainError):
    status, title = 503, "Service unavailable"


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> Response[Any]:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    headers = dict(exc.headers or {})
    if exc.retry_after is not None:
        # An answer for now only: no cache may keep it past the retry.
        headers |= {"Retry-After": str(exc.retry_after), **NO_STORE}
    return problem(exc.status, exc.title, exc.detail, headers=headers, **exc.extra)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    detail = exc.detail or "The request is not valid."
    # Litestar reports undecodable JSON and wrong shapes alike; undecodable bodies are a 400.
    if "decode" in detail.lower() or "malformed" in detail.lower():
        return problem(400, "Malformed request body", "The body is not valid JSON.")
    return problem(422, "Invalid input", detail, errors=[_clean(e) for e in errors])


def _clean(error: Any) -> Any:
    # Never echo a submitted value back (it may be a password).
    return {k: v for k, v in error.items() if k != "value"} if isinstance(error, dict) else str(error)


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    headers = dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        headers.setdefault("WWW-Authenticate", "Bearer")
        detail = "Sign in again: the access token is missing, expired or invalid."
    elif status == 413:
        detail = "The request body is too large."
    elif status == 429 and "RateLimit-Reset" in headers:
        # Litestar's request limiter sends only RateLimit-Reset; clients and proxies read Retry-After.
        headers.setdefault("Retry-After", headers["RateLimit-Reset"])
        detail = "Too many requests. Wait a moment, then try again."
    else:
        detail = exc.detail if exc.detail and exc.detail != title else title
    return problem(status, title, detail, headers=headers or None)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal server error", "Something went wrong on our side; try again shortly.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _domain,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}
