"""Images of sent messages, served without login: `/public/media/<id>/<variant>?sig=<hmac>`.

Sent email (and previews, so they look the same) point at these links; the signature covers the asset and the
rendition, so a link opens that one file and nothing else. Anything unsigned, mis-signed or missing is a 404.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.context import guard
from api.deps import SessionDep, SettingsDep, StorageDep
from api.errors import ApiError
from core.signing import ORIGINAL, valid_media_signature
from core.storage import ObjectNotFound
from core.storage.local import LocalStorage
from domain.permissions import PUBLIC
from models.media import MediaAsset, MediaStatus

router = APIRouter(prefix="/public/media", tags=["public"])
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "public, max-age=86400",
}


@router.get("/{asset_id}/{variant}", **guard(PUBLIC))
async def public_media(
    asset_id: int,
    variant: str,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    sig: str = Query("", max_length=100),
) -> Response:
    """The rendition named (the original when the asset has no such rendition, e.g. a GIF kept as is)."""
    missing = ApiError(404, "no such file")
    if not valid_media_signature(settings, asset_id, variant, sig):
        raise missing
    asset = await session.get(MediaAsset, asset_id)
    if asset is None or asset.status != MediaStatus.ready.value:
        raise missing
    info = (asset.variants or {}).get(variant) if variant != ORIGINAL else None
    key = info["key"] if info else asset.storage_key
    content_type = info.get("content_type", "application/octet-stream") if info else asset.content_type
    if isinstance(storage, LocalStorage):
        path = storage.local_path(key)
        if not path.is_file():
            raise missing
        return FileResponse(path, media_type=content_type, headers=HEADERS)
    try:
        url = await asyncio.to_thread(storage.presigned_get_url, key, timedelta(hours=1), None)
    except ObjectNotFound as exc:
        raise missing from exc
    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "public, max-age=600"})
