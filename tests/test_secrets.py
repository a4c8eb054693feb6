"""Workspace secrets (#10): the API stores values sealed and never returns them (nor audits them), names and values
are validated, each workspace sees its own, a secret a published automation uses cannot be deleted, the builder's
check knows the workspace's secrets, and a journey's webhook sends the value as its Authorization header."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text

from core.secrets import SecretBox, SecretUnavailable, read_secret, secrets_key
from domain.permissions import Role
from tests.conftest import client_for, make_key, make_tenant
from tests.factories import make_leads
from tests.test_campaign_flow_engine import time_env  # noqa: F401  (fixture)
from tests.test_journeys import (
    edge,
    external,
    hooks,  # noqa: F401  (fixture)
    journeys,
    make_automation,
    node,
    result,
    started_on,
    steps,
    trigger,
    worker_on_time_env,  # noqa: F401  (fixture)
)

URL = "/api/secrets"
VALUE = "Bearer s3cr3t-xyz-0123456789"


async def put(client, name: str, value: str = VALUE) -> Any:
    return await client.put(f"{URL}/{name}", json={"value": value})


async def stored(db, name: str) -> list[Any]:
    async with db() as session:
        found = await session.execute(
            text("SELECT workspace_id, sealed_value, created_at, updated_at, last_used_at FROM workspace_secrets "
                 "WHERE name = :n ORDER BY workspace_id"),
            {"n": name},
        )  # fmt: skip
        return list(found)


async def audit_rows(db) -> list[Any]:
    async with db() as session:
        found = await session.execute(
            text("SELECT action, entity_type, before, after FROM audit_log WHERE entity_type = 'workspace_secret' "
                 "ORDER BY id")
        )  # fmt: skip
        return list(found)


def webhook_graph(url: str, secret: str) -> dict[str, Any]:
    return {
        "nodes": [
            node("go", "external_event", event="go"),
            node("hook", "call_webhook", url=url, body="{}", auth_secret=secret),
            node("missed", "add_tag", tag="webhook-missed"),
        ],
        "edges": [edge("go", "hook"), edge("hook", "missed", "fallback")],
    }


# --- The store ----------------------------------------------------------------------------------------------------


async def test_secrets_are_set_replaced_listed_and_deleted_without_their_values_coming_back(api, db, settings):
    created = await put(api, "crm.token")
    assert created.status_code == 201, created.text
    assert set(created.json()) == {"name", "created_at", "updated_at", "last_used_at", "created_by_email"}
    assert created.json()["name"] == "crm.token" and created.json()["last_used_at"] is None

    replaced = await put(api, "crm.token", "Bearer replaced-value-42")
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["created_at"] == created.json()["created_at"]
    assert replaced.json()["updated_at"] > created.json()["updated_at"]
    assert (await put(api, "another_one", "Basic dXNlcjpwYXNz")).status_code == 201

    listed = await api.get(URL)
    assert listed.status_code == 200
    assert [item["name"] for item in listed.json()] == ["another_one", "crm.token"]
    for answer in (created, replaced, listed):
        assert "s3cr3t" not in answer.text and "replaced-value" not in answer.text and "dXNlcjpwYXNz" not in answer.text

    # Only the latest value is kept, sealed.
    ((workspace_id, sealed, *_),) = await stored(db, "crm.token")
    box = SecretBox.from_settings(settings)
    assert box.open(workspace_id, "crm.token", sealed) == "Bearer replaced-value-42"

    deleted = await api.delete(f"{URL}/crm.token")
    assert deleted.status_code == 204, deleted.text
    assert [item["name"] for item in (await api.get(URL)).json()] == ["another_one"]
    gone = await api.delete(f"{URL}/crm.token")
    assert gone.status_code == 404 and gone.json()["field"] == "name"

    audit = await audit_rows(db)
    assert [row.action for row in audit] == ["secret.created", "secret.replaced", "secret.created", "secret.deleted"]
    assert audit[0].after == {"name": "crm.token"} and audit[-1].before == {"name": "crm.token"}
    assert all("s3cr3t" not in str(row) and "replaced-value" not in str(row) for row in audit)
    async with db() as session:
        whole_log = (await session.execute(text("SELECT string_agg(t::text, '') FROM audit_log t"))).scalar_one()
    assert "s3cr3t" not in whole_log and "replaced-value" not in whole_log and "dXNlcjpwYXNz" not in whole_log


async def test_values_are_encrypted_at_rest_bound_to_their_workspace_and_name(api, db, settings):
    assert (await put(api, "at-rest")).status_code == 201
    ((workspace_id, sealed, *_),) = await stored(db, "at-rest")
    sealed = bytes(sealed)
    assert VALUE.encode() not in sealed and b"s3cr3t" not in sealed
    async with db() as session:
        as_text = (
            await session.execute(text("SELECT encode(sealed_value, 'escape') FROM workspace_secrets"))
        ).scalar_one()
    assert "s3cr3t" not in as_text

    box = SecretBox.from_settings(settings)
    assert box.open(workspace_id, "at-rest", sealed) == VALUE
    # Sealing twice gives two ciphertexts (a fresh nonce each time).
    assert box.seal(workspace_id, "at-rest", VALUE) != box.seal(workspace_id, "at-rest", VALUE)
    # Copied to another name or workspace, or opened under another SECRET_KEY, it does not open.
    with pytest.raises(SecretUnavailable, match="'other'"):
        box.open(workspace_id, "other", sealed)
    with pytest.raises(SecretUnavailable):
        box.open(workspace_id + 1, "at-rest", sealed)
    other_install = SecretBox(secrets_key(settings.model_copy(update={"secret_key": "another"}).signing_key))
    with pytest.raises(SecretUnavailable, match="SECRET_KEY"):
        other_install.open(workspace_id, "at-rest", sealed)
    # The key is not the link-signing key itself.
    assert secrets_key(settings.signing_key) != settings.signing_key

    # The worker's read: missing names refused by name, last_used_at stamped (not updated_at).
    async with db() as session:
        assert await read_secret(session, box, workspace_id, "at-rest", touch=True) == VALUE
        await session.commit()
        with pytest.raises(SecretUnavailable, match="'nope' does not exist"):
            await read_secret(session, box, workspace_id, "nope")
    ((_, _, created_at, updated_at, last_used_at),) = await stored(db, "at-rest")
    assert last_used_at is not None and updated_at == created_at


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("has%20space", {"value": VALUE}, "name"),
        ("semi;colon", {"value": VALUE}, "name"),
        ("x" * 101, {"value": VALUE}, "name"),
        ("ok", {"value": ""}, "value"),
        ("ok", {"value": "x" * 4097}, "value"),
        ("ok", {"value": "Bearer abc\r\nX-Injected: 1"}, "value"),
        ("ok", {"value": "Bearer é"}, "value"),
        ("ok", {}, "value"),
        ("ok", {"value": VALUE, "extra": 1}, "extra"),
    ],
)
async def test_bad_names_and_values_are_refused_naming_the_field(api, db, name, body, field):
    response = await api.put(f"{URL}/{name}", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert "s3cr3t" not in response.text
    assert await stored(db, name) == [] and await stored(db, "ok") == []


async def test_a_value_of_4096_characters_is_accepted(api):
    assert (await put(api, "long", "x" * 4096)).status_code == 201


async def test_each_workspace_has_its_own_secrets(api, app, db, settings):
    other = await make_tenant(db, "Other", f"admin-{uuid.uuid4().hex[:6]}@other.test")
    async with client_for(app, other.admin_key) as theirs:
        assert (await put(theirs, "shared-name", "Bearer theirs")).status_code == 201
        assert (await put(theirs, "only-theirs", "Bearer theirs")).status_code == 201
        assert (await api.get(URL)).json() == []
        missing = await api.delete(f"{URL}/only-theirs")
        assert missing.status_code == 404 and missing.json()["field"] == "name"
        # The same name is a different secret here: theirs is untouched.
        assert (await put(api, "shared-name", "Bearer ours")).status_code == 201
        assert [item["name"] for item in (await theirs.get(URL)).json()] == ["only-theirs", "shared-name"]
    box = SecretBox.from_settings(settings)
    rows = await stored(db, "shared-name")
    assert sorted(box.open(row.workspace_id, "shared-name", row.sealed_value) for row in rows) == [
        "Bearer ours",
        "Bearer theirs",
    ]


@pytest.mark.parametrize("role", [Role.viewer, Role.marketer, Role.manager], ids=str)
async def test_only_admins_manage_secrets(app, tenant, db, role):
    key = await make_key(db, tenant.workspace_id, role)
    async with client_for(app, key) as client:
        assert (await client.get(URL)).status_code == 403
        assert (await put(client, "crm")).status_code == 403
        assert (await client.delete(f"{URL}/crm")).status_code == 403
    assert await stored(db, "crm") == []


async def test_automation_builders_read_the_names_and_only_the_names(api, app, tenant, db):
    """GET /api/secrets/names: for whoever may write automations (marketers too), sorted, no value, no dates; a
    viewer, who cannot build, is refused; another workspace's names never show."""
    for name in ("zapier", "crm"):
        assert (await put(api, name)).status_code == 201
    other = await make_tenant(db, "Elsewhere", f"admin-{uuid.uuid4().hex[:6]}@other.test")
    async with client_for(app, other.admin_key) as theirs:
        assert (await put(theirs, "their-token")).status_code == 201
    marketer = await make_key(db, tenant.workspace_id, Role.marketer)
    async with client_for(app, marketer) as client:
        names = await client.get(f"{URL}/names")
        assert names.status_code == 200 and names.json() == ["crm", "zapier"]
        assert (await client.get(URL)).status_code == 403  # the full list stays the admins'
    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        assert (await client.get(f"{URL}/names")).status_code == 403


