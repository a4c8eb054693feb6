from __future__ import annotations

import asyncio
from importlib.metadata import version

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.context import guard
from api.deps import SessionDep, SettingsDep
from api.schemas import AppConfigOut, ComponentHealth, HealthOut
from domain.permissions import PUBLIC

router = APIRouter(prefix="/api", tags=["health"])
APP_VERSION = version("herald")


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}}, **guard(PUBLIC))
async def health(request: Request, session: SessionDep) -> JSONResponse:
    try:
        db_version = (await session.execute(text("SHOW server_version"))).scalar_one()
        database = ComponentHealth(ok=True, detail=f"PostgreSQL {db_version}")
    except Exception as exc:
        database = ComponentHealth(ok=False, detail=str(exc))
    try:
        client = await request.app.state.temporal.get()
        info = await asyncio.wait_for(client.workflow_service.get_system_info(_system_info_request()), timeout=3)
        temporal = ComponentHealth(
            ok=True, detail=f"Temporal server {info.server_version} at {client.service_client.config.target_host}"
        )
    except Exception as exc:
        temporal = ComponentHealth(ok=False, detail=getattr(exc, "message", str(exc)))
    ok = database.ok and temporal.ok
    body = HealthOut(status="ok" if ok else "degraded", version=APP_VERSION, database=database, temporal=temporal)
    return JSONResponse(status_code=200 if ok else 503, content=body.model_dump())


@router.get("/config", response_model=AppConfigOut, **guard(PUBLIC))
async def app_config(settings: SettingsDep) -> AppConfigOut:
    return AppConfigOut(
        version=APP_VERSION,
        temporal_ui_url=settings.temporal_ui_url,
        temporal_namespace=settings.temporal_namespace,
        smtp_sink=settings.smtp_host is None,
    )


def _system_info_request():
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    return GetSystemInfoRequest()
