"""Signed web-seed tokens for paid packs and the seeder's own tracker key."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from app.accounts.auth import derive_key

PUBLIC = "public"


def seeder_key(secret: str) -> str:
    """The passkey the seeder announces private torrents with (never given to anyone)."""
    return derive_key(secret, "torrents:seeder-passkey")[:32]


def _sig(secret: str, passkey_id: str, expires: int, info_hash: str) -> str:
    key = derive_key(secret, "torrents:webseed").encode()
    return hmac.new(key, f"{passkey_id}.{expires}.{info_hash}".encode(), hashlib.sha256).hexdigest()[:32]


def make_webseed_token(secret: str, passkey_id: uuid.UUID, info_hash: str, ttl_seconds: int) -> str:
    """``<passkey id>.<expiry>.<hmac>``: bound to one buyer's passkey and one torrent."""
    expires = int(time.time()) + ttl_seconds
    return f"{passkey_id.hex}.{expires}.{_sig(secret, passkey_id.hex, expires, info_hash)}"


def read_webseed_token(secret: str, token: str, info_hash: str) -> uuid.UUID | None:
    """The passkey id a valid, unexpired token for ``info_hash`` names, else None."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    passkey_id, expires, sig = parts[0], int(parts[1]), parts[2]
    if expires < time.time() or not hmac.compare_digest(sig, _sig(secret, passkey_id, expires, info_hash)):
        return None
    try:
        return uuid.UUID(hex=passkey_id)
    except ValueError:
        return None
