"""Injected dependencies: settings, a database session, the Temporal client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.errors import ApiError
from api.journey_dispatch import committed_events, journey_intake
from core.settings import Settings
from core.storage import Storage
from core.temporal import connect, ensure_search_attributes


class TemporalProvider:
    """Connects on first use, so the API starts (and /api/health answers) even while Temporal is down."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self.client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self.client is not None:
            return self.client
        async with self._lock:
            if self.client is None:
                try:
                    client = await asyncio.wait_for(
                        connect(self.settings.temporal_target, self.settings.temporal_namespace), timeout=5
                    )
                    await ensure_search_attributes(client)
                except Exception as exc:
                    raise ApiError(
                        503, f"Temporal is unreachable at {self.settings.temporal_target}: {exc}", code="unavailable"
                    ) from exc
                self.client = client
        return self.client


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session; once the request is over (after its response is sent), the journey events its
    committed changes queued are dispatched (api/journey_dispatch.py)."""
    session = request.app.state.sessions()
    try:
        async with session:
            yield session
    finally:
        committed = committed_events(session)
        if committed:
            await journey_intake(request.app).dispatch_committed(committed)


async def get_temporal(request: Request) -> Client:
    return await request.app.state.temporal.get()


def get_storage(request: Request) -> Storage:
    return request.app.state.storage


SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
