"""Where processing puts what it derives from a file: ``derived/<file id>/``, with a
``media.json`` manifest written last (its presence says every output it lists is in place)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.storage import ObjectStorage, StorageError

DERIVED_PREFIX = "derived/"
MANIFEST = "media.json"
MANIFEST_MAX_BYTES = 4 * 1024 * 1024


def derived_key(file_id: uuid.UUID | str, name: str) -> str:
    return f"{DERIVED_PREFIX}{file_id}/{name}"


def file_id_of(key: str) -> uuid.UUID | None:
    """The file a derived object belongs to, or None for a key that is not one of ours."""
    try:
        return uuid.UUID(key.removeprefix(DERIVED_PREFIX).split("/", 1)[0])
    except ValueError:
        return None


async def read_manifest(storage: ObjectStorage, file_id: uuid.UUID) -> dict[str, Any] | None:
    """The file's manifest, or None while it is still being processed."""
    try:
        raw = await storage.read_head(derived_key(file_id, MANIFEST), MANIFEST_MAX_BYTES)
    except StorageError as exc:
        if str(exc).startswith("NoSuchKey"):  # both stores say so for a missing object
            return None
        raise
    manifest: dict[str, Any] = json.loads(raw)
    return manifest
