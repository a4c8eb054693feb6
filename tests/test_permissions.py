"""Every route declares its permission, and each role gets exactly what the matrix gives it."""

from __future__ import annotations

import re

import pytest

from api.main import create_app
from core.settings import Settings
from domain.permissions import AUTHENTICATED, PUBLIC, Permission, Role
from tests.conftest import client_for, make_key
from tests.factories import make_campaign, make_leads

KNOWN = {PUBLIC, AUTHENTICATED} | {str(p) for p in Permission}
PUBLIC_ROUTES = {
    ("GET", "/api/health"),
    ("GET", "/api/config"),
    ("POST", "/api/auth/login"),
    ("GET", "/public/media/{asset_id}/{variant}"),  # answers only with a valid signature
    ("GET", "/public/unsubscribe/{token}"),  # a confirmation page only; changes nothing
    ("POST", "/public/unsubscribe/{token}"),  # RFC 8058 one-click: only with a valid signed token
    ("POST", "/public/unsubscribe/{token}/preferences"),  # the recipient's preferences: a valid signed token
    ("POST", "/public/inbound/twilio/sms"),  # SMS replies: only with the provider's signature
    ("POST", "/public/inbound/bounces/generic"),  # bounces and complaints: only with BOUNCE_WEBHOOK_SECRET
    ("POST", "/public/inbound/bounces/ses"),  # SES through SNS: only signed by SNS (and from SES_TOPIC_ARNS)
    ("GET", "/public/t/o/{token}.gif"),  # open pixel: records an open only for a valid signed token
    ("GET", "/public/t/c/{token}"),  # click redirect: only to the URL signed in the token
    ("GET", "/public/conversions/snippet.js"),  # the conversion snippet: a static script
    ("POST", "/public/conversions"),  # a conversion: only for the delivery of a valid signed token
}


def _operations():
    schema = create_app(Settings(database_url="postgresql://unused@127.0.0.1/unused")).openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_every_route_declares_a_known_permission():
    missing = [f"{m} {p}" for m, p, op in _operations() if op.get("x-permission") not in KNOWN]
    assert not missing, f"routes without a declared permission: {missing}"


def test_only_the_expected_routes_are_public():
    public = {(m, p) for m, p, op in _operations() if op.get("x-permission") == PUBLIC}
    assert public == PUBLIC_ROUTES


async def test_every_non_public_route_refuses_anonymous_callers(app):
    async with client_for(app) as anonymous:
        for method, path, operation in _operations():
            if operation["x-permission"] == PUBLIC:
                continue
            response = await anonymous.request(method, re.sub(r"\{[^}]+\}", "1", path))
            assert response.status_code == 401, f"{method} {path} answered {response.status_code}"


# (method, path template, body) for one route of each kind; {campaign} is filled per test.
KINDS = {
    "read": ("GET", "/api/leads", None),
    "write": ("POST", "/api/templates", {"name": "T-{role}", "subject": "Hi", "body_html": "<p>x</p>"}),
    "launch": ("POST", "/api/campaigns/{campaign}/launch", None),
    "audit": ("GET", "/api/audit", None),
    "members": ("GET", "/api/members", None),
    "api_keys": ("GET", "/api/api-keys", None),
    "settings": ("PATCH", "/api/workspaces/current", {"name": "Renamed by {role}"}),
}
ALLOWED = {
    Role.viewer: {"read"},
    Role.marketer: {"read", "write", "launch"},
    Role.manager: {"read", "write", "launch", "audit"},
    Role.admin: set(KINDS),
}


@pytest.mark.parametrize("role", list(Role), ids=str)
async def test_each_role_is_allowed_exactly_its_kinds_of_route(role, app, tenant, db):
    key = await make_key(db, tenant.workspace_id, role)
    campaign = await make_campaign(db, await make_leads(db, 2))
    async with client_for(app, key) as client:
        for kind, (method, path, body) in KINDS.items():
            url = path.format(campaign=campaign)
            json = {k: v.format(role=role) for k, v in body.items()} if body else None
            response = await client.request(method, url, json=json)
            if kind in ALLOWED[role]:
                assert response.status_code < 400, f"{role} {kind}: {response.status_code} {response.text}"
            else:
                assert response.status_code == 403, f"{role} {kind}: {response.status_code} {response.text}"
                assert role.value in response.json()["message"]
        if "launch" in ALLOWED[role]:
            await client.post(f"/api/campaigns/{campaign}/cancel")


async def test_marketers_submit_for_approval_where_it_is_required(app, api, tenant, db):
    assert (await api.patch("/api/workspaces/current", json={"requires_approval": True})).status_code == 200
    campaign = await make_campaign(db, await make_leads(db, 2))
    marketer = await make_key(db, tenant.workspace_id, Role.marketer)
    manager = await make_key(db, tenant.workspace_id, Role.manager)
    async with client_for(app, marketer) as client:
        submitted = await client.post(f"/api/campaigns/{campaign}/launch")
        assert submitted.status_code == 202 and submitted.json()["status"] == "pending_approval"
        assert (await client.get("/api/auth/me")).json()["can_launch"] is False  # not without approval
        refused = await client.post(f"/api/campaigns/{campaign}/approve")
        assert refused.status_code == 403 and "campaigns:approve" in refused.json()["message"]
        await client.post(f"/api/campaigns/{campaign}/cancel")
    other = await make_campaign(db, await make_leads(db, 2, prefix="m"))
    async with client_for(app, manager) as client:
        launched = await client.post(f"/api/campaigns/{other}/launch")
        assert launched.status_code == 202 and launched.json()["status"] == "running"
        await client.post(f"/api/campaigns/{other}/cancel")


async def test_the_documented_matrix_matches_the_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "permissions.md").read_text()
    for permission in Permission:
        assert f"`{permission}`" in doc, f"{permission} is not documented in docs/permissions.md"


async def test_everyone_can_read_the_member_directory_but_only_admins_manage(app, tenant, db):
    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        directory = await client.get("/api/members/directory")
        assert directory.status_code == 200
        assert directory.json() == [{"user_id": tenant.admin_id, "email": "admin@acme.test", "name": "Admin"}]
        assert (await client.get("/api/members")).status_code == 403
