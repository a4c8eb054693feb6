"""The automation builder's check of a draft (#10): POST /api/automations/validate answers the problems of a graph,
each on its node, against the caller's workspace (templates, lists, members, campaigns, custom fields)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import get_args

import pytest

from domain.automation_graph import outcomes, parse_graph
from domain.permissions import Role
from models.payloads.automation import Node
from tests.conftest import client_for, make_key, make_tenant
from tests.factories import make_campaign, make_leads

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "automations"
FIXTURE = FIXTURES / "qualified_case_study.json"
URL = "/api/automations/validate"


async def _template(client, name: str, channel: str = "email") -> int:
    payload: dict = {"name": name, "channel": channel}
    if channel == "email":
        payload |= {"subject": f"{name} {{{{ lead.first_name }}}}", "body_html": "<p>Hi {{ lead.first_name }}</p>"}
    else:
        payload |= {"body_text": "Hi {{ lead.first_name }}"}
    response = await client.post("/api/templates", json=payload)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _member(client, email: str) -> int:
    response = await client.post("/api/members", json={"email": email, "name": "Sam", "role": "marketer"})
    assert response.status_code == 201, response.text
    return response.json()["member"]["user_id"]


@pytest.fixture
async def example(api, tenant) -> dict:
    """The issue's example with its template and user ids replaced by ones of the test workspace."""
    graph = json.loads(FIXTURE.read_text())
    email, sms = await _template(api, "Case study"), await _template(api, "Nudge", "sms")
    sales = await _member(api, "sales@example.com")
    nodes = {node["id"]: node for node in graph["nodes"]}
    nodes["case-study"]["config"]["template_id"] = email
    nodes["sms-nudge"]["config"]["template_id"] = sms
    nodes["assign-sales"]["config"]["user_ids"] = [tenant.admin_id, sales]
    return graph


async def _check(client, graph) -> dict:
    response = await client.post(URL, json={"graph": graph})
    assert response.status_code == 200, response.text
    return response.json()


def _found(answer: dict) -> set[tuple[str | None, str, str]]:
    return {(p["node_id"], p["field"], p["code"]) for p in answer["problems"]}


async def test_the_issues_example_is_valid_and_comes_back_normalised(api, example):
    answer = await _check(api, example)
    assert answer["problems"] == []
    assert answer["valid"] is True
    graph = answer["graph"]
    assert [node["id"] for node in graph["nodes"]] == [node["id"] for node in example["nodes"]]
    assert [(e["source"], e["outcome"], e["target"]) for e in graph["edges"]] == [
        (e["source"], e["outcome"], e["target"]) for e in example["edges"]
    ]
    sms = next(node for node in graph["nodes"] if node["id"] == "sms-nudge")
    assert sms["config"]["retry"] == {"max_attempts": 5, "initial_interval_seconds": 30}  # the default, filled in
    assert sms["config"]["template_version"] is None
    assert graph["reentry"] == "once_ever" and graph["goals"][0]["event"]["to_status"] == "won"


async def test_broken_graphs_name_the_node_and_field(api, example):
    # An outcome left unconnected, a zero wait and a version the template does not have: still a 200, not valid.
    broken = copy.deepcopy(example)
    broken["edges"] = [edge for edge in broken["edges"] if edge["id"] != "e9"]
    nodes = {node["id"]: node for node in broken["nodes"]}
    nodes["wait-2d"]["config"]["duration"] = {"days": 0}
    nodes["case-study"]["config"]["template_version"] = 7
    answer = await _check(api, broken)
    assert answer["valid"] is False
    assert _found(answer) == {
        ("wait-click", "outcomes.timeout", "dead_end"),
        ("done", "", "unreachable"),  # e9 was its only way in
        ("wait-2d", "config.duration", "invalid_duration"),
        ("case-study", "config.template_version", "unknown_ref"),
    }
    assert answer["graph"] is not None  # the shape is right: the normalised graph comes back anyway

    # An edge to a node that does not exist, and an outcome a condition does not offer.
    dangling = copy.deepcopy(example)
    dangling["edges"][1]["target"] = "nowhere"
    dangling["edges"].append({"source": "done", "outcome": "next", "target": "notify-owner"})
    found = _found(await _check(api, dangling))
    assert ("wait-2d", "edges[1].target", "no_target") in found
    assert ("done", "outcomes.next", "unknown_outcome") in found
    assert ("case-study", "", "unreachable") in found

    # A shape error: the node is named, no graph comes back.
    shape = copy.deepcopy(example)
    shape["nodes"][2]["config"]["template_id"] = "eleven"
    answer = await _check(api, shape)
    assert answer["valid"] is False and answer["graph"] is None
    assert _found(answer) == {("case-study", "config.template_id", "invalid_shape")}

    # Not even an object: one problem about the automation as a whole.
    answer = await _check(api, ["nodes"])
    assert answer["problems"] == [
        {
            "node_id": None,
            "field": "",
            "message": "an automation must be a JSON object",
            "code": "invalid_shape",
            "severity": "error",
        }
    ]
    assert (await api.post(URL, json={})).status_code == 422  # no graph at all is a malformed request


