"""AWS Signature V4 presigning (query-string URLs and POST policies), with the signing key cached.

The minio SDK's presigner spends ~70 µs per URL, most of it re-deriving the signing key (four
HMACs) and general-purpose quoting. The key only changes with the UTC date, so it is cached per
day; the rest is one SHA-256 and one HMAC. The output is exactly SigV4, checked by MinIO in the
tests (uploads, part uploads, ranged downloads, expiry).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


_UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]*")


def _q(value: str) -> str:
    # RFC 3986 unreserved characters stay; everything else is percent-encoded (SigV4's rule).
    # Most values need nothing, and the regex check is several times cheaper than quote().
    return value if _UNRESERVED.fullmatch(value) else quote(value, safe="-_.~")


class Presigner:
    """Signs requests to one S3 endpoint (scheme://host[:port]) for one set of credentials."""

    def __init__(self, base_url: str, access_key: str, secret_key: str, region: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = self.base_url.split("://", 1)[1]
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self._day = ""
        self._key = b""
        self._credential = ""

    def _signing_key(self, day: str) -> bytes:
        if day != self._day:
            key = _hmac(("AWS4" + self.secret_key).encode(), day)
            for part in (self.region, "s3", "aws4_request"):
                key = _hmac(key, part)
            self._day, self._key = day, key
            self._credential = _q(f"{self.access_key}/{day}/{self.region}/s3/aws4_request")
        return self._key

    def url(self, method: str, bucket: str, key: str, expires: timedelta, params: dict[str, str] | None = None) -> str:
        """A presigned URL for ``method`` on ``bucket/key`` (path-style), valid for ``expires``."""
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        day = stamp[:8]
        scope = f"{day}/{self.region}/s3/aws4_request"
        signing_key = self._signing_key(day)
        pairs = [(_q(k), _q(v)) for k, v in (params or {}).items()]
        pairs += [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", self._credential),
            ("X-Amz-Date", stamp),
            ("X-Amz-Expires", str(int(expires.total_seconds()))),
            ("X-Amz-SignedHeaders", "host"),
        ]
        # Sorted by encoded name (the names here are unreserved, so that is the raw-name order).
        canonical_query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
        path = "/" + bucket + "/" + quote(key, safe="-_.~/")
        canonical = f"{method}\n{path}\n{canonical_query}\nhost:{self.host}\n\nhost\nUNSIGNED-PAYLOAD"
        to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{self.base_url}{path}?{canonical_query}&X-Amz-Signature={signature}"

    def post_policy(
        self, bucket: str, key: str, content_type: str, max_size: int, expires: timedelta
    ) -> dict[str, str]:
        """Form fields for a browser POST of exactly ``key`` and ``content_type``, 1..max_size bytes."""
        now = datetime.now(UTC)
        day, stamp = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
        credential = f"{self.access_key}/{day}/{self.region}/s3/aws4_request"
        policy = {
            "expiration": (now + expires).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conditions": [
                ["eq", "$bucket", bucket],
                ["eq", "$key", key],
                ["eq", "$Content-Type", content_type],
                ["content-length-range", 1, max_size],
                ["eq", "$x-amz-algorithm", ALGORITHM],
                ["eq", "$x-amz-credential", credential],
                ["eq", "$x-amz-date", stamp],
            ],
        }
        encoded = base64.b64encode(json.dumps(policy, separators=(",", ":")).encode()).decode()
        signature = hmac.new(self._signing_key(day), encoded.encode(), hashlib.sha256).hexdigest()
        return {
            "key": key,
            "Content-Type": content_type,
            "x-amz-algorithm": ALGORITHM,
            "x-amz-credential": credential,
            "x-amz-date": stamp,
            "policy": encoded,
            "x-amz-signature": signature,
        }
