from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col

from api.context import guard
from api.errors import ApiError
from api.media_usage import record_template_usage
from api.schemas import TemplateCreate, TemplateOut
from api.scoping import ScopeDep
from domain.permissions import Permission
from domain.rendering import CompiledTemplate, TemplateError
from models.templates import Template

router = APIRouter(prefix="/api/templates", tags=["templates"])
_PART_FIELDS = {"subject": "subject", "html": "body_html", "text": "body_text"}


@router.get("", response_model=list[TemplateOut], **guard(Permission.workspace_read))
async def list_templates(scope: ScopeDep) -> list[TemplateOut]:
    templates = (await scope.session.exec(scope.select(Template).order_by(col(Template.name)))).all()
    return [TemplateOut.model_validate(t) for t in templates]


@router.post("", response_model=TemplateOut, status_code=201, **guard(Permission.templates_write))
async def create_template(body: TemplateCreate, scope: ScopeDep) -> TemplateOut:
    if not body.body_html and not body.body_text:
        raise ApiError(422, "a template needs an HTML or a text body", field="body_html")
    try:
        CompiledTemplate(body.subject, body.body_html, body.body_text)
    except TemplateError as exc:
        raise ApiError(422, f"template does not compile: {exc}", field=_PART_FIELDS[exc.part]) from exc
    template = scope.add(Template(**body.model_dump()))
    await scope.flush_or_conflict(f"a template named {body.name!r} already exists", "name")
    await record_template_usage(scope, template)
    scope.audit("template.created", "template", template.id, after={"name": template.name})
    await scope.session.commit()
    await scope.session.refresh(template)
    return TemplateOut.model_validate(template)
