"""What an automation graph is checked against: the workspace's templates, lists, members, campaigns and custom
fields, as a `GraphContext` for `domain.automation_graph.validate_graph`.

Only the ids the graph names are looked up, through the same helpers as campaign flows (`template_catalogue`,
`filter_context`, the audience's list lookup), so a template, list, member, campaign or automation of another
workspace simply does not exist here; so with the workspace secrets a webhook's `auth_secret` names. Used by the
builder's stateless check (`POST /api/automations/validate`), the draft's problems (`GET /api/automations/{id}`)
and publishing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlmodel import col, select

from api.campaign_service import _list_refs, template_catalogue
from api.lead_service import filter_context
from api.scoping import Scope
from domain.automation_graph import GraphContext
from models.automations import Automation
from models.campaigns import Campaign
from models.payloads.automation import (
    MAX_ID,
    AddedToListNode,
    AddToListNode,
    AssignOwnerNode,
    AutomationGraph,
    CallWebhookNode,
    CampaignInteractionNode,
    NotifyUserNode,
    RemoveFromListNode,
    SendMessageNode,
    StartAutomationNode,
)
from models.secrets import WorkspaceSecret
from models.workspaces import Membership


def _ids(values: Iterable[int | None]) -> list[int]:
    """The distinct ids that can exist (a bigger one fits no column and exists nowhere), sorted."""
    return sorted({value for value in values if value is not None and 1 <= value <= MAX_ID})


def referenced_ids(graph: AutomationGraph) -> dict[str, list[int]]:
    """The template, list, user, campaign and automation ids the graph's nodes name."""
    templates: list[int] = []
    lists: list[int] = []
    users: list[int | None] = []
    campaigns: list[int | None] = []
    automations: list[int] = []
    for node in graph.nodes:
        if isinstance(node, SendMessageNode):
            templates.append(node.config.template_id)
        elif isinstance(node, AddedToListNode | AddToListNode | RemoveFromListNode):
            lists.append(node.config.list_id)
        elif isinstance(node, AssignOwnerNode):
            users += [node.config.user_id, *node.config.user_ids]
        elif isinstance(node, NotifyUserNode):
            users.append(node.config.user_id)
        elif isinstance(node, CampaignInteractionNode):
            campaigns.append(node.config.campaign_id)
        elif isinstance(node, StartAutomationNode):
            automations.append(node.config.automation_id)
    return {
        "templates": _ids(templates),
        "lists": _ids(lists),
        "users": _ids(users),
        "campaigns": _ids(campaigns),
        "automations": _ids(automations),
    }


async def graph_context(
    scope: Scope,
    graph: AutomationGraph,
    *,
    automation_id: int | None = None,
) -> GraphContext:
    """The caller's workspace as `validate_graph` needs it for this graph; `automation_id`: the automation being
    checked (a `start_automation` node may not name it).

    The secrets it names are read FOR KEY SHARE: a secret being deleted meanwhile is waited for (and then unknown),
    and its deletion waits for a publication that found it (api/routes/secrets.py then sees the new version)."""
    ids = referenced_ids(graph)
    catalogue = await template_catalogue(scope, ids["templates"])
    lists, _missing = await _list_refs(scope, ids["lists"], "lists")
    users: Collection[int] = ()
    if ids["users"]:
        query = select(Membership.user_id).where(scope.where(Membership), col(Membership.user_id).in_(ids["users"]))
        users = set((await scope.session.exec(query)).all())
    campaigns: Collection[int] = ()
    if ids["campaigns"]:
        query = select(Campaign.id).where(scope.where(Campaign), col(Campaign.id).in_(ids["campaigns"]))
        campaigns = {campaign_id for campaign_id in (await scope.session.exec(query)).all() if campaign_id is not None}
    automations: Collection[int] = ()
    if ids["automations"]:
        query = select(Automation.id).where(scope.where(Automation), col(Automation.id).in_(ids["automations"]))
        automations = {found for found in (await scope.session.exec(query)).all() if found is not None}
    secret_names: Collection[str] = ()
    named = {node.config.auth_secret for node in graph.nodes if isinstance(node, CallWebhookNode)}
    if named - {None}:
        secrets = (
            select(WorkspaceSecret.name)
            .where(scope.where(WorkspaceSecret), col(WorkspaceSecret.name).in_(sorted(named - {None})))
            .with_for_update(read=True, key_share=True)
        )
        secret_names = set((await scope.session.exec(secrets)).all())
    return GraphContext(
        filter_context=await filter_context(scope),
        template_channels=catalogue.channels,
        template_versions=catalogue.versions,
        list_kinds={ref.id: ref.kind for ref in lists},
        user_ids=users,
        automation_ids=automations,
        campaign_ids=campaigns,
        secret_names=secret_names,
        automation_id=automation_id,
    )
