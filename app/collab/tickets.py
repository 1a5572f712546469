"""Short-lived signaling tickets for the browser, so the access token never goes in a URL.

A ticket is a grant from ``app.storage.signing`` (base64url JSON claims . HMAC-SHA256) for the
``collab:ticket`` operation, naming one room, one user and the user's token generation, signed
with a key derived from the app secret. It is good for ``TICKET_SECONDS`` only and dies with the
user's token generation ("log out everywhere"). It is not single-use: within its 30 seconds a
replay could only open another socket for the same user in the same room, which the user may
do anyway.
"""

from __future__ import annotations

import uuid

from app.storage.signing import BadGrant, sign
from app.storage.signing import verify as verify_grant

TICKET_SECONDS = 30
OP = "collab:ticket"


def issue(key: str, session_id: uuid.UUID, user_id: uuid.UUID, generation: int) -> str:
    return sign(key.encode(), OP, TICKET_SECONDS, s=str(session_id), u=str(user_id), g=generation)


def verify(key: str, ticket: str, session_id: uuid.UUID) -> tuple[uuid.UUID, int] | None:
    """(user id, token generation) if the ticket is genuine, unexpired and for this room."""
    try:
        claims = verify_grant(key.encode(), ticket, OP)
        if claims["s"] != str(session_id):
            return None
        return uuid.UUID(claims["u"]), int(claims["g"])
    except (BadGrant, ValueError, KeyError, TypeError):
        return None
