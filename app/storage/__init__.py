"""Object storage behind one protocol, chosen by ``ECHOEL_STORAGE`` (local disk or S3)."""

from __future__ import annotations

from app.core.settings import Settings
from app.storage.protocol import (
    MultipartInfo,
    ObjectInfo,
    ObjectStorage,
    PartInfo,
    PostForm,
    StorageError,
)

__all__ = [
    "MultipartInfo",
    "ObjectInfo",
    "ObjectStorage",
    "PartInfo",
    "PostForm",
    "StorageError",
    "make_storage",
]


def make_storage(settings: Settings) -> ObjectStorage:
    """The storage backend the settings name."""
    if settings.storage == "s3":
        from app.storage.s3 import S3Storage

        return S3Storage.from_settings(settings)
    from app.storage.local import LocalStorage

    return LocalStorage.from_settings(settings)
