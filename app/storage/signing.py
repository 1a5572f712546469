"""HMAC-signed, expiring grants for the local-disk store's URLs (its stand-in for S3 presigning).

A grant is ``base64url(json claims) . base64url(hmac-sha256)``; the claims name the operation,
the key and its limits, and an expiry in epoch seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any


class BadGrant(Exception):
    """The grant is forged, malformed, expired or for another operation."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: bytes, op: str, expires_in: int, **claims: Any) -> str:
    body = _b64(json.dumps({"op": op, "exp": int(time.time()) + expires_in, **claims}, separators=(",", ":")).encode())
    mac = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(secret: bytes, token: str, op: str) -> dict[str, Any]:
    """The claims of a valid, unexpired grant for ``op``; BadGrant otherwise."""
    body, _, mac = token.partition(".")
    try:
        expected = hmac.new(secret, body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            raise BadGrant("the signature does not match")
        claims: dict[str, Any] = json.loads(_unb64(body))
    except (ValueError, TypeError) as exc:
        raise BadGrant("the grant is malformed") from exc
    if claims.get("op") != op:
        raise BadGrant("the grant is for another operation")
    if int(claims.get("exp", 0)) < time.time():
        raise BadGrant("the grant has expired")
    return claims
