"""HTTP helpers shared by controllers: cache headers and the client address."""

from __future__ import annotations

from typing import Any

from litestar import Request

# Anything personal: never stored by a browser cache, nginx or Cloudflare.
NO_STORE = {"Cache-Control": "private, no-store"}


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address as the ASGI server saw it.

    The server rewrites it from X-Forwarded-For only for trusted proxies (nginx), and nginx
    restores the real address from CF-Connecting-IP only for Cloudflare's ranges, so a client
    cannot choose the address it is rate-limited under.
    """
    return request.client.host if request.client else "unknown"
