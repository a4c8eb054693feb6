"""Typed custom fields of the workspace (lead values are validated against them)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, text
from sqlmodel import col

from api.context import guard
from api.errors import ApiError
from api.schemas_leads import CustomFieldCreate, CustomFieldOut
from api.scoping import ScopeDep
from domain.filters import custom_field_index_sql
from domain.permissions import Permission
from models.leads import CustomFieldDefinition

router = APIRouter(prefix="/api/custom-fields", tags=["custom fields"])
MAX_FIELDS = 200


@router.get("", response_model=list[CustomFieldOut], **guard(Permission.workspace_read))
async def list_fields(scope: ScopeDep) -> list[CustomFieldOut]:
    rows = await scope.session.exec(scope.select(CustomFieldDefinition).order_by(col(CustomFieldDefinition.label)))
    return [CustomFieldOut.model_validate(d) for d in rows.all()]


@router.post("", response_model=CustomFieldOut, status_code=201, **guard(Permission.settings_manage))
async def create_field(body: CustomFieldCreate, scope: ScopeDep) -> CustomFieldOut:
    if body.type == "choice" and not body.choices:
        raise ApiError(422, "choices: a choice field needs at least one choice", field="choices")
    if body.type != "choice" and body.choices:
        raise ApiError(422, "choices: only choice fields have choices", field="choices")
    count = (await scope.session.exec(scope.select(CustomFieldDefinition).with_only_columns(func.count()))).one()
    if count >= MAX_FIELDS:
        raise ApiError(409, f"a workspace has at most {MAX_FIELDS} custom fields", field="key")
    definition = scope.add(CustomFieldDefinition(**body.model_dump()))
    await scope.flush_or_conflict(f"a custom field {body.key!r} already exists", "key")
    scope.audit("custom_field.created", "custom_field", definition.id, after=body.model_dump())
    await scope.session.commit()
    await _run_ddl(scope, custom_field_index_sql(scope.workspace_id, definition.key, definition.type))
    await scope.session.refresh(definition)
    return CustomFieldOut.model_validate(definition)


@router.delete("/{field_id}", status_code=204, **guard(Permission.settings_manage))
async def delete_field(field_id: int, scope: ScopeDep) -> None:
    """Removes the definition and the values leads had for it."""
    definition = await scope.get(CustomFieldDefinition, field_id, "custom field")
    await scope.session.execute(
        text("UPDATE leads SET custom_fields = custom_fields - :key WHERE workspace_id = :w AND custom_fields ? :key"),
        {"key": definition.key, "w": scope.workspace_id},
    )
    scope.audit("custom_field.deleted", "custom_field", definition.id, before={"key": definition.key})
    await scope.session.delete(definition)
    await scope.session.commit()
    if custom_field_index_sql(scope.workspace_id, definition.key, definition.type):
        await _run_ddl(scope, f"DROP INDEX CONCURRENTLY IF EXISTS ix_leads_cf_{scope.workspace_id}_{definition.key}")


async def _run_ddl(scope, ddl: str | None) -> None:
    """Range filters on number and date fields use an expression index per field, built without locking writes."""
    if not ddl:
        return
    async with scope.session.bind.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql(ddl.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1))
