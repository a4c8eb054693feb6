"""Reusable content blocks (header, footer, signature...): the editor inserts a copy into a template."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col

from api import template_service as service
from api.context import guard
from api.schemas_templates import ContentBlockIn, ContentBlockOut
from api.scoping import Scope, ScopeDep
from domain.permissions import Permission
from models.templates import ContentBlock

router = APIRouter(prefix="/api/content-blocks", tags=["templates"])
# A block is a fragment: only the problems of what it contains matter, not a whole message's required parts.
BLOCK_RULES = {"syntax", "unknown_token", "unsafe"}


async def _validate(scope: Scope, body: ContentBlockIn) -> None:
    fields = {"body_html": body.body_html, "body_text": body.body_text}
    problems = await service.problems_for(scope, "email", fields, brand=False)
    service.refuse_errors([p for p in problems if p.rule in BLOCK_RULES and p.field in fields])


@router.get("", response_model=list[ContentBlockOut], **guard(Permission.workspace_read))
async def list_blocks(scope: ScopeDep) -> list[ContentBlockOut]:
    rows = await scope.session.exec(scope.select(ContentBlock).order_by(col(ContentBlock.kind), col(ContentBlock.name)))
    return [ContentBlockOut.model_validate(block) for block in rows.all()]


@router.post("", response_model=ContentBlockOut, status_code=201, **guard(Permission.templates_write))
async def create_block(body: ContentBlockIn, scope: ScopeDep) -> ContentBlockOut:
    await _validate(scope, body)
    block = scope.add(ContentBlock(**body.model_dump(), updated_by_id=scope.context.user_id))
    await scope.flush_or_conflict(f"a content block named {body.name!r} already exists", "name")
    scope.audit("content_block.created", "content_block", block.id, after={"name": block.name, "kind": block.kind})
    await scope.session.commit()
    await scope.session.refresh(block)
    return ContentBlockOut.model_validate(block)


@router.get("/{block_id}", response_model=ContentBlockOut, **guard(Permission.workspace_read))
async def get_block(block_id: int, scope: ScopeDep) -> ContentBlockOut:
    return ContentBlockOut.model_validate(await scope.get(ContentBlock, block_id, "content block"))


@router.put("/{block_id}", response_model=ContentBlockOut, **guard(Permission.templates_write))
async def update_block(block_id: int, body: ContentBlockIn, scope: ScopeDep) -> ContentBlockOut:
    """Templates that inserted the block keep the copy they have."""
    block = await scope.get(ContentBlock, block_id, "content block", for_update=True)
    await _validate(scope, body)
    before = {"name": block.name, "kind": block.kind}
    for key, value in body.model_dump().items():
        setattr(block, key, value)
    block.updated_by_id = scope.context.user_id
    scope.session.add(block)
    await scope.flush_or_conflict(f"a content block named {body.name!r} already exists", "name")
    scope.audit("content_block.updated", "content_block", block.id, before=before, after={"name": body.name})
    await scope.session.commit()
    await scope.session.refresh(block)
    return ContentBlockOut.model_validate(block)


@router.delete("/{block_id}", status_code=204, **guard(Permission.templates_write))
async def delete_block(block_id: int, scope: ScopeDep) -> None:
    block = await scope.get(ContentBlock, block_id, "content block", for_update=True)
    scope.audit("content_block.deleted", "content_block", block_id, before={"name": block.name})
    await scope.session.delete(block)
    await scope.session.commit()
