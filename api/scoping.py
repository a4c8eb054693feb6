"""The one place that scopes data to the caller's workspace and writes the audit log.

Routes never filter by workspace by hand: they read through `scope.select(Model)` / `scope.get(Model, id)` and
write through `scope.add(obj)`, so an object of another workspace is simply not found (404, never the object).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from api.context import ContextDep, RequestContext
from api.deps import SessionDep
from api.errors import ApiError, not_found
from models.audit import AuditEntry

M = TypeVar("M", bound=SQLModel)


class Scope:
    def __init__(self, session: AsyncSession, context: RequestContext) -> None:
        self.session = session
        self.context = context

    @property
    def workspace_id(self) -> int:
        return self.context.workspace_id

    def select(self, model: type[M]) -> SelectOfScalar[M]:
        return select(model).where(model.workspace_id == self.workspace_id)  # type: ignore[attr-defined]

    def where(self, model: type[SQLModel]) -> Any:
        """The scoping condition, for queries that join or select columns."""
        return model.workspace_id == self.workspace_id  # type: ignore[attr-defined]

    async def find(self, model: type[M], id_: int, *, for_update: bool = False) -> M | None:
        obj = await self.session.get(model, id_, with_for_update=for_update)
        if obj is None or obj.workspace_id != self.workspace_id:  # type: ignore[attr-defined]
            return None
        return obj

    async def get(self, model: type[M], id_: int, kind: str, *, for_update: bool = False) -> M:
        obj = await self.find(model, id_, for_update=for_update)
        if obj is None:
            raise not_found(kind, id_)
        return obj

    async def flush_or_conflict(self, message: str, field: str) -> None:
        """Flushes pending writes; a unique-constraint violation becomes a 409 naming the field."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            await self.session.rollback()
            raise ApiError(409, message, field=field) from exc

    def add(self, obj: M) -> M:
        obj.workspace_id = self.workspace_id  # type: ignore[attr-defined]
        self.session.add(obj)
        return obj

    def audit(
        self,
        action: str,
        entity_type: str,
        entity_id: Any = None,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        """Adds the audit row to the current transaction: it commits, or rolls back, with the change itself."""
        record_audit(self.session, self.context, action, entity_type, entity_id, before=before, after=after)


def record_audit(
    session: AsyncSession,
    context: RequestContext,
    action: str,
    entity_type: str,
    entity_id: Any = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            workspace_id=context.workspace_id,
            user_id=context.user_id,
            api_key_id=context.api_key_id,
            actor=context.actor,
            action=action,
            entity_type=entity_type,
            entity_id=None if entity_id is None else str(entity_id),
            before=before,
            after=after,
            request_id=context.request_id,
            ip=context.ip,
        )
    )


def get_scope(session: SessionDep, context: ContextDep) -> Scope:
    return Scope(session, context)


ScopeDep = Annotated[Scope, Depends(get_scope)]
