"""Receiving an upload: copied to disk chunk by chunk (never whole in memory), refused as soon as it is too big."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from api.errors import ApiError

UPLOAD_CHUNK = 1 << 20


@dataclass(frozen=True)
class Received:
    size: int
    sha256: str
    head: bytes  # the first 64 bytes, for type sniffing


async def receive_upload(upload: UploadFile, path: Path, limit: int, *, allow_empty: bool = False) -> Received:
    digest = hashlib.sha256()
    size = 0
    head = b""
    with path.open("wb") as out:
        while chunk := await upload.read(UPLOAD_CHUNK):
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"file: larger than the limit of {limit:,} bytes", field="file", code="too_large")
            if len(head) < 64:
                head += chunk[: 64 - len(head)]
            digest.update(chunk)
            await asyncio.to_thread(out.write, chunk)
    if size == 0 and not allow_empty:
        raise ApiError(422, "file: the file is empty", field="file")
    return Received(size, digest.hexdigest(), head)
