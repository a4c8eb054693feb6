"""The workspace's brand guidelines: what the validator checks templates against, and what blocks a launch."""

from __future__ import annotations

import re

from fastapi import APIRouter

from api.context import guard
from api.errors import ApiError
from api.schemas_templates import BrandIn, BrandOut
from api.scoping import Scope, ScopeDep
from domain.permissions import Permission
from models.media import MediaAsset
from models.templates import BrandGuidelines

router = APIRouter(prefix="/api/brand", tags=["templates"])
_HEX = re.compile(r"^#(?:[0-9a-f]{3}|[0-9a-f]{6})$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_FONT = re.compile(r"^[\w][\w .'-]{0,99}$", re.UNICODE)


def _out(row: BrandGuidelines | None) -> BrandOut:
    if row is None:
        return BrandOut(configured=False, updated_at=None)
    return BrandOut(
        colors=row.colors,
        fonts=row.fonts,
        logo_media_id=row.logo_media_id,
        require_footer=row.require_footer,
        postal_address=row.postal_address,
        banned_phrases=row.banned_phrases,
        link_domains=row.link_domains,
        max_image_bytes=row.max_image_bytes,
        configured=True,
        updated_at=row.updated_at,
    )


def _clean_list(values: list[str], field: str, valid: re.Pattern[str], what: str, lower: bool = True) -> list[str]:
    clean: list[str] = []
    for index, raw in enumerate(values):
        value = " ".join(raw.split())
        value = value.lower() if lower else value
        if not valid.match(value):
            raise ApiError(422, f"{field}[{index}]: {raw!r} is not {what}", field=f"{field}[{index}]")
        clean.append(value)
    return list(dict.fromkeys(clean))


def _clean_domain(raw: str) -> str:
    value = raw.strip().lower()
    for prefix in ("https://", "http://", "*."):
        value = value.removeprefix(prefix)
    return value.split("/", 1)[0]


async def _clean(scope: Scope, body: BrandIn) -> dict:
    if body.logo_media_id is not None:
        logo = await scope.find(MediaAsset, body.logo_media_id)
        if logo is None or logo.kind != "image":
            raise ApiError(422, f"logo_media_id: image {body.logo_media_id} does not exist", field="logo_media_id")
    phrases = []
    for index, raw in enumerate(body.banned_phrases):
        phrase = " ".join(raw.split())
        if not phrase or len(phrase) > 200:
            field = f"banned_phrases[{index}]"
            raise ApiError(422, f"{field}: a phrase has 1 to 200 characters", field=field)
        phrases.append(phrase)
    postal = body.postal_address.strip()
    if body.require_footer and not postal:
        raise ApiError(
            422, "postal_address: required while emails must carry the footer (require_footer)", field="postal_address"
        )
    return {
        "colors": _clean_list(body.colors, "colors", _HEX, "a colour like #1a2b3c"),
        "fonts": _clean_list(body.fonts, "fonts", _FONT, "a font family name", lower=False),
        "logo_media_id": body.logo_media_id,
        "require_footer": body.require_footer,
        "postal_address": postal,
        "banned_phrases": list(dict.fromkeys(phrases)),
        "link_domains": _clean_list(
            [_clean_domain(d) for d in body.link_domains], "link_domains", _DOMAIN, "a domain name like example.com"
        ),
        "max_image_bytes": body.max_image_bytes,
    }


@router.get("", response_model=BrandOut, **guard(Permission.workspace_read))
async def get_brand(scope: ScopeDep) -> BrandOut:
    """`configured: false` until saved once: until then no brand rule applies."""
    return _out(await scope.session.get(BrandGuidelines, scope.workspace_id))


@router.put("", response_model=BrandOut, **guard(Permission.settings_manage))
async def put_brand(body: BrandIn, scope: ScopeDep) -> BrandOut:
    values = await _clean(scope, body)
    row = await scope.session.get(BrandGuidelines, scope.workspace_id, with_for_update=True)
    before = _out(row).model_dump(exclude={"updated_at", "configured"}) if row else None
    if row is None:
        row = BrandGuidelines(workspace_id=scope.workspace_id)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_by_id = scope.context.user_id
    scope.session.add(row)
    await scope.flush_or_conflict("the guidelines were saved at the same moment; load them and try again", "brand")
    scope.audit("brand.updated", "brand", scope.workspace_id, before=before, after=values)
    await scope.session.commit()
    await scope.session.refresh(row)
    return _out(row)