# --- Automations that use them ------------------------------------------------------------------------------------


async def test_a_secret_used_by_a_published_automation_cannot_be_deleted(api, db):
    assert (await put(api, "crm")).status_code == 201
    graph = webhook_graph("https://hooks.example.com/lead", "crm")
    live = (await api.post("/api/automations", json={"name": "Sync to CRM", "graph": graph})).json()
    draft_only = (await api.post("/api/automations", json={"name": "Not published", "graph": graph})).json()
    published = await api.post(f"/api/automations/{live['id']}/publish")
    assert published.status_code == 200, published.text

    refused = await api.delete(f"{URL}/crm")
    assert refused.status_code == 409, refused.text
    message = refused.json()["message"]
    assert "'Sync to CRM'" in message and f"id {live['id']}" in message and "Not published" not in message
    assert refused.json()["field"] == "name"
    paused = await api.post(f"/api/automations/{live['id']}/pause")
    assert paused.status_code == 200, paused.text
    assert (await api.delete(f"{URL}/crm")).status_code == 409  # a paused one can resume
    assert len(await stored(db, "crm")) == 1

    # A new version without the secret frees it; the draft that still names it does not hold it.
    without = webhook_graph("https://hooks.example.com/lead", "crm")
    del without["nodes"][1]["config"]["auth_secret"]
    assert (await api.patch(f"/api/automations/{live['id']}", json={"graph": without})).status_code == 200
    assert (await api.post(f"/api/automations/{live['id']}/publish")).status_code == 200
    assert (await api.delete(f"{URL}/crm")).status_code == 204
    assert draft_only["id"] != live["id"]


