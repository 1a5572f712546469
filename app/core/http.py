"""HTTP helpers shared by controllers: cache headers and the client address."""

from __future__ import annotations

from typing import Any

from litestar import Request

# Anything personal: never stored by a browser cache, nginx or Cloudflare.
NO_STORE = {"Cache-Control": "private, no-store"}


def public_cache(
    max_age: int,
    swr: int = 0,
    cdn_max_age: int | None = None,
    stale_if_error: int = 86400,
    vary: tuple[str, ...] = (),
) -> dict[str, str]:
    """Headers making a public GET cacheable by browsers, nginx and Cloudflare.

    ``max_age`` is what browsers and nginx keep (seconds); ``swr`` lets a cache answer with the
    expired copy while it refreshes in the background; ``stale_if_error`` lets it answer with it
    while the app is down. ``cdn_max_age`` (Cloudflare-CDN-Cache-Control, read only by Cloudflare)
    lets the edge keep it longer than browsers. ``Vary`` always names Accept-Encoding (gzip);
    add request headers the body depends on. nginx's cache keys on the URL alone and ignores
    Vary (it gzips itself and never caches credentialed requests): a body that depends on
    another request header needs that header in nginx's ``proxy_cache_key`` too. Only for
    answers identical for every visitor::

        from app.core.http import public_cache

        @get("/api/v1/listings", response_headers=public_cache(30, swr=300, cdn_max_age=120))
        async def listings(self) -> ListingPage: ...
    """
    if max_age < 0 or swr < 0 or stale_if_error < 0 or (cdn_max_age is not None and cdn_max_age < 0):
        raise ValueError("cache lifetimes are seconds, never negative")
    stale = (f", stale-while-revalidate={swr}" if swr else "") + (
        f", stale-if-error={stale_if_error}" if stale_if_error else ""
    )
    headers = {
        "Cache-Control": f"public, max-age={max_age}{stale}",
        "Vary": ", ".join(dict.fromkeys(("Accept-Encoding", *vary))),
    }
    if cdn_max_age is not None:
        headers["Cloudflare-CDN-Cache-Control"] = f"public, max-age={cdn_max_age}{stale}"
    return headers


def cache_for_viewer(viewer: object | None, public: dict[str, str], *, shared: bool = True) -> dict[str, str]:
    """``public`` (headers from ``public_cache``) for an anonymous viewer of a ``shared`` page,
    else ``NO_STORE``.

    For routes whose answer depends on who asks (a signed-in owner also sees drafts): only the
    anonymous answer is the same for everyone, so only it may sit in a shared cache.
    """
    return public if viewer is None and shared else NO_STORE


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client's address as the ASGI server saw it.

    The server rewrites it from X-Forwarded-For only for trusted proxies (nginx), and nginx
    restores the real address from CF-Connecting-IP only for Cloudflare's ranges, so a client
    cannot choose the address it is rate-limited under.
    """
    return request.client.host if request.client else "unknown"
