"""Short-lived signaling tickets for the browser, so the access token never goes in a URL.

A ticket is ``<payload>.<hmac>`` with payload = base64url(JSON {session, user, gen, exp}),
signed with a key derived from the app secret. It is good for ``TICKET_SECONDS`` only, for one
room and one user, and dies with the user's token generation ("log out everywhere"). It is not
single-use: within its 30 seconds a replay could only open another socket for the same user in
the same room, which the user may do anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

TICKET_SECONDS = 30


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue(key: str, session_id: uuid.UUID, user_id: uuid.UUID, generation: int) -> str:
    payload = {"s": str(session_id), "u": str(user_id), "g": generation, "e": int(time.time()) + TICKET_SECONDS}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def verify(key: str, ticket: str, session_id: uuid.UUID) -> tuple[uuid.UUID, int] | None:
    """(user id, token generation) if the ticket is genuine, unexpired and for this room."""
    body, _, sig = ticket.partition(".")
    expected = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
    if not sig or not hmac.compare_digest(sig, expected):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if payload["s"] != str(session_id) or int(payload["e"]) < time.time():
            return None
        return uuid.UUID(payload["u"]), int(payload["g"])
    except (ValueError, KeyError, TypeError):
        return None
