"""Which templates and campaigns use an asset: kept when a template is saved, read before an asset is deleted."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete
from sqlmodel import col, select

from api.schemas_media import MediaUser
from api.scoping import Scope
from domain.media_types import media_references
from models.campaigns import Campaign
from models.media import MediaAsset, MediaUsage
from models.templates import Template, TemplateVersion


async def record_template_usage(scope: Scope, template: Template) -> None:
    """Replaces the template's usage rows with the assets any of its versions references (embedded in a body or
    attached), this workspace's only: an old version a campaign pins keeps its images in use."""
    versions = (
        await scope.session.exec(
            select(
                TemplateVersion.subject, TemplateVersion.body_html, TemplateVersion.body_text, TemplateVersion.media_ids
            ).where(TemplateVersion.template_id == template.id, scope.where(TemplateVersion))
        )
    ).all()
    ids = media_references(template.subject, template.body_html, template.body_text) | set(template.media_ids or [])
    for subject, body_html, body_text, media_ids in versions:
        ids |= media_references(subject, body_html, body_text) | set(media_ids or [])
    await scope.session.execute(
        delete(MediaUsage).where(MediaUsage.usage_type == "template", MediaUsage.usage_id == template.id)
    )
    if ids:
        owned = (
            await scope.session.exec(select(MediaAsset.id).where(scope.where(MediaAsset), col(MediaAsset.id).in_(ids)))
        ).all()
        for asset_id in owned:
            scope.session.add(MediaUsage(asset_id=asset_id, usage_type="template", usage_id=template.id))


async def media_users(scope: Scope, asset_ids: list[int]) -> dict[int, list[MediaUser]]:
    """Per asset: the templates referencing it and the campaigns sending those templates."""
    if not asset_ids:
        return {}
    rows = (
        await scope.session.exec(
            select(MediaUsage.asset_id, Template.id, Template.name)
            .join(Template, Template.id == MediaUsage.usage_id)
            .where(MediaUsage.usage_type == "template", col(MediaUsage.asset_id).in_(asset_ids), scope.where(Template))
        )
    ).all()
    users: dict[int, list[MediaUser]] = defaultdict(list)
    by_template: dict[int, list[int]] = defaultdict(list)
    for asset_id, template_id, name in rows:
        users[asset_id].append(MediaUser(type="template", id=template_id, name=name))
        by_template[template_id].append(asset_id)
    if by_template:
        campaigns = (
            await scope.session.exec(
                select(Campaign.id, Campaign.name, Campaign.template_id).where(
                    scope.where(Campaign), col(Campaign.template_id).in_(list(by_template))
                )
            )
        ).all()
        for campaign_id, name, template_id in campaigns:
            for asset_id in by_template[template_id]:
                users[asset_id].append(MediaUser(type="campaign", id=campaign_id, name=name))
    return dict(users)
