"""Job kinds and their handlers: ``@register("kind")`` on an async function of a ``JobContext``."""

from __future__ import annotations

import importlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

# Modules whose import registers handlers; every worker (in-process or `echoel worker`) loads
# them, so a job enqueued anywhere finds its handler wherever it runs. Missing modules are skipped
# (a domain not built yet).
HANDLER_MODULES = [
    "app.jobs.housekeeping",
    "app.accounts.jobs",
    "app.ops.jobs",
    "app.ops.webhooks",
    "app.catalog.processing",
    "app.payments.jobs",
    "app.catalog.media_jobs",
    "app.torrents.jobs",
    "app.search.sync",
]


class PermanentError(Exception):
    """Raised by a handler when retrying cannot help (a corrupt file): the job dies at once."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job's identity and payload, and the app's shared state."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    state: Any = None


Handler = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class Kind:
    handler: Handler
    max_attempts: int | None  # None: the worker's default
    backoff_seconds: float | None
    backoff_max_seconds: float | None


@dataclass
class Registry:
    kinds: dict[str, Kind] = field(default_factory=dict)

    def register(
        self,
        kind: str,
        *,
        max_attempts: int | None = None,
        backoff_seconds: float | None = None,
        backoff_max_seconds: float | None = None,
    ) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.kinds[kind] = Kind(handler, max_attempts, backoff_seconds, backoff_max_seconds)
            return handler

        return decorate


registry = Registry()
register = registry.register


def load_handler_modules() -> None:
    """Import every module that registers handlers (a misspelt one fails loudly)."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Delay before retry ``attempt`` (1-based): exponential, capped, with jitter.

    The jitter (between half and all of the step) keeps jobs that failed together, say when the
    object store was briefly down, from all retrying in the same instant.
    """
    step = min(cap, base * 2.0 ** (attempt - 1))
    return step * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
