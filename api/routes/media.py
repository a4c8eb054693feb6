"""The media library: validated uploads, the files and their renditions, search, tags, folders, usage."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import ARRAY, Text, and_, cast, func, or_, text
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.context import guard
from api.deps import SettingsDep, StorageDep, TemporalDep
from api.errors import ApiError
from api.media_usage import media_users
from api.pagination import PageParamsDep, paginate
from api.schemas import Page
from api.schemas_media import (
    CountOut,
    MediaBulk,
    MediaBulkOut,
    MediaDetailOut,
    MediaOut,
    MediaRefusal,
    MediaUpdate,
    UploadOut,
    VariantOut,
)
from api.scoping import Scope, ScopeDep
from api.uploads import receive_upload
from core.image_check import ImageRefused, check_image
from core.settings import Settings
from core.storage import ObjectNotFound, Storage, attachment_disposition
from core.storage.local import LocalStorage
from core.workflow_ids import media_workflow_id
from domain.filters import like_escape
from domain.media_types import MediaRefused, MediaType, check_content, check_filename, sniff
from domain.permissions import Permission, Role
from models.media import MediaAsset, MediaStatus
from models.payloads.media import MediaInput

router = APIRouter(prefix="/api/media", tags=["media"])
WORKFLOW_NAME = "MediaProcessingWorkflow"
SCAN_LIMIT = 25 << 20  # images and PDFs are read whole for the content checks; their size limits are below this
SORTS = {
    "newest": col(MediaAsset.id).desc(),
    "oldest": col(MediaAsset.id).asc(),
    "name": col(MediaAsset.filename).asc(),
    "size": col(MediaAsset.size_bytes).desc(),
}


def _limit(settings: Settings, kind: str) -> int:
    return {
        "image": settings.media_max_image_bytes,
        "video": settings.media_max_video_bytes,
        "document": settings.media_max_document_bytes,
    }[kind]


def _url(asset_id: int, variant: str | None = None) -> str:
    return f"/api/media/{asset_id}/file" + (f"/{variant}" if variant else "")


def media_out(asset: MediaAsset, cls: type[MediaOut] = MediaOut, **extra: Any) -> Any:
    variants = {
        name: VariantOut(
            url=_url(asset.id, name),
            content_type=info.get("content_type", "application/octet-stream"),
            width=info.get("width"),
            height=info.get("height"),
            size=info.get("size"),
        )
        for name, info in (asset.variants or {}).items()
    }
    return cls(
        id=asset.id,
        kind=asset.kind,
        filename=asset.filename,
        content_type=asset.content_type,
        size_bytes=asset.size_bytes,
        sha256=asset.sha256,
        width=asset.width,
        height=asset.height,
        duration_seconds=asset.duration_seconds,
        page_count=asset.page_count,
        alt_text=asset.alt_text,
        title=asset.title,
        folder=asset.folder,
        tags=asset.tags,
        status=asset.status,
        failure_reason=asset.failure_reason,
        url=_url(asset.id),
        variants=variants,
        uploaded_by=asset.uploaded_by,
        workflow_id=media_workflow_id(asset.id),
        created_at=asset.created_at,
        updated_at=asset.updated_at,
        **extra,
    )


def clean_folder(folder: str) -> str:
    parts = [part.strip() for part in folder.replace("\\", "/").split("/") if part.strip()]
    if any(part in (".", "..") or any(ord(ch) < 32 for ch in part) for part in parts):
        raise ApiError(422, "folder: use plain names separated by /", field="folder")
    return "/".join(parts)


def clean_tags(tags: list[str], field: str = "tags") -> list[str]:
    clean = sorted({tag.strip() for tag in tags if tag and tag.strip()})
    if any(len(tag) > 64 for tag in clean):
        raise ApiError(422, f"{field}: a tag has at most 64 characters", field=field)
    return clean


async def _validate(path: Path, media_type: MediaType, size: int, settings: Settings) -> tuple[int | None, int | None]:
    """Content checks by kind; (width, height) for images."""
    if size > _limit(settings, media_type.kind):
        raise ApiError(
            413,
            f"file: a {media_type.kind} may be at most {_limit(settings, media_type.kind):,} bytes",
            field="file",
            code="too_large",
        )
    if media_type.kind in ("image", "document") and size <= SCAN_LIMIT:
        data = await asyncio.to_thread(path.read_bytes)
        try:
            check_content(media_type, data)
        except MediaRefused as exc:
            raise ApiError(422, f"file: {exc}", field="file") from exc
    if media_type.kind == "image":
        try:
            return await asyncio.to_thread(check_image, path, media_type.content_type, settings.media_max_image_pixels)
        except ImageRefused as exc:
            raise ApiError(422, f"file: {exc}", field="file") from exc
    return None, None


@router.post("", response_model=UploadOut, status_code=201, **guard(Permission.media_write))
async def upload_media(
    request: Request,
    scope: ScopeDep,
    settings: SettingsDep,
    storage: StorageDep,
    client: TemporalDep,
    response: Response,
    file: UploadFile = File(description="JPEG, PNG, GIF, WebP, AVIF, HEIC, MP4, MOV, WebM or PDF"),
    folder: str = Query("", max_length=300),
) -> UploadOut:
    """One file per request (the UI sends several in parallel, each with its own progress). The same bytes
    uploaded again answer 200 with the existing asset and `duplicate: true`."""
    largest = max(settings.media_max_image_bytes, settings.media_max_video_bytes, settings.media_max_document_bytes)
    if int(request.headers.get("content-length") or 0) > largest + (1 << 16):
        raise ApiError(413, f"file: larger than the limit of {largest:,} bytes", field="file", code="too_large")
    try:
        filename = check_filename(file.filename)
    except MediaRefused as exc:
        raise ApiError(422, f"file: {exc}", field="file") from exc
    folder = clean_folder(folder)
    with tempfile.TemporaryDirectory(prefix="herald-media-") as tmp:
        path = Path(tmp) / "upload"
        received = await receive_upload(file, path, largest)
        size, sha256, head = received.size, received.sha256, received.head
        try:
            media_type = sniff(head)
        except MediaRefused as exc:
            status = 422 if size == 0 else 415
            raise ApiError(status, f"file: {exc}", field="file", code="unsupported_type") from exc
        width, height = await _validate(path, media_type, size, settings)
        existing = (await scope.session.exec(scope.select(MediaAsset).where(MediaAsset.sha256 == sha256))).one_or_none()
        if existing is not None:
            response.status_code = 200
            return media_out(existing, UploadOut, duplicate=True)
        key = f"media/{scope.workspace_id}/{uuid.uuid4().hex}/original.{media_type.extension}"
        # The object exists before the row commits; a failed commit leaves an orphan the daily cleanup removes.
        await asyncio.to_thread(storage.put_file, key, path, media_type.content_type)
    asset = scope.add(
        MediaAsset(
            kind=media_type.kind,
            filename=filename,
            storage_key=key,
            content_type=media_type.content_type,
            size_bytes=size,
            sha256=sha256,
            width=width,
            height=height,
            folder=folder,
            uploaded_by=scope.context.user_id,
        )
    )
    await scope.flush_or_conflict("the same file was uploaded at the same moment", "file")
    scope.audit("media.uploaded", "media", asset.id, after={"filename": filename, "kind": asset.kind, "bytes": size})
    await scope.session.commit()
    await _start_processing(client, settings, scope, asset)
    await scope.session.refresh(asset)
    return media_out(asset, UploadOut, duplicate=False)


async def _start_processing(client: Client, settings: Settings, scope: Scope, asset: MediaAsset) -> None:
    payload = MediaInput(
        asset_id=asset.id,
        workspace_id=asset.workspace_id,
        storage_key=asset.storage_key,
        kind=asset.kind,
        content_type=asset.content_type,
    )
    try:
        await client.start_workflow(
            WORKFLOW_NAME, payload, id=media_workflow_id(asset.id), task_queue=settings.temporal_task_queue
        )
    except WorkflowAlreadyStartedError as exc:
        raise ApiError(409, f"asset {asset.id} is already being processed", code="already_running") from exc
    except Exception as exc:
        asset.status = MediaStatus.failed
        asset.failure_reason = f"processing could not start: {exc}"
        scope.session.add(asset)
        await scope.session.commit()


def _filters(
    scope: Scope,
    search: str | None,
    kind: str | None,
    tag: str | None,
    folder: str | None,
    uploaded_by: int | None,
    since: datetime | None,
    until: datetime | None,
    min_size: int | None,
    max_size: int | None,
    status: str | None,
) -> list[Any]:
    conditions: list[Any] = [scope.where(MediaAsset)]
    if search:
        words = [w for w in search.split() if w][:8]
        document = func.to_tsvector(
            "simple",
            func.coalesce(MediaAsset.filename, "")
            + " "
            + func.coalesce(MediaAsset.title, "")
            + " "
            + func.coalesce(MediaAsset.alt_text, ""),
        )
        for word in words:
            prefix = func.to_tsquery("simple", func.quote_literal(word.lower()) + ":*")
            conditions.append(
                or_(
                    document.op("@@")(prefix),
                    col(MediaAsset.tags).contains(cast([word], ARRAY(Text))),
                    col(MediaAsset.filename).ilike(f"%{like_escape(word)}%", escape="\\"),
                )
            )
    if kind:
        conditions.append(MediaAsset.kind == kind)
    if tag:
        conditions.append(col(MediaAsset.tags).contains(cast([tag], ARRAY(Text))))
    if folder is not None:
        clean = clean_folder(folder)
        conditions.append(
            or_(MediaAsset.folder == clean, col(MediaAsset.folder).startswith(clean + "/")) if clean else text("true")
        )
    if uploaded_by is not None:
        conditions.append(MediaAsset.uploaded_by == uploaded_by)
    if since is not None:
        conditions.append(col(MediaAsset.created_at) >= since)
    if until is not None:
        conditions.append(col(MediaAsset.created_at) < until)
    if min_size is not None:
        conditions.append(col(MediaAsset.size_bytes) >= min_size)
    if max_size is not None:
        conditions.append(col(MediaAsset.size_bytes) <= max_size)
    if status:
        conditions.append(MediaAsset.status == status)
    return conditions


@router.get("", response_model=Page[MediaOut], **guard(Permission.workspace_read))
async def list_media(
    scope: ScopeDep,
    page: PageParamsDep,
    kind: Literal["image", "video", "document"] | None = None,
    tag: str | None = None,
    folder: str | None = Query(None, description="This folder and its sub-folders"),
    uploaded_by: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_size: int | None = Query(None, ge=0),
    max_size: int | None = Query(None, ge=0),
    status: Literal["processing", "ready", "failed"] | None = None,
    sort: Literal["newest", "oldest", "name", "size"] = "newest",
) -> Page[MediaOut]:
    """Search (name, title, alt text, tags), filters, sort and pagination."""
    conditions = _filters(scope, page.search, kind, tag, folder, uploaded_by, since, until, min_size, max_size, status)
    order = (SORTS[sort], col(MediaAsset.id).desc())
    return await paginate(scope.session, select(MediaAsset), page, order, media_out, where=and_(*conditions))


@router.get("/tags", response_model=list[CountOut], **guard(Permission.workspace_read))
async def media_tags(scope: ScopeDep) -> list[CountOut]:
    tag = func.unnest(MediaAsset.tags).label("tag")
    inner = select(tag).where(scope.where(MediaAsset)).subquery()
    rows = (
        await scope.session.exec(select(inner.c.tag, func.count()).group_by(inner.c.tag).order_by(inner.c.tag))
    ).all()
    return [CountOut(name=name, count=count) for name, count in rows]


@router.get("/folders", response_model=list[CountOut], **guard(Permission.workspace_read))
async def media_folders(scope: ScopeDep) -> list[CountOut]:
    rows = (
        await scope.session.exec(
            select(MediaAsset.folder, func.count())
            .where(scope.where(MediaAsset))
            .group_by(MediaAsset.folder)
            .order_by(MediaAsset.folder)
        )
    ).all()
    return [CountOut(name=name, count=count) for name, count in rows]


@router.get("/{asset_id}", response_model=MediaDetailOut, **guard(Permission.workspace_read))
async def get_media(asset_id: int, scope: ScopeDep) -> MediaDetailOut:
    asset = await scope.get(MediaAsset, asset_id, "media")
    users = await media_users(scope, [asset.id])
    return media_out(asset, MediaDetailOut, used_by=users.get(asset.id, []))


@router.patch("/{asset_id}", response_model=MediaDetailOut, **guard(Permission.media_write))
async def update_media(asset_id: int, body: MediaUpdate, scope: ScopeDep) -> MediaDetailOut:
    asset = await scope.get(MediaAsset, asset_id, "media", for_update=True)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "folder" in changes:
        changes["folder"] = clean_folder(changes["folder"])
    if "tags" in changes:
        changes["tags"] = clean_tags(changes["tags"])
    before = {key: getattr(asset, key) for key in changes}
    for key, value in changes.items():
        setattr(asset, key, value.strip() if isinstance(value, str) and key != "folder" else value)
    scope.session.add(asset)
    scope.audit("media.updated", "media", asset.id, before=before, after=changes)
    await scope.session.commit()
    await scope.session.refresh(asset)
    users = await media_users(scope, [asset.id])
    return media_out(asset, MediaDetailOut, used_by=users.get(asset.id, []))


def _may_force(scope: Scope) -> bool:
    return scope.context.role in (Role.manager, Role.admin)


@router.delete("/{asset_id}", status_code=204, **guard(Permission.media_write))
async def delete_media(asset_id: int, scope: ScopeDep, storage: StorageDep, force: bool = False) -> None:
    """Refused (409, with the list of users) while templates or campaigns use the asset, unless a manager forces."""
    asset = await scope.get(MediaAsset, asset_id, "media", for_update=True)
    users = (await media_users(scope, [asset.id])).get(asset.id, [])
    if users and not (force and _may_force(scope)):
        names = ", ".join(f"{u.type} {u.name!r}" for u in users)
        reason = "only a manager can force it" if force else "pass force=true as a manager to delete anyway"
        raise ApiError(409, f"the asset is used by {names}; {reason}", code="in_use")
    await _delete_assets(scope, storage, [asset])
    await scope.session.commit()


async def _delete_assets(scope: Scope, storage: Storage, assets: list[MediaAsset]) -> None:
    keys = []
    for asset in assets:
        keys.append(asset.storage_key)
        keys += [info["key"] for info in (asset.variants or {}).values() if info.get("key")]
        scope.audit("media.deleted", "media", asset.id, before={"filename": asset.filename})
        await scope.session.delete(asset)
    await scope.session.flush()

    def remove() -> None:
        for key in keys:
            try:
                storage.delete(key)
            except Exception:  # the daily cleanup removes what is left behind
                pass

    await asyncio.to_thread(remove)


@router.post("/bulk", response_model=MediaBulkOut, **guard(Permission.media_write))
async def bulk_media(body: MediaBulk, scope: ScopeDep, storage: StorageDep) -> MediaBulkOut:
    assets = (
        await scope.session.exec(scope.select(MediaAsset).where(col(MediaAsset.id).in_(body.ids)).with_for_update())
    ).all()
    found = {a.id for a in assets}
    refused = [MediaRefusal(id=i, reason="not found") for i in body.ids if i not in found]
    if body.action in ("tag", "untag"):
        if not body.tag or not body.tag.strip():
            raise ApiError(422, "tag: required for tag and untag", field="tag")
        tag = clean_tags([body.tag], "tag")[0]
        for asset in assets:
            tags = set(asset.tags)
            tags = tags | {tag} if body.action == "tag" else tags - {tag}
            asset.tags = sorted(tags)
            scope.session.add(asset)
        affected = len(assets)
    elif body.action == "move":
        if body.folder is None:
            raise ApiError(422, "folder: required to move", field="folder")
        folder = clean_folder(body.folder)
        for asset in assets:
            asset.folder = folder
            scope.session.add(asset)
        affected = len(assets)
    else:
        users = await media_users(scope, [a.id for a in assets])
        deletable = []
        for asset in assets:
            if users.get(asset.id) and not (body.force and _may_force(scope)):
                refused.append(MediaRefusal(id=asset.id, reason="in use", used_by=users[asset.id]))
            else:
                deletable.append(asset)
        await _delete_assets(scope, storage, deletable)
        affected = len(deletable)
    scope.audit(f"media.bulk_{body.action}", "media", None, after={"ids": sorted(found), "affected": affected})
    await scope.session.commit()
    return MediaBulkOut(affected=affected, refused=refused)


@router.post("/{asset_id}/reprocess", response_model=MediaOut, status_code=202, **guard(Permission.media_write))
async def reprocess_media(asset_id: int, scope: ScopeDep, settings: SettingsDep, client: TemporalDep) -> MediaOut:
    """Runs the processing again (after a failure, or to build renditions added later)."""
    asset = await scope.get(MediaAsset, asset_id, "media", for_update=True)
    if asset.status == MediaStatus.processing:
        raise ApiError(409, f"asset {asset_id} is being processed", code="already_running")
    asset.status = MediaStatus.processing
    asset.failure_reason = None
    scope.session.add(asset)
    await scope.session.commit()
    handle = client.get_workflow_handle(media_workflow_id(asset.id))
    try:
        await handle.terminate("reprocess requested")
    except Exception:  # not running: the usual case
        pass
    await _start_processing(client, settings, scope, asset)
    await scope.session.refresh(asset)
    return media_out(asset)


@router.get("/{asset_id}/file", **guard(Permission.workspace_read))
async def original_file(asset_id: int, scope: ScopeDep, storage: StorageDep, download: bool = False) -> Response:
    asset = await scope.get(MediaAsset, asset_id, "media")
    return await _serve(storage, asset.storage_key, asset.content_type, asset.filename, download)


@router.get("/{asset_id}/file/{variant}", **guard(Permission.workspace_read))
async def variant_file(asset_id: int, variant: str, scope: ScopeDep, storage: StorageDep) -> Response:
    asset = await scope.get(MediaAsset, asset_id, "media")
    info = (asset.variants or {}).get(variant)
    if not info:
        raise ApiError(404, f"asset {asset_id} has no {variant!r} rendition (yet)")
    stem = Path(asset.filename).stem
    name = f"{stem}-{variant}{Path(info['key']).suffix}"
    return await _serve(storage, info["key"], info.get("content_type", "application/octet-stream"), name, False)


SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Served from the app's origin: never let a file run script or load anything, even if opened directly.
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
    "sandbox",
    "Cache-Control": "private, max-age=3600",
}


async def _serve(storage: Storage, key: str, content_type: str, filename: str, download: bool) -> Response:
    disposition = attachment_disposition(filename)
    if not download:
        disposition = disposition.replace("attachment", "inline", 1)
    if isinstance(storage, LocalStorage):
        path = storage.local_path(key)
        if not path.is_file():
            raise ApiError(404, "the file is missing from storage")
        return FileResponse(path, media_type=content_type, headers={**SAFE_HEADERS, "Content-Disposition": disposition})
    try:
        url = await asyncio.to_thread(
            storage.presigned_get_url, key, timedelta(minutes=15), filename if download else None
        )
    except ObjectNotFound as exc:
        raise ApiError(404, "the file is missing from storage") from exc
    return RedirectResponse(url, status_code=307)
