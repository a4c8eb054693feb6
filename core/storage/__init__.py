"""Blob storage for imports and the media library: one interface (`Storage`), a local and an S3 backend.

`storage_from_settings` picks S3 when `S3_ENDPOINT` is set, else a directory under `storage_root`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.storage.base import (
    MAX_KEY_LENGTH,
    InvalidKey,
    ObjectNotFound,
    Storage,
    attachment_disposition,
    is_valid_key,
    validate_key,
    validate_prefix,
)
from core.storage.local import LocalStorage
from core.storage.s3 import S3Storage, parse_s3_endpoint

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "MAX_KEY_LENGTH",
    "InvalidKey",
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "attachment_disposition",
    "is_valid_key",
    "parse_s3_endpoint",
    "storage_from_settings",
    "validate_key",
    "validate_prefix",
]


def storage_from_settings(settings: Settings) -> Storage:
    if settings.s3_endpoint:
        return S3Storage(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint,
        )
    return LocalStorage(settings.storage_root)
