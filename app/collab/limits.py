"""Per-socket guards: a token bucket for message rates and the allowed-origin check."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from app.core.settings import Settings


class TokenBucket:
    """``rate`` messages per second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins(settings: Settings) -> frozenset[str]:
    extra = [o for o in settings.allowed_origins.split(",") if o.strip()]
    return frozenset(_origin(o) for o in [settings.public_url, *extra])


def origin_ok(origin: str | None, allowed: frozenset[str]) -> bool:
    """Browsers always send Origin on a websocket; a foreign one is cross-site hijacking.

    A missing Origin is a non-browser client (the aiortc CLI), which carries no ambient
    credentials: it still has to authenticate with its own token.
    """
    return origin is None or origin.lower() in allowed
