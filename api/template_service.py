"""What the template routes and campaign launch share: content → problems (template and brand), previews,
the token catalogue and the workspace's brand guidelines.

Rendering and the checks themselves are pure domain functions; this module gathers what they need from the
database (custom fields, guidelines, image weights, the lead) through a `Scope`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import col, select

from api.errors import ApiError
from api.schemas_templates import PreviewLead, SmsInfo, SocialLength, TemplatePreviewOut, TemplateProblemOut
from api.scoping import Scope
from core.settings import Settings
from core.signing import ORIGINAL, media_reference, media_url_rewriter, preview_unsubscribe_url, public_media_url
from domain import brand_rules
from domain.rendering import CompiledTemplate, MessageContent, TemplateError, message_context, sample_lead
from domain.sms_segments import count_sms
from domain.social_limits import social_lengths
from domain.template_tokens import TemplateProblem, Token, check_template, token_catalogue
from models.leads import CustomFieldDefinition, Lead
from models.media import MediaAsset, MediaStatus
from models.templates import CONTENT_FIELDS, BrandGuidelines
from models.workspaces import User, Workspace

LIST_FIELDS = ("media_ids", "social_networks")
PART_FIELDS = {"subject": "subject", "preheader": "preheader", "html": "body_html", "text": "body_text"}
LEAD_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "status",
    "country",
    "locale",
    "timezone",
    "source",
    "score",
    "tags",
    "custom_fields",
)
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_MEDIA_REF = re.compile(r"/api/media/(\d+)/file|\bmedia:(\d+)")


def content_fields(source: Any) -> dict[str, Any]:
    """The content fields of a template, a version or a request body."""
    if isinstance(source, Mapping):
        return {name: source.get(name) for name in CONTENT_FIELDS}
    return {name: getattr(source, name) for name in CONTENT_FIELDS}


def _normal(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: list(fields.get(name) or []) if name in LIST_FIELDS else fields.get(name) or "" for name in CONTENT_FIELDS
    }


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return _normal(a) == _normal(b)


def message_content(channel: str, fields: Mapping[str, Any]) -> MessageContent:
    """The domain's view of one version (only the fields MessageContent declares)."""
    accepted = {f.name for f in dataclasses.fields(MessageContent)}
    values: dict[str, Any] = {"channel": channel}
    for name in CONTENT_FIELDS:
        if name in accepted:
            value = fields.get(name)
            values[name] = tuple(value) if isinstance(value, list) else (value if value is not None else "")
    return MessageContent(**values)


def first_image_id(fields: Mapping[str, Any]) -> int | None:
    """The library image a card shows for a template: the first in the body, else the first attached."""
    match = _MEDIA_REF.search(fields.get("body_html") or "")
    if match:
        return int(match.group(1) or match.group(2))
    media = fields.get("media_ids") or []
    return media[0] if media else None


def snippet(channel: str, fields: Mapping[str, Any], size: int = 140) -> str:
    text = fields.get("body_text") or ""
    if channel == "email" and not text.strip():
        text = re.sub(r"<[^>]+>", " ", fields.get("body_html") or "")
    return " ".join(text.split())[:size]


async def custom_fields(scope: Scope) -> list[CustomFieldDefinition]:
    return list((await scope.session.exec(scope.select(CustomFieldDefinition))).all())


async def catalogue(
    scope: Scope, definitions: list[CustomFieldDefinition] | None = None, *, workspace: dict[str, str] | None = None
) -> list[Token]:
    """The tokens templates may use; `workspace` (name, postal address) only sharpens the examples."""
    definitions = definitions if definitions is not None else await custom_fields(scope)
    fields = [(d.key, d.label, d.type, list(d.choices or [])) for d in definitions]
    return token_catalogue(fields, workspace=workspace)


async def brand_row(scope: Scope) -> BrandGuidelines | None:
    return await scope.session.get(BrandGuidelines, scope.workspace_id)


