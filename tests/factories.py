"""Test data written straight to the database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from models.campaigns import Campaign
from models.leads import Lead
from models.lists import LeadList, ListMember
from models.templates import Template, TemplateVersion


async def _workspace(session: AsyncSession, workspace_id: int | None) -> int:
    """The given workspace, or the first one (most tests have a single tenant)."""
    if workspace_id is not None:
        return workspace_id
    found = (await session.execute(text("SELECT min(id) FROM workspaces"))).scalar_one()
    assert found is not None, "create a workspace first (the `tenant` fixture does)"
    return found


async def make_leads(
    sessions: async_sessionmaker[AsyncSession],
    count: int,
    *,
    prefix: str = "lead",
    workspace_id: int | None = None,
    **overrides,
) -> list[int]:
    async with sessions() as session:
        workspace_id = await _workspace(session, workspace_id)
        leads = [
            Lead(
                workspace_id=workspace_id,
                email=f"{prefix}{n}@example.com",
                first_name=f"First{n}",
                last_name=f"Last{n}",
                **{"consent_email": "granted", **overrides},
            )
            for n in range(count)
        ]
        session.add_all(leads)
        await session.commit()
        return [lead.id for lead in leads]


async def make_campaign(
    sessions: async_sessionmaker[AsyncSession],
    lead_ids: list[int] | None,
    *,
    subject: str = "Hello {{ lead.first_name }}",
    body_html: str = "<p>Hi {{ lead.first_name }} {{ lead.last_name }}</p>",
    body_text: str = "Hi {{ lead.first_name }} {{ lead.last_name }}",
    name: str = "Test campaign",
    workspace_id: int | None = None,
) -> int:
    """A campaign to a list of the given leads (or to every lead when lead_ids is None), pinning version 1 of a new
    template with the given content."""
    async with sessions() as session:
        workspace_id = await _workspace(session, workspace_id)
        count = (await session.execute(text("SELECT count(*) FROM templates"))).scalar_one()
        template = Template(
            workspace_id=workspace_id, name=f"tpl-{count}", subject=subject, body_html=body_html, body_text=body_text
        )
        session.add(template)
        await session.flush()
        version = TemplateVersion(
            workspace_id=workspace_id,
            template_id=template.id,
            number=1,
            subject=subject,
            body_html=body_html,
            body_text=body_text,
        )
        session.add(version)
        list_id = None
        if lead_ids is not None:
            lst = LeadList(workspace_id=workspace_id, name=f"list-{count}")
            session.add(lst)
            await session.flush()
            session.add_all([ListMember(list_id=lst.id, lead_id=i) for i in lead_ids])
            list_id = lst.id
        await session.flush()
        campaign = Campaign(
            workspace_id=workspace_id,
            name=name,
            template_id=template.id,
            template_version_id=version.id,
            list_id=list_id,
        )
        session.add(campaign)
        await session.commit()
        return campaign.id
