"""The template library: templates per channel, their immutable versions, live checks, previews, test sends."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import and_, delete, func, or_
from sqlmodel import col, select

from api import template_service as service
from api.campaign_service import campaigns_using_template
from api.context import guard
from api.deps import SettingsDep, TemporalDep
from api.errors import ApiError
from api.media_usage import record_template_usage
from api.pagination import PageParamsDep, paginate
from api.schemas import Page
from api.schemas_templates import (
    CheckBody,
    CheckOut,
    PreviewBody,
    RestoreBody,
    TemplateCreate,
    TemplateMetaUpdate,
    TemplateOut,
    TemplatePreviewBody,
    TemplatePreviewOut,
    TemplateSummary,
    TemplateUpdate,
    TemplateVersionOut,
    TestSendBody,
    TestSendOut,
    TestSendResultOut,
    TokenOut,
    VersionSummary,
)
from api.scoping import Scope, ScopeDep
from core.workflow_ids import test_send_workflow_id
from domain.contacts import ContactError, normalise_email, normalise_phone
from domain.filters import like_escape
from domain.permissions import Permission
from models.media import MediaUsage
from models.payloads.test_send import TestSendInput, TestSendResult
from models.templates import CONTENT_FIELDS, Template, TemplateFolder, TemplateVersion
from models.workspaces import User, Workspace

router = APIRouter(prefix="/api/templates", tags=["templates"])
TEST_SEND_WORKFLOW = "TestSendWorkflow"  # by name: the API never imports workflow or activity code
TEST_SEND_TIMEOUT = timedelta(seconds=60)
SORTS = {
    "updated": (col(Template.updated_at).desc(), col(Template.id).desc()),
    "name": (func.lower(Template.name).asc(), col(Template.id).asc()),
    "created": (col(Template.id).desc(),),
}


def _summary_fields(template: Template, updated_by: str | None) -> dict[str, Any]:
    fields = service.content_fields(template)
    return {
        "id": template.id,
        "name": template.name,
        "channel": template.channel,
        "folder_id": template.folder_id,
        "description": template.description,
        "subject": template.subject,
        "snippet": service.snippet(template.channel, fields),
        "version": template.version,
        "updated_at": template.updated_at,
        "updated_by": updated_by,
        "thumbnail_media_id": service.first_image_id(fields),
    }


async def template_out(scope: Scope, template: Template) -> TemplateOut:
    names = await service.users_by_id(scope, {template.updated_by_id})
    fields = service.content_fields(template)
    problems = await service.problems_for(scope, template.channel, fields)
    return TemplateOut(
        **_summary_fields(template, names.get(template.updated_by_id)),
        **{name: fields[name] for name in CONTENT_FIELDS if name != "subject"},
        created_at=template.created_at,
        problems=[service.problem_out(p) for p in problems],
    )


async def _check_folder(scope: Scope, folder_id: int | None) -> None:
    if folder_id is not None and await scope.find(TemplateFolder, folder_id) is None:
        raise ApiError(422, f"folder_id: folder {folder_id} does not exist", field="folder_id")


@router.get("", response_model=Page[TemplateSummary], **guard(Permission.workspace_read))
async def list_templates(
    scope: ScopeDep,
    page: PageParamsDep,
    channel: Literal["email", "sms", "whatsapp", "social"] | None = None,
    folder_id: int | None = Query(None, description="0 lists the templates in no folder"),
    sort: Literal["updated", "name", "created"] = "updated",
) -> Page[TemplateSummary]:
    """The library: filter by channel and folder; `search` matches the name, subject, description and text."""
    conditions: list[Any] = [scope.where(Template)]
    if channel:
        conditions.append(Template.channel == channel)
    if folder_id is not None:
        conditions.append(col(Template.folder_id).is_(None) if folder_id == 0 else Template.folder_id == folder_id)
    if page.search:
        pattern = f"%{like_escape(page.search)}%"
        conditions.append(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (col(Template.name), col(Template.subject), col(Template.description))
                ),
                col(Template.body_text).ilike(pattern, escape="\\"),
            )
        )
    query = select(Template, User.name, User.email).outerjoin(User, col(User.id) == col(Template.updated_by_id))

    def item(row: Any) -> TemplateSummary:
        template, name, email = row
        return TemplateSummary(**_summary_fields(template, name or email))

    return await paginate(scope.session, query, page, SORTS[sort], item, where=and_(*conditions))


@router.get("/tokens", response_model=list[TokenOut], **guard(Permission.workspace_read))
async def list_tokens(scope: ScopeDep) -> list[TokenOut]:
    """Every token a template may use, standard and custom fields, for the editor's insertion menu."""
    tokens = await service.catalogue(scope, workspace=await service.workspace_info(scope))
    return [TokenOut(token=t.token, label=t.label, group=t.group, example=t.example) for t in tokens]