def guidelines_of(row: BrandGuidelines) -> brand_rules.BrandGuidelines:
    return brand_rules.BrandGuidelines(
        colors=tuple(row.colors or ()),
        fonts=tuple(row.fonts or ()),
        logo_media_id=row.logo_media_id,
        require_footer=row.require_footer,
        postal_address=row.postal_address or "",
        banned_phrases=tuple(row.banned_phrases or ()),
        link_domains=tuple(row.link_domains or ()),
        max_image_bytes=row.max_image_bytes,
    )


def sent_variant(asset: MediaAsset) -> str:
    """The rendition a message carries for an attached asset: the web image when there is one."""
    return "web" if asset.kind == "image" and "web" in (asset.variants or {}) else ORIGINAL


def _variant_size(asset: MediaAsset, variant: str) -> int:
    info = (asset.variants or {}).get(variant) if variant != ORIGINAL else None
    return int(info.get("size") or 0) if info else int(asset.size_bytes)


async def _assets(scope: Scope, ids: set[int]) -> dict[int, MediaAsset]:
    if not ids:
        return {}
    rows = await scope.session.exec(scope.select(MediaAsset).where(col(MediaAsset.id).in_(ids)))
    return {asset.id: asset for asset in rows.all()}


async def image_bytes(scope: Scope, channel: str, fields: Mapping[str, Any]) -> dict[int, int]:
    """Asset id → bytes of the rendition the message sends (body images for email, attachments otherwise)."""
    refs: list[tuple[int, str]] = []
    if channel == "email":
        for match in _IMG_SRC.finditer(fields.get("body_html") or ""):
            ref = media_reference(next(group for group in match.groups() if group is not None))
            if ref:
                refs.append(ref)
    assets = await _assets(scope, {asset_id for asset_id, _ in refs} | set(fields.get("media_ids") or []))
    weights: dict[int, int] = {}
    for asset_id, variant in refs:
        if asset_id in assets:
            weights.setdefault(asset_id, _variant_size(assets[asset_id], variant))
    for asset_id in fields.get("media_ids") or []:
        if asset_id in assets:
            weights.setdefault(asset_id, _variant_size(assets[asset_id], sent_variant(assets[asset_id])))
    return weights


async def check_media_ids(scope: Scope, media_ids: list[int]) -> None:
    """Attached media must be ready assets of this workspace."""
    assets = await _assets(scope, set(media_ids))
    for asset_id in media_ids:
        asset = assets.get(asset_id)
        if asset is None:
            raise ApiError(422, f"media_ids: asset {asset_id} does not exist", field="media_ids")
        if asset.status != MediaStatus.ready.value:
            raise ApiError(422, f"media_ids: asset {asset_id} is {asset.status}, not ready", field="media_ids")


async def problems_for(
    scope: Scope, channel: str, fields: Mapping[str, Any], *, brand: bool = True
) -> list[TemplateProblem]:
    """Template problems (syntax, unknown tokens, channel rules), then brand problems when the workspace has rules."""
    content = message_content(channel, fields)
    found = list(check_template(content, await catalogue(scope)))
    row = await brand_row(scope) if brand else None
    if row is not None:
        weights = await image_bytes(scope, channel, fields)
        found.extend(brand_rules.check_brand(content, guidelines_of(row), image_bytes=weights))
    return found


def problem_out(problem: TemplateProblem) -> TemplateProblemOut:
    return TemplateProblemOut(
        severity=problem.severity,
        rule=problem.rule,
        message=problem.message,
        field=problem.field,
        line=problem.line,
        column=problem.column,
    )


def describe(problem: TemplateProblem) -> str:
    """`body_html: unknown token lead.nope (line 3, column 12)`."""
    where = ""
    if problem.line is not None and f"line {problem.line}" not in problem.message:
        where = f" (line {problem.line}" + (f", column {problem.column}" if problem.column is not None else "") + ")"
    return f"{problem.field}: {problem.message}{where}"


def refuse_errors(problems: list[TemplateProblem]) -> None:
    """422 naming the field of the first error (warnings never block)."""
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ApiError(422, describe(errors[0]) + more, field=errors[0].field)


async def validate_for_save(scope: Scope, channel: str, fields: Mapping[str, Any]) -> None:
    """What blocks a save: template errors and unknown media. Brand problems never do (launch checks them)."""
    await check_media_ids(scope, list(fields.get("media_ids") or []))
    refuse_errors(await problems_for(scope, channel, fields, brand=False))