async def test_references_are_checked_against_the_callers_workspace_only(app, api, db, example):
    other = await make_tenant(db, "Other", "admin@other.test")
    async with client_for(app, other.admin_key) as stranger:
        foreign_template = await _template(stranger, "Theirs")
        foreign_list = (await stranger.post("/api/lists", json={"name": "Theirs"})).json()["id"]
    foreign_campaign = await make_campaign(db, None, workspace_id=other.workspace_id)
    graph = copy.deepcopy(example)
    nodes = {node["id"]: node for node in graph["nodes"]}
    nodes["case-study"]["config"]["template_id"] = foreign_template
    nodes["assign-sales"]["config"]["user_ids"].append(other.admin_id)
    graph["nodes"].append(
        {"id": "listed", "type": "added_to_list", "config": {"list_id": foreign_list}, "position": {"x": 500, "y": 0}}
    )
    graph["nodes"].append(
        {
            "id": "clicked",
            "type": "campaign_interaction",
            "config": {"interaction": "clicked", "campaign_id": foreign_campaign},
        }
    )
    graph["edges"] += [
        {"source": "listed", "outcome": "next", "target": "wait-2d"},
        {"source": "clicked", "outcome": "next", "target": "wait-2d"},
    ]
    answer = await _check(api, graph)
    assert answer["valid"] is False
    assert _found(answer) == {
        ("case-study", "config.template_id", "unknown_ref"),
        ("assign-sales", "config.user_ids[2]", "unknown_ref"),
        ("listed", "config.list_id", "unknown_ref"),
        ("clicked", "config.campaign_id", "unknown_ref"),
    }
    messages = {p["node_id"]: p["message"] for p in answer["problems"]}
    assert messages["case-study"] == f"template {foreign_template} does not exist"
    assert messages["assign-sales"] == f"user {other.admin_id} is not a member of this workspace"


async def test_lists_campaigns_channels_and_custom_fields_of_the_workspace(api, db, example):
    custom = {"key": "industry", "label": "Industry", "type": "choice", "choices": ["saas", "retail"]}
    assert (await api.post("/api/custom-fields", json=custom)).status_code == 201
    leads = await make_leads(db, 2)
    static = (await api.post("/api/lists", json={"name": "Static", "lead_ids": leads})).json()["id"]
    dynamic_filter = {"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "won"}]}
    dynamic = await api.post("/api/lists", json={"name": "Won", "kind": "dynamic", "filter": dynamic_filter})
    assert dynamic.status_code == 201, dynamic.text
    campaign = await make_campaign(db, leads)
    graph = copy.deepcopy(example)
    nodes = {node["id"]: node for node in graph["nodes"]}
    saas = {"combinator": "and", "rules": [{"field": "custom.industry", "operator": "=", "value": "saas"}]}
    nodes["qualified"]["config"]["filter"] = saas
    graph["nodes"] += [
        {
            "id": "clicked",
            "type": "campaign_interaction",
            "config": {"interaction": "clicked", "campaign_id": campaign},
        },
        {"id": "keep", "type": "add_to_list", "config": {"list_id": static}},
        {"id": "watch", "type": "added_to_list", "config": {"list_id": dynamic.json()["id"]}},
    ]
    graph["edges"] += [
        {"source": "clicked", "outcome": "next", "target": "wait-2d"},
        {"source": "watch", "outcome": "next", "target": "wait-2d"},
        {"source": "notify-owner", "outcome": "next", "target": "keep"},
    ]
    answer = await _check(api, graph)
    assert answer["valid"] is True  # a dynamic list on a trigger is a warning only
    assert _found(answer) == {("watch", "config.list_id", "dynamic_list")}
    assert answer["problems"][0]["severity"] == "warning"

    # An unknown custom field in a filter, a dynamic list changed by an action, a template of the wrong channel
    nodes["qualified"]["config"]["filter"]["rules"][0]["field"] = "custom.sector"
    next(n for n in graph["nodes"] if n["id"] == "keep")["config"]["list_id"] = dynamic.json()["id"]
    nodes["sms-nudge"]["config"]["template_id"] = nodes["case-study"]["config"]["template_id"]
    found = _found(await _check(api, graph))
    assert ("qualified", "config.filter.rules[0].field", "invalid_filter") in found
    assert ("keep", "config.list_id", "dynamic_list") in found
    assert ("sms-nudge", "config.template_id", "wrong_channel") in found


@pytest.mark.parametrize(("role", "status"), [(Role.viewer, 403), (Role.marketer, 200)], ids=str)
async def test_checking_a_draft_takes_the_right_to_edit_campaigns(app, db, tenant, example, role, status):
    key = await make_key(db, tenant.workspace_id, role)
    async with client_for(app, key) as client:
        response = await client.post(URL, json={"graph": example})
    assert response.status_code == status, response.text
    if status == 403:
        assert "campaigns:write" in response.json()["message"]
    else:
        assert response.json()["valid"] is True


def test_the_builders_outcome_table_matches_the_domain():
    """tests/fixtures/automations/outcomes.json is what the UI's outcomes.ts is tested against (outcomes.test.ts):
    one node of every type, with its category and outcomes as domain.automation_graph gives them."""
    table = json.loads((FIXTURES / "outcomes.json").read_text())["nodes"]
    every_type = {get_args(cls.model_fields["type"].annotation)[0] for cls in get_args(get_args(Node)[0])}
    assert sorted(row["type"] for row in table) == sorted(every_type)
    for row in table:
        graph, problems = parse_graph({"nodes": [{"id": "n", "type": row["type"], "config": row["config"]}]})
        assert problems == [] and graph is not None, row
        node = graph.nodes[0]
        found = outcomes(node)
        assert (node.category, list(found.required), list(found.optional)) == (
            row["category"],
            row["required"],
            row["optional"],
        ), row["type"]
