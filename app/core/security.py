"""Password hashing, opaque token hashing and the client-IP rule.

Passwords: bcrypt over ``base64(HMAC-SHA256(pepper, password))``. The pre-hash makes every
password 44 bytes, so bcrypt's 72-byte limit never truncates or refuses long or multi-byte
passwords; base64 because bcrypt stops at a NUL byte; the pepper (from the environment) means a
stolen database alone cannot be brute-forced. Hashing runs in a bounded thread pool so a log-in
storm queues for the pool instead of starving the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import anyio
import bcrypt
from anyio import CapacityLimiter


class PasswordHasher:
    def __init__(self, pepper: str, rounds: int, threads: int) -> None:
        self._pepper = pepper.encode()
        self._rounds = rounds
        self._limiter: CapacityLimiter | None = None
        self._threads = threads
        # Compared against when the account does not exist, so both paths cost one bcrypt.
        self._dummy = bcrypt.hashpw(b"x" * 44, bcrypt.gensalt(rounds)).decode()

    @property
    def limiter(self) -> CapacityLimiter:
        # Created lazily: a CapacityLimiter belongs to the running event loop.
        if self._limiter is None:
            self._limiter = CapacityLimiter(self._threads)
        return self._limiter

    def _prehash(self, password: str) -> bytes:
        digest = hmac.new(self._pepper, password.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest)

    def hash_sync(self, password: str) -> str:
        return bcrypt.hashpw(self._prehash(password), bcrypt.gensalt(self._rounds)).decode()

    def verify_sync(self, password: str, hashed: str | None) -> bool:
        ok = bcrypt.checkpw(self._prehash(password), (hashed or self._dummy).encode())
        return ok and hashed is not None

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hash_sync, password, limiter=self.limiter)

    async def verify(self, password: str, hashed: str | None) -> bool:
        """Check ``password``; with ``hashed=None`` spend the same time and answer False."""
        return await anyio.to_thread.run_sync(self.verify_sync, password, hashed, limiter=self.limiter)


def new_token() -> str:
    """An unguessable opaque token (refresh tokens, invites)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What we store instead of an opaque token."""
    return hashlib.sha256(token.encode()).hexdigest()


def timestamped_mac(secret: str, body: bytes, timestamp: int) -> str:
    """HMAC-SHA256 of ``"<timestamp>." + body``: Stripe's webhook scheme, which ours follows too."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """A ``t=…,v1=…`` signature header for ``body`` (now, unless ``timestamp`` is given)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={timestamped_mac(secret, body, t)}"


def signature_problem(secret: str, header: str, body: bytes, tolerance: int) -> str | None:
    """Why ``header`` does not sign ``body`` (None when it does).

    Any of several ``v1`` values may match (Stripe sends one per secret while rolling them), and
    the timestamp must be within ``tolerance`` seconds either way: a far-future time is as suspect
    as an old one (the Stripe library checks only the past).
    """
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        return "The signature header has no valid timestamp."
    if abs(time.time() - t) > tolerance:
        return "The timestamp is outside the tolerance window."
    expected = timestamped_mac(secret, body, t)
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        return "The signature does not match."
    return None
