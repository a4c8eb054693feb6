"""Media activities: build an asset's renditions (sync, on the worker's thread pool) and record the outcome."""

from __future__ import annotations

import asyncio
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.media_processing import MediaCorrupt, ProcessedMedia, process_image, process_pdf, process_video
from core.storage import ObjectNotFound, Storage
from models.payloads.media import CleanupInput, CleanupResult, MediaFailure, MediaInput, MediaResult, VariantInfo

log = structlog.get_logger("herald.activities.media")
CLEANED_PREFIXES = ("media/", "imports/", "exports/", "reports/")


class MediaActivities:
    def __init__(self, engine: AsyncEngine, storage: Storage, max_image_pixels: int) -> None:
        self.engine = engine
        self.storage = storage
        self.max_image_pixels = max_image_pixels

    @activity.defn
    def process_media(self, input: MediaInput) -> MediaResult:
        """Downloads the original, renders thumbnails and renditions, uploads them beside it."""
        with tempfile.TemporaryDirectory(prefix="herald-media-") as tmp:
            work = Path(tmp)
            source = work / f"original{PurePosixPath(input.storage_key).suffix}"
            try:
                self.storage.download(input.storage_key, source)
            except ObjectNotFound as exc:
                raise ApplicationError(
                    "the original file is missing from storage", type="MediaCorrupt", non_retryable=True
                ) from exc
            activity.heartbeat("downloaded")
            out = work / "out"
            out.mkdir()
            try:
                processed = self._process(input.kind, source, out)
            except MediaCorrupt as exc:
                raise ApplicationError(str(exc), type="MediaCorrupt", non_retryable=True) from exc
            activity.heartbeat("processed")
            folder = PurePosixPath(input.storage_key).parent
            variants: dict[str, VariantInfo] = {}
            for variant in processed.variants:
                key = str(folder / variant.path.name)
                self.storage.put_file(key, variant.path, variant.content_type)
                variants[variant.name] = VariantInfo(
                    key=key,
                    content_type=variant.content_type,
                    width=variant.width,
                    height=variant.height,
                    size=variant.path.stat().st_size,
                )
        log.info("media processed", asset_id=input.asset_id, kind=input.kind, variants=sorted(variants))
        return MediaResult(
            asset_id=input.asset_id,
            width=processed.width,
            height=processed.height,
            duration_seconds=processed.duration_seconds,
            page_count=processed.page_count,
            variants=variants,
        )

    def _process(self, kind: str, source: Path, out: Path) -> ProcessedMedia:
        if kind == "image":
            return process_image(source, out, max_pixels=self.max_image_pixels)
        if kind == "video":
            return process_video(source, out)
        if kind == "document":
            return process_pdf(source, out, max_pixels=self.max_image_pixels)
        raise MediaCorrupt(f"unknown media kind {kind!r}")

    @activity.defn
    async def record_media(self, result: MediaResult) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE media_assets SET status = 'ready', failure_reason = NULL, width = :width, "
                    "height = :height, duration_seconds = :duration, page_count = :pages, "
                    "variants = CAST(:variants AS jsonb), updated_at = now() WHERE id = :id"
                ),
                {
                    "id": result.asset_id,
                    "width": result.width,
                    "height": result.height,
                    "duration": result.duration_seconds,
                    "pages": result.page_count,
                    "variants": json.dumps({name: v.model_dump() for name, v in result.variants.items()}),
                },
            )

    @activity.defn
    async def record_media_failure(self, failure: MediaFailure) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE media_assets SET status = 'failed', failure_reason = :reason, updated_at = now() "
                    "WHERE id = :id"
                ),
                {"id": failure.asset_id, "reason": failure.reason[:2000]},
            )
        log.info("media failed", asset_id=failure.asset_id, reason=failure.reason)


class StorageCleanupActivities:
    """Deletes stored objects no row points at (uploads whose commit failed, renditions of deleted assets...)."""

    def __init__(self, engine: AsyncEngine, storage: Storage) -> None:
        self.engine = engine
        self.storage = storage

    @activity.defn
    async def clean_orphans(self, input: CleanupInput) -> CleanupResult:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT storage_key FROM media_assets "
                    "UNION ALL SELECT v->>'key' FROM media_assets, jsonb_each(variants) AS e(k, v) "
                    "UNION ALL SELECT storage_key FROM imports "
                    "UNION ALL SELECT storage_key FROM exports WHERE storage_key IS NOT NULL "
                    "UNION ALL SELECT csv_key FROM report_runs WHERE csv_key IS NOT NULL "
                    "UNION ALL SELECT html_key FROM report_runs WHERE html_key IS NOT NULL"
                )
            )
            referenced = {row[0] for row in rows}
        cutoff = datetime.now(UTC) - timedelta(hours=input.grace_hours)
        scanned = 0
        deleted: list[str] = []
        for prefix in CLEANED_PREFIXES:
            for key, _size, modified in await _listed(self.storage, prefix):
                scanned += 1
                if key not in referenced and modified < cutoff:
                    if not input.dry_run:
                        await _delete(self.storage, key)
                    deleted.append(key)
            activity.heartbeat(prefix)
        log.info("storage cleaned", scanned=scanned, deleted=len(deleted), dry_run=input.dry_run)
        return CleanupResult(scanned=scanned, deleted=deleted[:1000])


async def _listed(storage: Storage, prefix: str) -> list[tuple[str, int, datetime]]:
    return await asyncio.to_thread(lambda: list(storage.list_keys(prefix)))


async def _delete(storage: Storage, key: str) -> None:
    await asyncio.to_thread(storage.delete, key)
