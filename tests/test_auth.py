"""Sign-in, sessions, CSRF, throttling and API keys."""

from __future__ import annotations

from sqlalchemy import text

from domain.permissions import Role
from tests.conftest import client_for, make_key

PASSWORD = "correct horse battery"


async def _sign_in(client, email: str = "admin@acme.test", password: str = PASSWORD):
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def test_sign_in_gives_a_session_cookie_and_a_csrf_token(app, tenant):
    async with client_for(app) as browser:
        assert (await browser.get("/api/auth/me")).status_code == 401
        response = await _sign_in(browser)
        assert response.status_code == 200, response.text
        me = response.json()
        assert me["user"]["email"] == "admin@acme.test" and me["role"] == "admin"
        assert me["workspace"]["id"] == tenant.workspace_id and me["can_launch"] is True
        cookie = response.headers.get_list("set-cookie")
        session_cookie = next(c for c in cookie if c.startswith("herald_session="))
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        assert (await browser.get("/api/leads")).status_code == 200

        # State-changing requests need the CSRF header.
        body = {"name": "T", "subject": "s", "body_html": "<p>b</p>"}
        missing = await browser.post("/api/templates", json=body)
        assert (missing.status_code, missing.json()["code"]) == (403, "csrf")
        wrong = await browser.post("/api/templates", json=body, headers={"X-CSRF-Token": "nope"})
        assert wrong.status_code == 403
        ok = await browser.post("/api/templates", json=body, headers={"X-CSRF-Token": me["csrf_token"]})
        assert ok.status_code == 201


async def test_wrong_password_and_unknown_user_get_the_same_answer(app, tenant):
    async with client_for(app) as browser:
        wrong = await _sign_in(browser, password="not the password")
        unknown = await _sign_in(browser, email="nobody@acme.test")
    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "message": "invalid email or password",
            "field": None,
            "code": "unauthenticated",
        }
    )


async def test_repeated_failures_are_throttled_even_with_the_right_password(app, tenant, settings):
    async with client_for(app) as browser:
        for _ in range(settings.login_max_failures_per_email):
            assert (await _sign_in(browser, password="guess")).status_code == 401
        throttled = await _sign_in(browser)
        assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
        # Unknown emails are throttled the same way, so throttling does not reveal who exists.
        for _ in range(settings.login_max_failures_per_email):
            await _sign_in(browser, email="ghost@acme.test", password="guess")
        assert (await _sign_in(browser, email="ghost@acme.test", password="guess")).status_code == 429


async def test_password_change_ends_every_other_session(app, tenant):
    async with client_for(app) as first, client_for(app) as second:
        me = (await _sign_in(first)).json()
        assert (await _sign_in(second)).status_code == 200
        changed = await first.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "a much longer secret"},
            headers={"X-CSRF-Token": me["csrf_token"]},
        )
        assert changed.status_code == 200, changed.text
        assert (await second.get("/api/leads")).status_code == 401  # the other session has ended
        assert (await first.get("/api/leads")).status_code == 200  # this one got a fresh session
        assert changed.json()["csrf_token"] != me["csrf_token"]
        assert (await _sign_in(second)).status_code == 401
        assert (await _sign_in(second, password="a much longer secret")).status_code == 200


async def test_logout_ends_the_session(app, tenant):
    async with client_for(app) as browser:
        me = (await _sign_in(browser)).json()
        token = browser.cookies.get("herald_session")
        assert (await browser.post("/api/auth/logout", headers={"X-CSRF-Token": me["csrf_token"]})).status_code == 204
        browser.cookies.set("herald_session", token)  # replaying the old cookie does not work either
        assert (await browser.get("/api/leads")).status_code == 401


async def test_api_keys_are_shown_once_stored_hashed_and_revocable(app, api, tenant, db):
    created = await api.post("/api/api-keys", json={"name": "CI", "role": "marketer"})
    assert created.status_code == 201
    secret = created.json()["secret"]
    key_id = created.json()["api_key"]["id"]
    assert secret.startswith("hk_")
    listed = (await api.get("/api/api-keys")).json()
    assert all(secret not in str(item) for item in listed)
    async with db() as session:
        stored = (await session.execute(text("SELECT key_hash FROM api_keys WHERE id = :i"), {"i": key_id})).scalar()
    assert stored != secret and len(stored) == 64

    async with client_for(app, secret) as ci:
        assert (await ci.get("/api/leads")).status_code == 200
        assert (await ci.get("/api/auth/me")).json()["role"] == "marketer"
        assert (await api.delete(f"/api/api-keys/{key_id}")).status_code == 204
        revoked = await ci.get("/api/leads")
        assert revoked.status_code == 401 and "revoked" in revoked.json()["message"]
    assert next(k for k in (await api.get("/api/api-keys")).json() if k["id"] == key_id)["last_used_at"]
    async with client_for(app, "hk_nothing_here") as stranger:
        assert (await stranger.get("/api/leads")).status_code == 401


async def test_members_can_be_added_with_a_one_time_password_and_sign_in(app, api, tenant, db):
    added = await api.post("/api/members", json={"email": "Mia@Acme.Example.com", "name": "Mia", "role": "viewer"})
    assert added.status_code == 201, added.text
    temporary = added.json()["temporary_password"]
    assert temporary and added.json()["member"]["role"] == "viewer"
    async with client_for(app) as browser:
        me = await _sign_in(browser, email="mia@acme.example.com", password=temporary)
        assert me.status_code == 200 and me.json()["role"] == "viewer" and me.json()["can_launch"] is False
    duplicate = await api.post("/api/members", json={"email": "mia@acme.example.com", "role": "viewer"})
    assert duplicate.status_code == 409


async def test_the_last_admin_cannot_be_removed_or_demoted(api, tenant):
    demote = await api.patch(f"/api/members/{tenant.admin_id}", json={"role": "viewer"})
    assert (demote.status_code, demote.json()["code"]) == (409, "last_admin")
    assert (await api.delete(f"/api/members/{tenant.admin_id}")).status_code == 409


async def test_switching_workspace_changes_what_is_visible(app, tenant, db):
    async with client_for(app) as browser:
        me = (await _sign_in(browser)).json()
        headers = {"X-CSRF-Token": me["csrf_token"]}
        second = await browser.post("/api/workspaces", json={"name": "Second brand"}, headers=headers)
        assert second.status_code == 201 and second.json()["role"] == "admin"
        switched = await browser.post(
            "/api/auth/workspace", json={"workspace_id": second.json()["id"]}, headers=headers
        )
        assert switched.json()["workspace"]["name"] == "Second brand"
        assert {w["name"] for w in switched.json()["workspaces"]} == {"Acme", "Second brand"}
        assert (await browser.get("/api/leads")).json()["total"] == 0
        not_mine = await browser.post("/api/auth/workspace", json={"workspace_id": 999999}, headers=headers)
        assert not_mine.status_code == 404


async def test_security_headers_are_set(app, tenant):
    async with client_for(app) as browser:
        response = await browser.get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-request-id"]
    assert "access-control-allow-origin" not in response.headers


async def test_a_viewer_key_reads_but_cannot_write(app, tenant, db):
    viewer = await make_key(db, tenant.workspace_id, Role.viewer)
    async with client_for(app, viewer) as client:
        assert (await client.get("/api/campaigns")).status_code == 200
        refused = await client.post("/api/leads", json={"email": "v@example.com"})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
