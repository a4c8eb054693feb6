"""Folders of the template library: flat, named uniquely per workspace."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func, update
from sqlmodel import col, select

from api.context import guard
from api.schemas_templates import FolderIn, FolderOut
from api.scoping import Scope, ScopeDep
from domain.permissions import Permission
from models.templates import Template, TemplateFolder

router = APIRouter(prefix="/api/template-folders", tags=["templates"])


async def _count(scope: Scope, folder_id: int) -> int:
    query = select(func.count()).select_from(Template).where(scope.where(Template), Template.folder_id == folder_id)
    return (await scope.session.exec(query)).one()


def _out(folder: TemplateFolder, count: int) -> FolderOut:
    return FolderOut(id=folder.id, name=folder.name, template_count=count, created_at=folder.created_at)


@router.get("", response_model=list[FolderOut], **guard(Permission.workspace_read))
async def list_folders(scope: ScopeDep) -> list[FolderOut]:
    counts = (
        select(Template.folder_id, func.count().label("n"))
        .where(scope.where(Template), col(Template.folder_id).is_not(None))
        .group_by(col(Template.folder_id))
        .subquery()
    )
    rows = (
        await scope.session.exec(
            select(TemplateFolder, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.folder_id == TemplateFolder.id)
            .where(scope.where(TemplateFolder))
            .order_by(func.lower(TemplateFolder.name))
        )
    ).all()
    return [_out(folder, count) for folder, count in rows]


@router.post("", response_model=FolderOut, status_code=201, **guard(Permission.templates_write))
async def create_folder(body: FolderIn, scope: ScopeDep) -> FolderOut:
    folder = scope.add(TemplateFolder(name=body.name))
    await scope.flush_or_conflict(f"a folder named {body.name!r} already exists", "name")
    scope.audit("template_folder.created", "template_folder", folder.id, after={"name": folder.name})
    await scope.session.commit()
    await scope.session.refresh(folder)
    return _out(folder, 0)


@router.patch("/{folder_id}", response_model=FolderOut, **guard(Permission.templates_write))
async def rename_folder(folder_id: int, body: FolderIn, scope: ScopeDep) -> FolderOut:
    folder = await scope.get(TemplateFolder, folder_id, "folder", for_update=True)
    before = {"name": folder.name}
    folder.name = body.name
    scope.session.add(folder)
    await scope.flush_or_conflict(f"a folder named {body.name!r} already exists", "name")
    scope.audit("template_folder.renamed", "template_folder", folder.id, before=before, after={"name": body.name})
    await scope.session.commit()
    await scope.session.refresh(folder)
    return _out(folder, await _count(scope, folder.id))


@router.delete("/{folder_id}", status_code=204, **guard(Permission.templates_write))
async def delete_folder(folder_id: int, scope: ScopeDep) -> None:
    """Its templates stay, in no folder."""
    folder = await scope.get(TemplateFolder, folder_id, "folder", for_update=True)
    await scope.session.execute(
        update(Template).where(scope.where(Template), Template.folder_id == folder_id).values(folder_id=None)
    )
    scope.audit("template_folder.deleted", "template_folder", folder_id, before={"name": folder.name})
    await scope.session.delete(folder)
    await scope.session.commit()
