"""The FastAPI application: JSON API under /api, the built UI at /."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from api.deps import TemporalProvider
from api.errors import ApiError, ErrorBody, install_error_handlers
from api.journey_dispatch import JourneyIntake
from api.middleware import install_middleware
from api.routes import (
    analytics,
    api_keys,
    audit,
    auth,
    automation_drafts,
    automation_monitoring,
    automation_simulations,
    automations,
    brand,
    bulk_file,
    campaigns,
    content_blocks,
    conversions,
    custom_fields,
    events,
    exports,
    health,
    imports,
    lead_interactions,
    leads,
    lists,
    media,
    members,
    outbox,
    public_conversions,
    public_inbound_bounces,
    public_inbound_sms,
    public_media,
    public_tracking,
    public_unsubscribe,
    reports,
    secrets,
    template_folders,
    templates,
    workspaces,
)
from api.tracking_fast_path import TrackingFastPath
from api.tracking_recorder import TrackingRecorder
from core.db import create_engine, session_factory
from core.settings import Settings, get_settings
from core.storage import storage_from_settings

UI_NOT_BUILT = """<!doctype html><title>Herald</title>
<p>The web UI is not built yet. Run <code>make run</code> (or <code>cd ui && npm ci && npm run build</code>).</p>
<p>The API is live: <a href="/api/docs">/api/docs</a>.</p>"""


def create_app(settings: Settings | None = None, temporal_client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (herald run sets it for the embedded database)")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.settings = settings
        app.state.sessions = session_factory(engine)
        app.state.temporal = TemporalProvider(settings, temporal_client)
        app.state.storage = storage_from_settings(settings)
        app.state.journeys = JourneyIntake(settings, app.state.sessions, app.state.temporal)
        app.state.tracking = TrackingRecorder(engine, on_committed=app.state.journeys.tracked)
        yield
        await app.state.tracking.close()
        await app.state.journeys.close()
        await engine.dispose()

    app = FastAPI(
        title="Herald",
        summary="Campaign management where every campaign is a durable Temporal workflow.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        responses={
            401: {"model": ErrorBody, "description": "Not signed in, or an invalid or revoked API key"},
            403: {"model": ErrorBody, "description": "The role does not allow it, or the CSRF header is missing"},
            404: {"model": ErrorBody, "description": "Unknown id"},
            409: {"model": ErrorBody, "description": "Conflict with the current state"},
            422: {"model": ErrorBody, "description": "Invalid input; `field` names the offending field"},
        },
    )
    install_error_handlers(app)
    install_middleware(app, settings)
    app.add_middleware(TrackingFastPath, settings=settings)  # outermost: pixels and redirects skip the rest
    for module in (
        public_tracking,  # first: every opened email and clicked link comes here, and routes match in order
        health,
        auth,
        workspaces,
        members,
        api_keys,
        secrets,
        audit,
        custom_fields,
        leads,
        lead_interactions,
        events,
        bulk_file,
        exports,
        imports,
        lists,
        media,
        templates,
        template_folders,
        content_blocks,
        brand,
        campaigns,
        automation_drafts,  # before automations: POST /api/automations/validate is not an automation's id
        automations,
        automation_monitoring,
        automation_simulations,
        analytics,
        reports,
        conversions,
        outbox,
        public_media,
        public_unsubscribe,
        public_inbound_sms,
        public_inbound_bounces,
        public_conversions,
    ):
        app.include_router(module.router)
    _mount_ui(app, settings.ui_dist_dir)
    return app


def _mount_ui(app: FastAPI, dist: Path) -> None:
    """Serve the SPA: real files when they exist, index.html for client-side routes."""
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str):
        if path.startswith("api/"):
            raise ApiError(404, f"no API route /{path}")
        index = dist / "index.html"
        if not index.exists():
            return HTMLResponse(UI_NOT_BUILT)
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(dist.resolve()):
            return FileResponse(candidate)
        return FileResponse(index)