def lead_mapping(lead: Lead) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in LEAD_FIELDS}


async def workspace_info(scope: Scope, row: BrandGuidelines | None = None) -> dict[str, str]:
    workspace = await scope.session.get(Workspace, scope.workspace_id)
    postal = (row or await brand_row(scope) or BrandGuidelines(workspace_id=scope.workspace_id)).postal_address
    return {"name": workspace.name if workspace else "", "postal_address": postal or ""}


def sms_info(text: str) -> SmsInfo:
    count = count_sms(text)
    return SmsInfo(
        encoding=count.encoding,
        characters=count.characters,
        segments=count.segments,
        per_segment=count.per_segment,
        remaining=count.remaining,
        non_gsm=list(count.non_gsm),
    )


def social_info(text: str, networks: list[str]) -> list[SocialLength]:
    return [SocialLength(**item) for item in social_lengths(text, networks)]


def counters(channel: str, fields: Mapping[str, Any]) -> tuple[SmsInfo | None, list[SocialLength] | None]:
    text = fields.get("body_text") or ""
    sms = sms_info(text) if channel == "sms" else None
    social = social_info(text, list(fields.get("social_networks") or [])) if channel == "social" else None
    return sms, social


async def render_for(
    scope: Scope,
    settings: Settings,
    channel: str,
    fields: Mapping[str, Any],
    lead_id: int | None,
    *,
    campaign: Mapping[str, Any] | None = None,
) -> tuple[TemplatePreviewOut, Any]:
    """Render as a message would be sent (media as public signed links) for a lead of the workspace, or for the
    sample lead. A template that fails to compile or render is a 422 naming the field."""
    definitions = await custom_fields(scope)
    preview_lead: PreviewLead | None = None
    if lead_id is not None:
        lead = await scope.find(Lead, lead_id)
        if lead is None:
            raise ApiError(422, f"lead_id: lead {lead_id} does not exist", field="lead_id")
        lead_data = lead_mapping(lead)
        name = f"{lead.first_name} {lead.last_name}".strip() or lead.email or lead.phone or f"Lead {lead.id}"
        preview_lead = PreviewLead(id=lead.id, name=name)
    else:
        lead_data = sample_lead([(d.key, d.type, list(d.choices or [])) for d in definitions])
    context = message_context(
        lead_data,
        custom_keys=[d.key for d in definitions],
        workspace=await workspace_info(scope),
        campaign=campaign,
        unsubscribe_url=preview_unsubscribe_url(settings),
    )
    try:
        compiled = CompiledTemplate(message_content(channel, fields))
        rendered = await asyncio.to_thread(compiled.render, context, rewrite_url=media_url_rewriter(settings))
    except TemplateError as exc:
        field = PART_FIELDS.get(exc.part, "body_text")
        raise ApiError(422, f"{field}: {_template_error_text(exc)}", field=field) from exc
    assets = await _assets(scope, set(fields.get("media_ids") or []))
    media_urls = [
        public_media_url(settings, asset_id, sent_variant(assets[asset_id]))
        for asset_id in fields.get("media_ids") or []
        if asset_id in assets
    ]
    sms, social = counters(channel, {**fields, "body_text": rendered.text})
    preview = TemplatePreviewOut(
        channel=channel,
        lead=preview_lead,
        subject=rendered.subject,
        preheader=rendered.preheader,
        html=rendered.html,
        text=rendered.text,
        sms=sms,
        social=social,
        media_urls=media_urls,
    )
    return preview, rendered


def _template_error_text(exc: TemplateError) -> str:
    """`unknown filter 'nope' (line 2, column 5)`."""
    message = getattr(exc, "message", None) or str(exc)
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    if line:
        message += f" (line {line}" + (f", column {column}" if column else "") + ")"
    return message


async def users_by_id(scope: Scope, ids: set[int | None]) -> dict[int, str]:
    """Display names (name, else email) of the given users."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await scope.session.exec(select(User.id, User.name, User.email).where(col(User.id).in_(wanted)))
    return {user_id: (name or email) for user_id, name, email in rows.all()}
