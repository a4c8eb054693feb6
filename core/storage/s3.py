"""Storage in an S3-compatible bucket (MinIO, AWS S3, …) through the synchronous minio client."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from core.storage.base import (
    DEFAULT_CONTENT_TYPE,
    ObjectNotFound,
    attachment_disposition,
    validate_key,
    validate_prefix,
)

PART_SIZE = 16 * 1024 * 1024
READ_BUFFER = 256 * 1024
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchObject"})
_BUCKET_EXISTS_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})


def parse_s3_endpoint(endpoint: str) -> tuple[str, bool]:
    """Split `S3_ENDPOINT` into minio's (host[:port], secure).

    Accepts `host:port` (plain HTTP, as for a MinIO next to us) or `http(s)://host[:port]`.
    """
    value = endpoint.strip()
    if "://" not in value:
        if not value or "/" in value:
            raise ValueError(f"invalid S3 endpoint: {endpoint!r}")
        return value, False
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username
        or parts.password
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(f"invalid S3 endpoint (expected http(s)://host[:port]): {endpoint!r}")
    return parts.netloc, parts.scheme == "https"


@contextmanager
def _not_found_as_object_not_found(key: str) -> Iterator[None]:
    try:
        yield
    except S3Error as exc:
        if exc.code in _NOT_FOUND_CODES:
            raise ObjectNotFound(key) from exc
        raise


class _ResponseStream(io.RawIOBase):
    """A urllib3 response as a raw stream whose close() also returns the connection to the pool."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        return self._response.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            try:
                self._response.close()
                self._response.release_conn()
            finally:
                super().close()


class S3Storage:
    """Objects in one bucket, created on first use if missing.

    The bucket check happens once per instance (under a lock), not at construction, so building the storage
    never touches the network. Presigned URLs are computed locally (the region is given, so minio does not ask
    the server for it); they embed `endpoint`, so it must be reachable by whoever follows them.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        access_key: str | None,
        secret_key: str | None,
        bucket: str = "herald",
        region: str = "us-east-1",
        http_client: urllib3.PoolManager | None = None,
        public_endpoint: str | None = None,
    ) -> None:
        host, secure = parse_s3_endpoint(endpoint)
        self.endpoint = host
        self.bucket = bucket
        self.region = region
        self.client = Minio(
            host,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http_client,
        )
        # Browsers follow presigned links: when the workers reach S3 by an internal name (minio:9000), the links are
        # signed for the public one (signing is local: this client never connects).
        self.public_client = self.client
        if public_endpoint:
            public_host, public_secure = parse_s3_endpoint(public_endpoint)
            self.public_client = Minio(
                public_host, access_key=access_key, secret_key=secret_key, secure=public_secure, region=region
            )
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Storage({self.endpoint!r}, bucket={self.bucket!r})"

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket, location=self.region)
                except S3Error as exc:  # another process created it meanwhile
                    if exc.code not in _BUCKET_EXISTS_CODES:
                        raise
            self._bucket_ready = True

    def put_file(self, key: str, path: Path, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        validate_key(key)
        self._ensure_bucket()
        self.client.fput_object(self.bucket, key, str(path), content_type=content_type, part_size=PART_SIZE)

    def put_bytes(self, key: str, data: bytes, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        validate_key(key)
        self._ensure_bucket()
        self.client.put_object(
            self.bucket, key, io.BytesIO(data), len(data), content_type=content_type, part_size=PART_SIZE
        )

    def open(self, key: str) -> BinaryIO:
        validate_key(key)
        self._ensure_bucket()
        with _not_found_as_object_not_found(key):
            response = self.client.get_object(self.bucket, key)
        return io.BufferedReader(_ResponseStream(response), buffer_size=READ_BUFFER)

    def download(self, key: str, path: Path) -> None:
        """minio writes to `<path>.<etag>.part.minio` and renames it, so `path` never holds a partial object."""
        validate_key(key)
        self._ensure_bucket()
        with _not_found_as_object_not_found(key):
            self.client.fget_object(self.bucket, key, str(path))

    def size(self, key: str) -> int:
        validate_key(key)
        self._ensure_bucket()
        with _not_found_as_object_not_found(key):
            stat = self.client.stat_object(self.bucket, key)
        if stat.size is None:
            raise ObjectNotFound(key)
        return stat.size

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        validate_key(key)
        self._ensure_bucket()
        try:
            self.client.remove_object(self.bucket, key)
        except S3Error as exc:
            if exc.code not in _NOT_FOUND_CODES:
                raise

    def list_keys(self, prefix: str = "") -> Iterator[tuple[str, int, datetime]]:
        validate_prefix(prefix)
        self._ensure_bucket()
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[tuple[str, int, datetime]]:
        for obj in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
            if obj.is_dir or obj.object_name is None:
                continue
            modified = obj.last_modified or datetime.now(UTC)
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=UTC)
            yield obj.object_name, obj.size or 0, modified.astimezone(UTC)

    def presigned_get_url(self, key: str, expires: timedelta, download_name: str | None = None) -> str | None:
        validate_key(key)
        headers = {"response-content-disposition": attachment_disposition(download_name)} if download_name else None
        return self.public_client.presigned_get_object(self.bucket, key, expires=expires, response_headers=headers)