@router.post("/check", response_model=CheckOut, **guard(Permission.workspace_read))
async def check_content(body: CheckBody, scope: ScopeDep) -> CheckOut:
    """Template and brand problems of unsaved content, with the SMS or social counters: the editor's live panel.
    Problems are reported, never refused."""
    fields = service.content_fields(body)
    problems = await service.problems_for(scope, body.channel, fields)
    sms, social = service.counters(body.channel, fields)
    return CheckOut(problems=[service.problem_out(p) for p in problems], sms=sms, social=social)


@router.post("/preview", response_model=TemplatePreviewOut, **guard(Permission.workspace_read))
async def preview_content(body: PreviewBody, scope: ScopeDep, settings: SettingsDep) -> TemplatePreviewOut:
    """Render unsaved content for a lead (or the sample lead), as it would be sent."""
    preview, _ = await service.render_for(scope, settings, body.channel, service.content_fields(body), body.lead_id)
    return preview


@router.post("", response_model=TemplateOut, status_code=201, **guard(Permission.templates_write))
async def create_template(body: TemplateCreate, scope: ScopeDep) -> TemplateOut:
    """Creates the template and its version 1. Template errors (syntax, unknown tokens, channel rules) are a 422
    naming the field, with the line and column; brand problems never block a save."""
    fields = service.content_fields(body)
    await _check_folder(scope, body.folder_id)
    await service.validate_for_save(scope, body.channel, fields)
    user_id = scope.context.user_id
    template = scope.add(
        Template(
            name=body.name,
            channel=body.channel,
            folder_id=body.folder_id,
            description=body.description.strip(),
            version=1,
            updated_by_id=user_id,
            **fields,
        )
    )
    await scope.flush_or_conflict(f"a template named {body.name!r} already exists", "name")
    scope.add(TemplateVersion(template_id=template.id, number=1, note=body.note.strip(), author_id=user_id, **fields))
    await scope.session.flush()
    await record_template_usage(scope, template)
    scope.audit("template.created", "template", template.id, after={"name": template.name, "channel": template.channel})
    await scope.session.commit()
    await scope.session.refresh(template)
    return await template_out(scope, template)


@router.get("/{template_id}", response_model=TemplateOut, **guard(Permission.workspace_read))
async def get_template(template_id: int, scope: ScopeDep) -> TemplateOut:
    return await template_out(scope, await scope.get(Template, template_id, "template"))


async def save_version(scope: Scope, template: Template, fields: dict[str, Any], note: str) -> bool:
    """Appends the next version and makes it current; False (and nothing written) when the content is unchanged.
    The caller holds the template's row lock, so two saves never race for a number."""
    if service.same_content(fields, service.content_fields(template)):
        return False
    await service.validate_for_save(scope, template.channel, fields)
    before = template.version
    number = before + 1
    scope.add(
        TemplateVersion(
            template_id=template.id, number=number, note=note.strip(), author_id=scope.context.user_id, **fields
        )
    )
    for name, value in fields.items():
        setattr(template, name, value)
    template.version = number
    template.updated_by_id = scope.context.user_id
    scope.session.add(template)
    await scope.session.flush()
    await record_template_usage(scope, template)
    scope.audit(
        "template.version_saved",
        "template",
        template.id,
        before={"version": before},
        after={"version": number, "note": note.strip()},
    )
    return True


@router.put("/{template_id}", response_model=TemplateOut, **guard(Permission.templates_write))
async def update_template(template_id: int, body: TemplateUpdate, scope: ScopeDep) -> TemplateOut:
    """Saves the content as a new immutable version (number + 1); identical content makes no version."""
    template = await scope.get(Template, template_id, "template", for_update=True)
    await save_version(scope, template, service.content_fields(body), body.note)
    await scope.session.commit()
    await scope.session.refresh(template)
    return await template_out(scope, template)


