"""Brand guidelines: one row per workspace, validated input, admin-only changes, problems reported live."""

from __future__ import annotations

from sqlalchemy import text

from domain.permissions import Role
from tests.conftest import client_for, make_key, make_tenant

GUIDELINES = {
    "colors": ["#4F46E5", "#fff"],
    "fonts": ["Helvetica"],
    "require_footer": True,
    "postal_address": "  1 Main St, Springfield ",
    "banned_phrases": ["free money", "free money"],
    "link_domains": ["https://Example.com/path", "*.herald.test"],
    "max_image_bytes": 500_000,
}


async def test_guidelines_start_unconfigured_and_are_saved_clean(api, db):
    empty = (await api.get("/api/brand")).json()
    assert empty["configured"] is False and empty["updated_at"] is None
    saved = await api.put("/api/brand", json=GUIDELINES)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["configured"] is True
    assert body["colors"] == ["#4f46e5", "#fff"]
    assert body["postal_address"] == "1 Main St, Springfield"
    assert body["banned_phrases"] == ["free money"]
    assert body["link_domains"] == ["example.com", "herald.test"]
    assert (await api.get("/api/brand")).json() == body
    again = await api.put("/api/brand", json={**GUIDELINES, "fonts": []})
    assert again.json()["fonts"] == []
    async with db() as session:
        assert (await session.execute(text("SELECT count(*) FROM brand_guidelines"))).scalar_one() == 1
        actions = (await session.execute(text("SELECT action FROM audit_log WHERE entity_type = 'brand'"))).scalars()
        assert list(actions) == ["brand.updated", "brand.updated"]


async def test_bad_guidelines_are_422_naming_the_field(api, db):
    for change, field in (
        ({"colors": ["#4f46e5", "blue"]}, "colors[1]"),
        ({"link_domains": ["not a domain"]}, "link_domains[0]"),
        ({"logo_media_id": 987654}, "logo_media_id"),
        ({"postal_address": ""}, "postal_address"),
        ({"banned_phrases": ["  "]}, "banned_phrases[0]"),
        ({"max_image_bytes": 0}, "max_image_bytes"),
        ({"shade": "dark"}, "shade"),
    ):
        response = await api.put("/api/brand", json={**GUIDELINES, **change})
        assert (response.status_code, response.json()["field"]) == (422, field), (change, response.text)
    assert (await api.get("/api/brand")).json()["configured"] is False
    no_footer = await api.put("/api/brand", json={**GUIDELINES, "require_footer": False, "postal_address": ""})
    assert no_footer.status_code == 200


async def test_only_admins_change_the_guidelines_and_each_workspace_has_its_own(app, api, tenant, db):
    marketer = await make_key(db, tenant.workspace_id, Role.marketer)
    async with client_for(app, marketer) as client:
        assert (await client.get("/api/brand")).status_code == 200
        refused = await client.put("/api/brand", json=GUIDELINES)
        assert refused.status_code == 403
    assert (await api.put("/api/brand", json=GUIDELINES)).status_code == 200
    other = await make_tenant(db, "Globex", "admin@globex.test")
    async with client_for(app, other.admin_key) as theirs:
        assert (await theirs.get("/api/brand")).json()["configured"] is False


async def test_brand_problems_are_reported_live_and_never_block_a_save(api, db):
    await api.put("/api/brand", json=GUIDELINES)
    content = {
        "channel": "email",
        "subject": "Free money inside",
        "body_html": '<p style="color: #ff0000">Get free money</p><a href="https://evil.example.org/x">here</a>',
    }
    check = (await api.post("/api/templates/check", json=content)).json()
    rules = {(p["rule"], p["severity"]) for p in check["problems"]}
    errors = {rule for rule, severity in rules if severity == "error"}
    warnings = {rule for rule, severity in rules if severity == "warning"}
    assert "banned_phrase" in errors and "link_domain" in errors
    assert "color" in warnings
    assert any(p["field"] == "body_html" and p["line"] == 1 for p in check["problems"])
    assert any(p["rule"] in ("footer_unsubscribe", "unsubscribe", "footer") for p in check["problems"])

    saved = await api.post("/api/templates", json={"name": "Loud", **{k: v for k, v in content.items()}})
    assert saved.status_code == 201, saved.text
    assert {p["rule"] for p in saved.json()["problems"]} >= {"banned_phrase", "link_domain"}

    sms = (await api.post("/api/templates/check", json={"channel": "sms", "body_text": "FREE MONEY now"})).json()
    assert [p["rule"] for p in sms["problems"]] == ["banned_phrase"]
