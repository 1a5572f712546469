"""TURN REST credentials (draft-uberti-behave-turn-rest, the scheme coturn's use-auth-secret checks).

username = "<expiry unix time>:<user id>", credential = base64(HMAC-SHA1(secret, username)).
coturn recomputes the HMAC with its static-auth-secret and refuses the username once the
expiry has passed, so nothing is stored and a leaked credential dies on its own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from app.collab.schemas import IceConfig, IceServer

MAX_TTL = 3600


def turn_credentials(secret: str, user_id: str, now: int, ttl: int) -> tuple[str, str]:
    ttl = max(60, min(ttl, MAX_TTL))
    username = f"{now + ttl}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_config(
    *, stun_urls: list[str], turn_urls: list[str], secret: str, user_id: str, now: int, ttl: int, expires_at: int
) -> IceConfig:
    """ICE servers for one member; the credential never outlives the session."""
    ttl = max(60, min(ttl, MAX_TTL, expires_at - now))
    servers = [IceServer(urls=stun_urls)] if stun_urls else []
    if turn_urls and secret:
        username, credential = turn_credentials(secret, user_id, now, ttl)
        servers.append(IceServer(urls=turn_urls, username=username, credential=credential))
    return IceConfig(ice_servers=servers, ttl=ttl)
