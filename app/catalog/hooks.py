"""Other domains' reactions to catalog events, run inside the catalog's own write transaction.

A domain registers its hook when its module is imported (as job handlers do; the job registry
imports every handler module at start-up), so the catalog imports none of them. A hook should
only write rows (queue a job): whatever it writes commits or rolls back with the catalog's change.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from app.catalog.tables import Listing

VersionPublished = Callable[[Listing, uuid.UUID], Awaitable[None]]
_version_published: list[VersionPublished] = []


def on_version_published(hook: VersionPublished) -> VersionPublished:
    """Decorator: call ``hook(listing, version_id)`` when a version of a public listing goes out."""
    if hook not in _version_published:
        _version_published.append(hook)
    return hook


async def version_published(listing: Listing, version_ids: list[uuid.UUID]) -> None:
    """Tell every hook about versions now out on ``listing`` (call inside the write transaction)."""
    for version_id in version_ids:
        for hook in _version_published:
            await hook(listing, version_id)