@router.patch("/{template_id}", response_model=TemplateOut, **guard(Permission.templates_write))
async def update_template_details(template_id: int, body: TemplateMetaUpdate, scope: ScopeDep) -> TemplateOut:
    """Name, folder and description: no new version."""
    template = await scope.get(Template, template_id, "template", for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None or changes.get("description", "") is None:
        field = "name" if changes.get("name", "") is None else "description"
        raise ApiError(422, f"{field}: must not be null", field=field)
    if "folder_id" in changes:
        await _check_folder(scope, changes["folder_id"])
    if "description" in changes:
        changes["description"] = changes["description"].strip()
    before = {key: getattr(template, key) for key in changes}
    for key, value in changes.items():
        setattr(template, key, value)
    scope.session.add(template)
    await scope.flush_or_conflict(f"a template named {changes.get('name')!r} already exists", "name")
    scope.audit("template.updated", "template", template.id, before=before, after=changes)
    await scope.session.commit()
    await scope.session.refresh(template)
    return await template_out(scope, template)


@router.delete("/{template_id}", status_code=204, **guard(Permission.templates_write))
async def delete_template(template_id: int, scope: ScopeDep) -> None:
    """Refused (409) while a campaign uses the template (its legacy template, a step or fallback of its flow, or the
    pinned flow of a run in progress): its runs send a version of it."""
    template = await scope.get(Template, template_id, "template", for_update=True)
    users = await campaigns_using_template(scope, template_id)
    if users:
        names = ", ".join(repr(c.name) for c in users[:5])
        raise ApiError(409, f"the template is used by campaign {names}", code="in_use")
    await scope.session.execute(
        delete(MediaUsage).where(MediaUsage.usage_type == "template", MediaUsage.usage_id == template_id)
    )
    scope.audit(
        "template.deleted", "template", template_id, before={"name": template.name, "version": template.version}
    )
    await scope.session.delete(template)
    await scope.session.commit()


@router.get("/{template_id}/versions", response_model=list[VersionSummary], **guard(Permission.workspace_read))
async def list_versions(template_id: int, scope: ScopeDep) -> list[VersionSummary]:
    """The history, newest first."""
    await scope.get(Template, template_id, "template")
    versions = (
        await scope.session.exec(
            scope.select(TemplateVersion)
            .where(TemplateVersion.template_id == template_id)
            .order_by(col(TemplateVersion.number).desc())
        )
    ).all()
    names = await service.users_by_id(scope, {v.author_id for v in versions})
    return [
        VersionSummary(number=v.number, note=v.note, author=names.get(v.author_id), created_at=v.created_at)
        for v in versions
    ]


async def get_version(scope: Scope, template_id: int, number: int, field: str | None = None) -> TemplateVersion:
    version = (
        await scope.session.exec(
            scope.select(TemplateVersion).where(
                TemplateVersion.template_id == template_id, TemplateVersion.number == number
            )
        )
    ).one_or_none()
    if version is None:
        message = f"template {template_id} has no version {number}"
        raise ApiError(422, f"{field}: {message}", field=field) if field else ApiError(404, message)
    return version


@router.get("/{template_id}/versions/{number}", response_model=TemplateVersionOut, **guard(Permission.workspace_read))
async def read_version(template_id: int, number: int, scope: ScopeDep) -> TemplateVersionOut:
    await scope.get(Template, template_id, "template")
    version = await get_version(scope, template_id, number)
    names = await service.users_by_id(scope, {version.author_id})
    return TemplateVersionOut(
        number=version.number,
        note=version.note,
        author=names.get(version.author_id),
        created_at=version.created_at,
        **service.content_fields(version),
    )


@router.post(
    "/{template_id}/versions/{number}/restore", response_model=TemplateOut, **guard(Permission.templates_write)
)
async def restore_version(
    template_id: int, number: int, scope: ScopeDep, body: RestoreBody | None = None
) -> TemplateOut:
    """Rollback: a new version equal to version N (history is never rewritten)."""
    template = await scope.get(Template, template_id, "template", for_update=True)
    version = await get_version(scope, template_id, number)
    note = body.note if body and body.note else f"Rolled back to version {number}"
    await save_version(scope, template, service.content_fields(version), note)
    await scope.session.commit()
    await scope.session.refresh(template)
    return await template_out(scope, template)


async def _version_fields(scope: Scope, template: Template, number: int | None) -> tuple[int, dict[str, Any]]:
    if number is None or number == template.version:
        return template.version, service.content_fields(template)
    return number, service.content_fields(await get_version(scope, template.id, number, field="version"))


@router.post("/{template_id}/preview", response_model=TemplatePreviewOut, **guard(Permission.workspace_read))
async def preview_template(
    template_id: int, scope: ScopeDep, settings: SettingsDep, body: TemplatePreviewBody | None = None
) -> TemplatePreviewOut:
    """Render a version (default: current) for a lead (or the sample lead) per channel, as it would be sent."""
    body = body or TemplatePreviewBody()
    template = await scope.get(Template, template_id, "template")
    _, fields = await _version_fields(scope, template, body.version)
    preview, _ = await service.render_for(scope, settings, template.channel, fields, body.lead_id)
    return preview


async def _recipients(scope: Scope, channel: str, to: list[str]) -> list[str]:
    clean: list[str] = []
    workspace = await scope.session.get(Workspace, scope.workspace_id)
    for index, raw in enumerate(to):
        value = raw.strip()
        field = f"to[{index}]"
        if channel == "email":
            local, at, domain = value.rpartition("@")
            if not at or not local or "." not in domain or any(ch.isspace() or ch in '<>,;"' for ch in value):
                raise ApiError(422, f"{field}: not an email address: {raw!r}", field=field)
            value = normalise_email(value)
        elif channel in ("sms", "whatsapp"):
            try:
                value, _ = normalise_phone(value, workspace.default_region if workspace else "US")
            except ContactError as exc:
                raise ApiError(422, f"{field}: not a valid phone number: {raw!r}", field=field) from exc
        elif not value or len(value) > 200:
            raise ApiError(422, f"{field}: name the account to post to (at most 200 characters)", field=field)
        clean.append(value)
    return list(dict.fromkeys(clean))


@router.post("/{template_id}/test-send", response_model=TestSendOut, **guard(Permission.templates_write))
async def test_send(
    template_id: int, body: TestSendBody, scope: ScopeDep, settings: SettingsDep, client: TemporalDep
) -> TestSendOut:
    """Send one version (default: current) to up to five addresses through the template's real channel, marked as
    a test ("[Test]" subject, `X-Herald-Test: 1`). Test sends are audited, never recorded as deliveries."""
    template = await scope.get(Template, template_id, "template")
    number, fields = await _version_fields(scope, template, body.version)
    to = await _recipients(scope, template.channel, body.to)
    await service.render_for(scope, settings, template.channel, fields, body.lead_id)  # 422 before anything is sent
    workflow_id = test_send_workflow_id(template_id, uuid.uuid4().hex)
    payload = TestSendInput(
        workspace_id=scope.workspace_id,
        template_id=template_id,
        version=number,
        to=to,
        lead_id=body.lead_id,
        test_id=workflow_id,
    )
    try:
        result: TestSendResult = await asyncio.wait_for(
            client.execute_workflow(
                TEST_SEND_WORKFLOW,
                payload,
                id=workflow_id,
                task_queue=settings.temporal_task_queue,
                result_type=TestSendResult,
            ),
            timeout=TEST_SEND_TIMEOUT.total_seconds(),
        )
    except TimeoutError as exc:
        raise ApiError(504, f"the test send {workflow_id} did not finish in time", code="timeout") from exc
    except Exception as exc:
        raise ApiError(503, f"the test send could not run: {exc}", code="unavailable") from exc
    results = [TestSendResultOut(**r.model_dump()) for r in result.results]
    scope.audit(
        "template.test_sent",
        "template",
        template_id,
        after={
            "version": number,
            "to": to,
            "lead_id": body.lead_id,
            "workflow_id": workflow_id,
            "sent": sum(r.ok for r in results),
            "failed": sum(not r.ok for r in results),
        },
    )
    await scope.session.commit()
    return TestSendOut(workflow_id=workflow_id, results=results)