async def test_the_builders_check_knows_the_workspaces_secrets(api, app, db):
    graph = webhook_graph("https://hooks.example.com/lead", "crm-token")

    async def secret_problems() -> list[dict[str, Any]]:
        answer = await api.post("/api/automations/validate", json={"graph": graph})
        assert answer.status_code == 200, answer.text
        return [p for p in answer.json()["problems"] if p["field"] == "config.auth_secret"]

    (unknown,) = await secret_problems()
    assert unknown["node_id"] == "hook" and "crm-token" in unknown["message"] and unknown["severity"] == "error"
    # Another workspace's secret of that name is no secret here.
    other = await make_tenant(db, "Other", f"admin-{uuid.uuid4().hex[:6]}@other.test")
    async with client_for(app, other.admin_key) as theirs:
        assert (await put(theirs, "crm-token")).status_code == 201
    assert len(await secret_problems()) == 1
    assert (await put(api, "crm-token")).status_code == 201
    assert await secret_problems() == []


# --- Journeys -----------------------------------------------------------------------------------------------------


async def test_a_journeys_webhook_sends_the_secret_as_its_authorization_header(
    worker_on_time_env,  # noqa: F811
    app,
    api,
    settings,
    db,
    hooks,  # noqa: F811
):
    env = worker_on_time_env
    assert (await put(api, "crm-token", "Bearer journey-value-789")).status_code == 201
    with_secret = await make_automation(db, webhook_graph(f"{hooks.url}/with-secret", "crm-token"))
    missing = await make_automation(db, webhook_graph(f"{hooks.url}/missing", "not-set"))
    (lead_id,) = await make_leads(db, 1, prefix=f"sec{uuid.uuid4().hex[:4]}")

    await trigger(env.client, settings, db, external(lead_id))
    sent = await result(started_on(env.client, with_secret, lead_id), env)
    failed = await result(started_on(env.client, missing, lead_id), env)

    assert sent.path == ["go", "hook"]
    (call,) = hooks.on("/with-secret")
    assert call["headers"]["Authorization"] == "Bearer journey-value-789"
    ((_, _, created_at, updated_at, last_used_at),) = await stored(db, "crm-token")
    assert last_used_at is not None and last_used_at >= created_at and updated_at == created_at
    # The value is in no step, action or history the journey leaves.
    (journey,) = await journeys(db, with_secret)
    assert "journey-value" not in str(await steps(db, journey.id))
    history = await started_on(env.client, with_secret, lead_id).fetch_history()
    assert "journey-value" not in history.to_json()

    # A secret that does not exist: no call, no retry, the fallback.
    assert failed.path == ["go", "hook", "missed"]
    assert hooks.on("/missing") == []
    (journey,) = await journeys(db, missing)
    detail = next(s for s in await steps(db, journey.id) if s.node_id == "hook").detail
    assert detail["retry_state"] == "NON_RETRYABLE_FAILURE" and detail["fallback"] is True
    assert "secret 'not-set' does not exist" in detail["error"]
