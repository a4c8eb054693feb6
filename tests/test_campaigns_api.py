"""Campaign API (issue #8): definitions with flows, validation naming the field, the review, reachability, launch
pinning versions, approval, rescheduling, the calendar, per-step progress, dry run and test send.

The run workflow is reached by name; here a stub `CampaignWorkflow` (and `CampaignDryRunWorkflow`) on the test's task
queue stands in for the engine, so the API's side of the contract (update `decide`, signal `reschedule`, query
`progress`) is tested on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from domain.campaign_audience import skip_reason
from domain.permissions import Role
from models.leads import Lead
from models.payloads.campaign import (
    ApprovalDecision,
    CampaignProgress,
    CampaignRunInput,
    DryRunInput,
    DryRunResult,
    DryRunStep,
    Reschedule,
)
from tests.conftest import client_for, make_key
from tests.factories import make_campaign, make_leads

FUTURE = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)


# --- A stand-in for the engine --------------------------------------------------------------------------------------

SEEN: dict[str, list] = {}


@workflow.defn(name="CampaignWorkflow")
class StubCampaignWorkflow:
    def __init__(self) -> None:
        self.input: CampaignRunInput | None = None
        self.decision: ApprovalDecision | None = None
        self.status = "running"

    @workflow.run
    async def run(self, input: CampaignRunInput) -> CampaignProgress:
        self.input = input
        SEEN.setdefault(workflow.info().workflow_id, []).append(("start", input.requires_approval))
        if input.requires_approval:
            self.status = "pending_approval"
            await workflow.wait_condition(lambda: self.decision is not None)
            self.status = "running" if self.decision.approved else "rejected"
        await workflow.wait_condition(lambda: False)
        return self.progress()

    @workflow.update
    def decide(self, decision: ApprovalDecision) -> str:
        self.decision = decision
        SEEN.setdefault(workflow.info().workflow_id, []).append(("decide", decision.model_dump()))
        return "approved" if decision.approved else "rejected"

    @decide.validator
    def _one_decision(self, decision: ApprovalDecision) -> None:
        if self.decision is not None:
            raise ValueError("already decided")

    @workflow.signal
    def reschedule(self, change: Reschedule) -> None:
        SEEN.setdefault(workflow.info().workflow_id, []).append(("reschedule", change.at))
        if change.date is not None:
            SEEN[workflow.info().workflow_id].append(("reschedule-date", change.date))

    @workflow.signal
    def pause(self) -> None:
        pass

    @workflow.signal
    def resume(self) -> None:
        pass

    @workflow.query
    def progress(self) -> CampaignProgress:
        assert self.input is not None
        return CampaignProgress(
            campaign_id=self.input.campaign_id,
            run_id=self.input.run_id,
            run_number=self.input.run_number,
            status=self.status,
            total=0,
        )


@workflow.defn(name="CampaignDryRunWorkflow")
class StubDryRunWorkflow:
    @workflow.run
    async def run(self, input: DryRunInput) -> DryRunResult:
        return DryRunResult(
            campaign_id=input.campaign_id,
            audience=3,
            steps=[
                DryRunStep(
                    step_id="hello",
                    index=0,
                    channel="email",
                    exact=True,
                    reach=3,
                    sendable=2,
                    skipped={"no_consent": 1},
                )
            ],
        )


@pytest.fixture
async def engine_stub(temporal_client: Client, settings, db) -> AsyncIterator[Worker]:
    SEEN.clear()
    worker = Worker(
        temporal_client,
        task_queue=settings.temporal_task_queue,
        workflows=[StubCampaignWorkflow, StubDryRunWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with worker:
        yield worker


# --- Helpers --------------------------------------------------------------------------------------------------------


async def _count(db, table: str) -> int:
    async with db() as session:
        return (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()


async def _template(api, name: str, channel: str = "email", body: str = "Hi {{ lead.first_name }}") -> dict:
    payload = {"name": name, "channel": channel}
    if channel == "email":
        payload |= {"subject": f"{name} {{{{ lead.first_name }}}}", "body_html": f"<p>{body}</p>"}
    else:
        payload |= {"body_text": body}
    response = await api.post("/api/templates", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def _send(step_id: str, template_id: int, channel: str = "email", **extra) -> dict:
    return {"id": step_id, "type": "send", "channel": channel, "template_id": template_id, **extra}


async def _list(api, name: str, lead_ids: list[int]) -> int:
    response = await api.post("/api/lists", json={"name": name, "lead_ids": lead_ids})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _campaign(api, body: dict) -> dict:
    response = await api.post("/api/campaigns", json={"name": "Spring", **body})
    assert response.status_code == 201, response.text
    return response.json()


# --- Definitions ----------------------------------------------------------------------------------------------------


async def test_a_campaign_keeps_its_basics_audience_flow_and_schedule(api, db, tenant):
    email = await _template(api, "Welcome")
    sms = await _template(api, "Nudge", "sms")
    leads = await make_leads(db, 3)
    vip = await _list(api, "VIP", leads[:2])
    blocked = await _list(api, "Blocked", leads[2:])
    body = {
        "objective": "conversion",
        "goal_metric": "click_rate",
        "goal_target": 5,
        "owner_id": tenant.admin_id,
        "tags": [" spring ", "vip", "spring"],
        "cost": 120.5,
        "list_ids": [vip],
        "exclude_list_ids": [blocked],
        "exclude_filter": {"combinator": "and", "rules": [{"field": "status", "operator": "=", "value": "lost"}]},
        "flow": {
            "steps": [
                _send("hello", email["id"], fallback={"channel": "sms", "template_id": sms["id"]}),
                {"id": "pause", "type": "wait", "duration": {"days": 3}},
                {
                    "id": "opened",
                    "type": "branch",
                    "condition": {"kind": "engagement", "step_id": "hello", "event": "opened"},
                    "yes": [],
                    "no": [_send("again", sms["id"], "sms")],
                },
            ],
            "exit_on_statuses": ["won"],
        },
        "schedule": {"mode": "at", "at": FUTURE.isoformat(), "frequency_cap": {"max_messages": 3}},
    }
    created = await _campaign(api, body)
    assert created["status"] == "draft" and created["objective"] == "conversion"
    assert (created["goal_metric"], created["goal_target"], created["cost"]) == ("click_rate", 5, 120.5)
    assert created["tags"] == ["spring", "vip"] and created["owner_id"] == tenant.admin_id
    assert created["list_ids"] == [vip] and created["list_id"] == vip and created["list_name"] == "VIP"
    assert created["exclude_list_ids"] == [blocked] and created["exclude_filter"] == body["exclude_filter"]
    assert [s["id"] for s in created["flow"]["steps"]] == ["hello", "pause", "opened"]
    assert created["flow"]["steps"][0]["template_version"] is None  # resolved at launch
    assert created["schedule"]["mode"] == "at" and created["schedule"]["frequency_cap"]["days"] == 7
    assert datetime.fromisoformat(created["scheduled_at"]) == FUTURE
    assert created["channels"] == ["email", "sms"]
    assert (created["template_id"], created["template_name"]) == (email["id"], "Welcome")
    [listed] = (await api.get("/api/campaigns")).json()
    assert listed["id"] == created["id"] and listed["channels"] == ["email", "sms"]
    async with db() as session:
        row = (await session.execute(text("SELECT template_id, tags, cost FROM campaigns"))).one()
        assert row.template_id is None and row.tags == ["spring", "vip"] and float(row.cost) == 120.5
        actions = (await session.execute(text("SELECT action FROM audit_log WHERE entity_type = 'campaign'"))).all()
        assert [a for (a,) in actions] == ["campaign.created"]


async def test_a_bad_definition_is_422_naming_the_field_and_writes_nothing(api, db, tenant):
    email = await _template(api, "Welcome")
    sms = await _template(api, "Nudge", "sms")
    leads = await make_leads(db, 2)
    vip = await _list(api, "VIP", leads)
    good = {"steps": [_send("hello", email["id"])]}

    async def refused(body: dict, field: str, status: int = 422) -> dict:
        response = await api.post("/api/campaigns", json={"name": "X", **body})
        assert (response.status_code, response.json()["field"]) == (status, field), response.text
        return response.json()

    wrong_channel = {"steps": [_send("hello", email["id"]), _send("then", sms["id"], "email")]}
    answer = await refused({"flow": wrong_channel}, "flow.steps[1].template_id")
    assert "sms template, not email" in answer["message"]
    nested = {
        "steps": [
            _send("hello", email["id"]),
            {"id": "wait", "type": "wait", "duration": {"days": 1}},
            {
                "id": "b",
                "type": "branch",
                "condition": {"kind": "engagement", "step_id": "hello", "event": "clicked"},
                "yes": [_send("x", 424242)],
            },
        ]
    }
    await refused({"flow": nested}, "flow.steps[2].yes[0].template_id")
    await refused(
        {"flow": {"steps": [_send("hello", email["id"], template_version=9)]}}, "flow.steps[0].template_version"
    )
    await refused({"flow": {"steps": [{"id": "w", "type": "wait", "duration": {"days": 1}}]}}, "flow.steps")
    await refused({"flow": {**good, "exit_on_statuses": ["nope"]}}, "flow.exit_on_statuses[0]")
    await refused({"flow": {"steps": [{"id": "Bad Id", "type": "exit"}]}}, "flow.steps[0].exit.id")
    await refused({"flow": good, "list_ids": [vip, 424242]}, "list_ids[1]")
    await refused({"flow": good, "exclude_list_ids": [424242]}, "exclude_list_ids[0]")
    await refused(
        {
            "flow": good,
            "exclude_filter": {"combinator": "and", "rules": [{"field": "shoe", "operator": "=", "value": 1}]},
        },
        "exclude_filter.rules[0].field",
    )
    await refused({"flow": {"steps": [_send("hello", 2**40)]}}, "flow.steps[0].template_id")  # no 500
    await refused({"flow": good, "list_ids": [2**40]}, "list_ids")
    await refused({"flow": good, "owner_id": 424242}, "owner_id")
    await refused({"flow": good, "goal_metric": "click_rate"}, "goal_target")
    await refused({"flow": good, "cost": -1}, "cost")
    await refused({"flow": good, "objective": "fame"}, "objective")
    await refused({"flow": good, "schedule": {"mode": "at"}}, "schedule")
    await refused(
        {"flow": good, "schedule": {"quiet_hours": {"start": "25:00", "end": "08:00"}}}, "schedule.quiet_hours.start"
    )
    await refused({"flow": good, "template_id": email["id"]}, "template_id")
    await refused({"template_id": sms["id"]}, "template_id")  # the legacy body sends email
    assert await _count(db, "campaigns") == 0
    assert await _rows(db, "SELECT action FROM audit_log WHERE entity_type = 'campaign'") == []


async def test_the_legacy_body_becomes_a_one_step_flow_pinning_the_current_version(api, db):
    email = await _template(api, "Welcome")
    assert (await api.put(f"/api/templates/{email['id']}", json={"subject": "v2", "body_html": "<p>2</p>"})).is_success
    leads = await make_leads(db, 2)
    vip = await _list(api, "VIP", leads)
    created = await _campaign(api, {"template_id": email["id"], "list_id": vip})
    [step] = created["flow"]["steps"]
    assert (step["id"], step["channel"], step["template_id"], step["template_version"]) == (
        "send",
        "email",
        email["id"],
        2,
    )
    assert (created["list_ids"], created["list_id"], created["template_version"]) == ([vip], vip, 2)
    pinned = await _campaign(api, {"name": "Old", "template_id": email["id"], "template_version": 1})
    assert pinned["template_version"] == 1 and pinned["list_ids"] == []
    missing = await api.post("/api/campaigns", json={"name": "X", "template_id": email["id"], "template_version": 7})
    assert (missing.status_code, missing.json()["field"]) == (422, "template_version")


async def test_only_draft_scheduled_and_rejected_campaigns_are_edited(api, db, engine_stub):
    email = await _template(api, "Welcome")
    other = await _template(api, "Other")
    await make_leads(db, 2)
    flow = {"steps": [_send("hello", email["id"])]}
    draft = await _campaign(api, {"flow": flow})
    edited = await api.put(f"/api/campaigns/{draft['id']}", json={"name": "Renamed", "flow": flow, "tags": ["a"]})
    assert edited.status_code == 200 and (edited.json()["name"], edited.json()["tags"]) == ("Renamed", ["a"])
    bad = await api.put(f"/api/campaigns/{draft['id']}", json={"name": "X", "flow": {"steps": [_send("s", 424242)]}})
    assert (bad.status_code, bad.json()["field"]) == (422, "flow.steps[0].template_id")
    assert (await api.get(f"/api/campaigns/{draft['id']}")).json()["name"] == "Renamed"

    scheduled_body = {"name": "Later", "flow": flow, "schedule": {"mode": "at", "at": FUTURE.isoformat()}}
    scheduled = await _campaign(api, scheduled_body)
    run = await api.post(f"/api/campaigns/{scheduled['id']}/launch")
    assert run.status_code == 202 and run.json()["status"] == "scheduled", run.text
    changed = await api.put(
        f"/api/campaigns/{scheduled['id']}", json={**scheduled_body, "flow": {"steps": [_send("s", other["id"])]}}
    )
    assert (changed.status_code, changed.json()["field"]) == (409, "flow")
    later = FUTURE + timedelta(days=1)
    basics = await api.put(
        f"/api/campaigns/{scheduled['id']}",
        json={**scheduled_body, "name": "Later still", "schedule": {"mode": "at", "at": later.isoformat()}},
    )
    assert basics.status_code == 200, basics.text
    assert basics.json()["name"] == "Later still" and datetime.fromisoformat(basics.json()["scheduled_at"]) == later
    workflow_id = run.json()["workflow_id"]
    await _eventually(lambda: ("reschedule", later) in SEEN.get(workflow_id, []))

    running = await _campaign(api, {"name": "Now", "flow": flow})
    assert (await api.post(f"/api/campaigns/{running['id']}/launch")).json()["status"] == "running"
    refused = await api.put(f"/api/campaigns/{running['id']}", json={"name": "X", "flow": flow})
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_state"


async def _eventually(check, timeout: float = 20) -> None:
    for _ in range(int(timeout * 10)):
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never true; seen: {SEEN}")


# --- Review and reachability ----------------------------------------------------------------------------------------


async def _reach_leads(db) -> dict[str, int]:
    """Leads covering every reason, one each, plus fully reachable ones."""
    kinds = {
        "ok": {"phone": "+14155550101", "consent_sms": "granted", "consent_whatsapp": "granted"},
        "ok2": {"phone": "+14155550102", "consent_sms": "granted"},
        "email_unknown_consent": {"consent_email": "unknown"},
        "email_denied": {"consent_email": "denied"},
        "email_bounced": {"suppressed_email": "bounced"},
        "unsubscribed": {"status": "unsubscribed", "phone": "+14155550103", "consent_sms": "granted"},
        "no_email": {"phone": "+14155550104", "consent_sms": "unknown"},
        "sms_only": {"phone": "+14155550105", "consent_sms": "granted"},
        "bad_phone": {"phone": "call me", "consent_sms": "granted"},
    }
    ids = {}
    for name, overrides in kinds.items():
        [ids[name]] = await make_leads(db, 1, prefix=name, **overrides)
    async with db() as session:
        await session.execute(
            text("UPDATE leads SET email = NULL WHERE id = ANY(:ids)"), {"ids": [ids["no_email"], ids["sms_only"]]}
        )
        await session.commit()
    return ids


async def test_reachability_counts_each_channel_and_why_the_others_are_left_out(api, db):
    ids = await _reach_leads(db)
    reach = (await api.get("/api/campaigns/reachability")).json()
    assert reach["total"] == 9 and reach["capped"] == 0
    email, sms = reach["channels"]["email"], reach["channels"]["sms"]
    # email: opt-out (unknown consent sends), an address needed, suppression and unsubscribes never send
    assert email == {"reachable": 4, "capped": 0, "no_consent": 1, "suppressed": 2, "invalid_address": 2}
    # SMS: opt-in; no phone for 4 leads, one invalid
    assert sms == {"reachable": 3, "capped": 0, "no_consent": 1, "suppressed": 1, "invalid_address": 4}
    assert reach["channels"]["whatsapp"]["reachable"] == 1

    listed = await _list(api, "Some", [ids["ok"], ids["ok2"], ids["email_denied"]])
    excluded = await _list(api, "Out", [ids["ok2"]])
    narrowed = (
        await api.get("/api/campaigns/reachability", params={"list_ids": [listed], "exclude_list_ids": [excluded]})
    ).json()
    assert narrowed["total"] == 2 and narrowed["channels"]["email"]["reachable"] == 1
    by_filter = await api.post(
        "/api/campaigns/reachability",
        json={
            "list_ids": [listed],
            "exclude_filter": {
                "combinator": "and",
                "rules": [{"field": "consent.email", "operator": "=", "value": "denied"}],
            },
        },
    )
    assert by_filter.status_code == 200 and by_filter.json()["total"] == 2
    unknown = await api.get("/api/campaigns/reachability", params={"list_ids": [424242]})
    assert (unknown.status_code, unknown.json()["field"]) == (422, "list_ids[0]")


async def test_the_frequency_cap_counts_marketing_messages_across_campaigns(api, db, tenant):
    ids = await make_leads(db, 3)
    campaign_id = await make_campaign(db, ids)
    now = datetime.now(UTC)
    async with db() as session:
        run = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, "
                    "failed, skipped) VALUES (:w, :c, 1, :wf, 'completed', 3, 0, 0, 0) RETURNING id"
                ),
                {"w": tenant.workspace_id, "c": campaign_id, "wf": f"cap-{campaign_id}"},
            )
        ).scalar_one()
        rows = [
            (ids[0], 0, True, now - timedelta(days=1)),
            (ids[0], 1, True, now - timedelta(days=2)),
            (ids[1], 0, True, now - timedelta(days=1)),
            (ids[1], 1, True, now - timedelta(days=10)),  # outside the 7 days
            (ids[2], 0, True, now - timedelta(days=1)),
            (ids[2], 1, False, now - timedelta(days=1)),  # not marketing
        ]
        for lead, step, marketing, sent_at in rows:
            await session.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, "
                    "marketing, sent_at) VALUES (:w, :r, :s, :l, 'email', 'sent', 1, :m, :t)"
                ),
                {"w": tenant.workspace_id, "r": run, "s": step, "l": lead, "m": marketing, "t": sent_at},
            )
        await session.commit()
    capped = (await api.get("/api/campaigns/reachability", params={"cap_max": 2, "cap_days": 7})).json()
    assert capped["capped"] == 1
    assert (capped["channels"]["email"]["reachable"], capped["channels"]["email"]["capped"]) == (2, 1)
    wider = (await api.get("/api/campaigns/reachability", params={"cap_max": 2, "cap_days": 30})).json()
    assert wider["capped"] == 2
    bad = await api.post("/api/campaigns/reachability", json={"frequency_cap": {"max_messages": 0}})
    assert (bad.status_code, bad.json()["field"]) == (422, "frequency_cap.max_messages")


async def test_sql_reachability_agrees_with_the_engines_per_lead_rule(api, db):
    tracks = pytest.importorskip("domain.campaign_tracks")
    await _reach_leads(db)
    async with db() as session:
        rows = (
            (
                await session.execute(
                    text(
                        "SELECT id, email, phone, status, consent_email, consent_sms, consent_whatsapp, "
                        "suppressed_email, suppressed_sms, suppressed_whatsapp FROM leads ORDER BY id"
                    )
                )
            )
            .mappings()
            .all()
        )
        for channel in ("email", "sms", "whatsapp"):
            sql = dict((await session.execute(select(Lead.id, skip_reason(channel)).order_by(Lead.id))).all())
            for row in rows:
                assert sql[row["id"]] == tracks.channel_skip_reason(dict(row), channel), (channel, dict(row))


async def test_review_lists_flow_template_brand_schedule_and_audience_problems_with_estimates(api, db):
    assert (
        await api.put("/api/brand", json={"require_footer": False, "banned_phrases": ["free money"]})
    ).status_code == 200
    clean = await _template(api, "Clean")
    spammy = await _template(api, "Spammy", body="free money for {{ lead.first_name }}")
    sms = await _template(api, "Nudge", "sms")
    await _reach_leads(db)
    flow = {
        "steps": [
            _send("hello", clean["id"], fallback={"channel": "sms", "template_id": sms["id"]}),
            {
                "id": "b",
                "type": "branch",
                "condition": {"kind": "engagement", "step_id": "hello", "event": "opened"},
                "no": [_send("again", spammy["id"])],
            },
        ]
    }
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    review = await api.post(
        "/api/campaigns/validate", json={"name": "ignored", "flow": flow, "schedule": {"mode": "at", "at": past}}
    )
    assert review.status_code == 200, review.text
    body = review.json()
    assert body["ok"] is False
    by_field = {(p["field"], p["severity"]): p for p in body["problems"]}
    brand = by_field[("flow.steps[1].no[0].template_id", "error")]
    assert brand["step_id"] == "again" and brand["rule"] == "banned_phrase" and "Spammy" in brand["message"]
    assert by_field[("flow.steps[1].condition.step_id", "warning")]["step_id"] == "b"  # no wait before the branch
    assert ("schedule.at", "error") in by_field
    assert body["estimate"] == {"email": 4, "sms": 3}
    [hello, again] = body["steps"]
    assert (hello["step_id"], hello["reachable"], hello["fallback_channel"]) == ("hello", 4, "sms")
    assert hello["fallback_reachable"] == 1  # sms_only: no email address, SMS consent granted
    assert again["fallback_channel"] is None
    assert body["audience"]["total"] == 9

    empty = await api.post("/api/campaigns/validate", json={"flow": flow, "list_ids": [await _list(api, "E", [])]})
    assert ("list_ids", "error") in {(p["field"], p["severity"]) for p in empty.json()["problems"]}
    assert (await api.post("/api/campaigns/validate", json={"flow": {"steps": "x"}})).json()["field"] == "flow.steps"


# --- Launch ---------------------------------------------------------------------------------------------------------


async def test_launch_pins_every_version_into_the_run(api, db, engine_stub):
    email = await _template(api, "Welcome")
    sms = await _template(api, "Nudge", "sms")
    await make_leads(db, 3, phone="+14155550100")
    flow = {
        "steps": [
            _send("hello", email["id"], fallback={"channel": "sms", "template_id": sms["id"]}),
            {"id": "w", "type": "wait", "duration": {"hours": 1}},
            _send("bye", email["id"], template_version=1),
        ]
    }
    campaign = await _campaign(api, {"flow": flow})
    assert (await api.put(f"/api/templates/{email['id']}", json={"subject": "v2", "body_html": "<p>2</p>"})).is_success
    launched = await api.post(f"/api/campaigns/{campaign['id']}/launch")
    assert launched.status_code == 202, launched.text
    assert (launched.json()["status"], launched.json()["total"]) == ("running", 3)
    async with db() as session:
        run = (await session.execute(text("SELECT flow, schedule FROM campaign_runs"))).one()
    steps = run.flow["steps"]
    assert (steps[0]["template_version"], steps[0]["fallback"]["template_version"], steps[2]["template_version"]) == (
        2,
        1,
        1,
    )
    assert run.schedule["mode"] == "now"
    await _eventually(lambda: SEEN.get(launched.json()["workflow_id"]) == [("start", False)])
    again = await api.post(f"/api/campaigns/{campaign['id']}/launch")
    assert again.status_code == 409 and again.json()["code"] == "already_running"


async def test_launch_refuses_what_cannot_be_sent(api, db, engine_stub):
    assert (await api.put("/api/brand", json={"require_footer": False, "banned_phrases": ["free money"]})).is_success
    spammy = await _template(api, "Spammy", body="free money")
    clean = await _template(api, "Clean")
    await make_leads(db, 2)

    async def refused(body: dict, status: int, field: str, code: str) -> None:
        campaign = await _campaign(api, {"name": f"C{code}{field}", **body})
        response = await api.post(f"/api/campaigns/{campaign['id']}/launch")
        assert (response.status_code, response.json()["field"], response.json()["code"]) == (status, field, code)

    await refused(
        {"flow": {"steps": [_send("s", spammy["id"])]}}, 422, "flow.steps[0].template_id", "template_problems"
    )
    await refused({}, 422, "flow", "validation_error")
    past = {"mode": "at", "at": (datetime.now(UTC) + timedelta(seconds=1)).isoformat()}
    campaign = await _campaign(api, {"name": "Soon", "flow": {"steps": [_send("s", clean["id"])]}, "schedule": past})
    await asyncio.sleep(1.5)
    late = await api.post(f"/api/campaigns/{campaign['id']}/launch")
    assert (late.status_code, late.json()["field"]) == (422, "schedule.at")
    nobody = await _list(api, "Nobody", [])
    await refused(
        {"flow": {"steps": [_send("s", clean["id"])]}, "list_ids": [nobody]}, 409, "list_ids", "empty_audience"
    )
    assert await _count(db, "campaign_runs") == 0
    statuses = {s for (s,) in (await _rows(db, "SELECT status FROM campaigns"))}
    assert statuses == {"draft"}


async def _rows(db, sql: str, **params) -> list:
    async with db() as session:
        return list((await session.execute(text(sql), params)).all())


# --- Approval -------------------------------------------------------------------------------------------------------


async def test_approval_waits_for_a_manager_and_rejecting_needs_a_comment(app, api, db, tenant, engine_stub):
    assert (await api.patch("/api/workspaces/current", json={"requires_approval": True})).status_code == 200
    email = await _template(api, "Welcome")
    await make_leads(db, 2)
    flow = {"steps": [_send("hello", email["id"])]}
    campaign = await _campaign(api, {"flow": flow})
    cid = campaign["id"]
    marketer = await make_key(db, tenant.workspace_id, Role.marketer)
    manager = await make_key(db, tenant.workspace_id, Role.manager)
    async with client_for(app, marketer) as as_marketer, client_for(app, manager) as as_manager:
        run = await as_marketer.post(f"/api/campaigns/{cid}/launch")
        assert run.status_code == 202 and run.json()["status"] == "pending_approval"
        workflow_id = run.json()["workflow_id"]
        detail = (await as_marketer.get(f"/api/campaigns/{cid}")).json()
        assert (detail["status"], detail["approval_status"]) == ("pending_approval", "pending")
        assert (await as_marketer.post(f"/api/campaigns/{cid}/approve")).status_code == 403
        assert (await as_marketer.put(f"/api/campaigns/{cid}", json={"name": "X", "flow": flow})).status_code == 409

        for body in (None, {}, {"comment": "   "}):
            no_comment = await as_manager.post(f"/api/campaigns/{cid}/reject", json=body)
            assert (no_comment.status_code, no_comment.json()["field"]) == (422, "comment")
        rejected = await as_manager.post(f"/api/campaigns/{cid}/reject", json={"comment": "Wrong audience"})
        assert rejected.status_code == 200, rejected.text
        body = rejected.json()
        assert (body["status"], body["approval_status"], body["approval_comment"]) == (
            "rejected",
            "rejected",
            "Wrong audience",
        )
        assert body["runs"][0]["status"] == "rejected" and body["runs"][0]["finished_at"]
        await _eventually(
            lambda: (
                ("decide", {"approved": False, "user_id": None, "comment": "Wrong audience"})
                in SEEN.get(workflow_id, [])
            )
        )
        twice = await as_manager.post(f"/api/campaigns/{cid}/approve")
        assert twice.status_code == 409 and twice.json()["code"] == "invalid_state"

        edited = await as_marketer.put(f"/api/campaigns/{cid}", json={"name": "Better", "flow": flow})
        assert edited.status_code == 200 and edited.json()["status"] == "draft"
        second = await as_marketer.post(f"/api/campaigns/{cid}/launch")
        assert second.status_code == 202 and second.json()["number"] == 2
        approved = await as_manager.post(f"/api/campaigns/{cid}/approve", json={"comment": "Go"})
        assert approved.status_code == 200, approved.text
        assert (approved.json()["status"], approved.json()["approval_status"]) == ("running", "approved")
        assert approved.json()["approval_comment"] == "Go"
    actions = [a for (a,) in await _rows(db, "SELECT action FROM audit_log WHERE entity_type = 'campaign' ORDER BY id")]
    assert actions == [
        "campaign.created",
        "campaign.launched",
        "campaign.rejected",
        "campaign.updated",
        "campaign.launched",
        "campaign.approved",
    ]
    [(after,)] = await _rows(db, "SELECT after FROM audit_log WHERE action = 'campaign.rejected'")
    assert after["comment"] == "Wrong audience"


async def test_a_refused_decision_leaves_nothing_behind(api, db, tenant, engine_stub, temporal_client):
    assert (await api.patch("/api/workspaces/current", json={"requires_approval": True})).status_code == 200
    email = await _template(api, "Welcome")
    await make_leads(db, 1)
    campaign = await _campaign(api, {"flow": {"steps": [_send("hello", email["id"])]}})
    # An admin launches without approval; mark the run as waiting by hand: the workflow does not wait.
    run = (await api.post(f"/api/campaigns/{campaign['id']}/launch")).json()
    await temporal_client.get_workflow_handle(run["workflow_id"]).terminate()
    async with db() as session:
        await session.execute(text("UPDATE campaign_runs SET status = 'pending_approval'"))
        await session.execute(text("UPDATE campaigns SET status = 'pending_approval', approval_status = 'pending'"))
        await session.commit()
    refused = await api.post(f"/api/campaigns/{campaign['id']}/approve")
    assert refused.status_code == 409, refused.text
    detail = (await api.get(f"/api/campaigns/{campaign['id']}")).json()
    assert (detail["status"], detail["approval_status"]) == ("pending_approval", "pending")
    assert "campaign.approved" not in [a for (a,) in await _rows(db, "SELECT action FROM audit_log")]


# --- Schedule and calendar ------------------------------------------------------------------------------------------


async def test_reschedule_moves_a_waiting_run_and_the_calendar_shows_it(api, db, engine_stub):
    email = await _template(api, "Welcome")
    await make_leads(db, 1)
    flow = {"steps": [_send("hello", email["id"])]}
    planned = await _campaign(
        api, {"name": "Planned", "flow": flow, "schedule": {"mode": "at", "at": FUTURE.isoformat()}}
    )
    scheduled = await _campaign(
        api, {"name": "Scheduled", "flow": flow, "schedule": {"mode": "at", "at": FUTURE.isoformat()}}
    )
    run = (await api.post(f"/api/campaigns/{scheduled['id']}/launch")).json()
    assert run["status"] == "scheduled"
    running = await _campaign(api, {"name": "Running", "flow": flow})
    await api.post(f"/api/campaigns/{running['id']}/launch")

    moved_at = FUTURE + timedelta(days=2, hours=3)
    moved = await api.post(f"/api/campaigns/{scheduled['id']}/reschedule", json={"at": moved_at.isoformat()})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["scheduled_at"]) == moved_at
    assert datetime.fromisoformat(moved.json()["schedule"]["at"]) == moved_at
    await _eventually(lambda: ("reschedule", moved_at) in SEEN.get(run["workflow_id"], []))
    [(schedule,)] = await _rows(db, "SELECT schedule FROM campaign_runs WHERE workflow_id = :w", w=run["workflow_id"])
    assert datetime.fromisoformat(schedule["at"]) == moved_at
    draft_moved = await api.post(f"/api/campaigns/{planned['id']}/reschedule", json={"at": moved_at.isoformat()})
    assert draft_moved.status_code == 200 and draft_moved.json()["status"] == "draft"

    past = await api.post(f"/api/campaigns/{scheduled['id']}/reschedule", json={"at": "2020-01-01T00:00:00Z"})
    assert (past.status_code, past.json()["field"]) == (422, "at")
    naive = await api.post(f"/api/campaigns/{scheduled['id']}/reschedule", json={"at": "2030-01-01T00:00:00"})
    assert (naive.status_code, naive.json()["field"]) == (422, "at")
    busy = await api.post(f"/api/campaigns/{running['id']}/reschedule", json={"at": moved_at.isoformat()})
    assert busy.status_code == 409

    window = {"from": (moved_at - timedelta(days=1)).isoformat(), "to": (moved_at + timedelta(days=1)).isoformat()}
    entries = (await api.get("/api/campaigns/calendar", params=window)).json()
    assert {(e["name"], e["status"], e["can_reschedule"]) for e in entries} == {
        ("Planned", "draft", True),
        ("Scheduled", "scheduled", True),
    }
    today = datetime.now(UTC).date()
    now_window = {"from": today.isoformat(), "to": (today + timedelta(days=1)).isoformat()}
    now_entries = (await api.get("/api/campaigns/calendar", params=now_window)).json()
    assert [(e["name"], e["end"], e["can_reschedule"]) for e in now_entries] == [("Running", None, False)]
    backwards = await api.get("/api/campaigns/calendar", params={"from": window["to"], "to": window["from"]})
    assert (backwards.status_code, backwards.json()["field"]) == (422, "to")


async def test_a_local_time_campaign_moves_to_the_dropped_date_and_keeps_its_local_time(api, db, engine_stub):
    email = await _template(api, "Welcome")
    await make_leads(db, 1)
    flow = {"steps": [_send("hello", email["id"])]}
    day = FUTURE.date()
    local = {"mode": "local_time", "date": day.isoformat(), "local_time": "09:00"}
    draft = await _campaign(api, {"name": "Morning draft", "flow": flow, "schedule": local})
    waiting = await _campaign(api, {"name": "Morning", "flow": flow, "schedule": local})
    run = (await api.post(f"/api/campaigns/{waiting['id']}/launch")).json()
    assert run["status"] == "scheduled"

    dropped = datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC) + timedelta(hours=15)
    for campaign in (draft, waiting):
        moved = await api.post(f"/api/campaigns/{campaign['id']}/reschedule", json={"at": dropped.isoformat()})
        assert moved.status_code == 200, moved.text
        schedule = moved.json()["schedule"]
        new_day = (day + timedelta(days=2)).isoformat()
        assert (schedule["mode"], schedule["date"], schedule["local_time"]) == ("local_time", new_day, "09:00")
        # the first zone's 09:00 (UTC+14) on the new date
        assert datetime.fromisoformat(moved.json()["scheduled_at"]) == datetime.fromisoformat(
            f"{new_day}T09:00:00+14:00"
        )
    await _eventually(lambda: ("reschedule-date", new_day) in SEEN.get(run["workflow_id"], []))
    [(schedule,)] = await _rows(db, "SELECT schedule FROM campaign_runs WHERE workflow_id = :w", w=run["workflow_id"])
    assert schedule["date"] == new_day

    window = {"from": (FUTURE - timedelta(days=1)).isoformat(), "to": (FUTURE + timedelta(days=4)).isoformat()}
    entries = (await api.get("/api/campaigns/calendar", params=window)).json()
    assert {(e["name"], e["can_reschedule"]) for e in entries} >= {("Morning draft", True), ("Morning", True)}


# --- Progress, dry run, test send -----------------------------------------------------------------------------------


async def test_progress_counts_each_step_from_its_deliveries(api, db, tenant, engine_stub):
    email = await _template(api, "Welcome")
    sms = await _template(api, "Nudge", "sms")
    leads = await make_leads(db, 4)
    flow = {
        "steps": [
            {
                "id": "ab",
                "type": "ab_split",
                "variants": [
                    {"id": "a", "name": "A", "percent": 50, "steps": [_send("sa", email["id"])]},
                    {"id": "b", "name": "B", "percent": 50, "steps": [_send("sb", email["id"])]},
                ],
            },
            _send("last", email["id"], fallback={"channel": "sms", "template_id": sms["id"]}),
        ]
    }
    campaign = await _campaign(api, {"flow": flow})
    run = (await api.post(f"/api/campaigns/{campaign['id']}/launch")).json()
    now = datetime.now(UTC)
    deliveries = [
        # step index: ab=0, sa=1, sb=2, last=3
        (1, leads[0], "sent", None, "a", False, now),
        (1, leads[1], "skipped", "no_consent", "a", False, None),
        (2, leads[2], "sent", None, "b", False, now),
        (2, leads[3], "failed", None, "b", False, None),
        (3, leads[0], "sent", None, None, False, now),
        (3, leads[1], "skipped", "no_consent", None, False, None),
        (3, leads[1], "sent", None, None, True, None),
    ]
    async with db() as session:
        for step, lead, status, reason, variant, fallback, opened in deliveries:
            await session.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, skip_reason, "
                    "variant, fallback, opened_at, attempts) VALUES (:w, :r, :s, :l, 'email', :st, :re, :v, :f, :o, 1)"
                ),
                {
                    "w": tenant.workspace_id,
                    "r": run["id"],
                    "s": step,
                    "l": lead,
                    "st": status,
                    "re": reason,
                    "v": variant,
                    "f": fallback,
                    "o": opened,
                },
            )
        await session.commit()
    progress = (await api.get(f"/api/campaigns/{campaign['id']}/progress")).json()
    assert progress["live"] is True and progress["status"] == "running"
    steps = {s["step_id"]: s for s in progress["steps"]}
    assert [s["step_id"] for s in progress["steps"]] == ["ab", "sa", "sb", "last"]
    assert [s["index"] for s in progress["steps"]] == [0, 1, 2, 3]
    assert (steps["ab"]["type"], steps["ab"]["channel"]) == ("ab_split", None)
    assert (steps["sa"]["sent"], steps["sa"]["skipped"], steps["sa"]["by_reason"]) == (1, 1, {"no_consent": 1})
    assert steps["sa"]["variants"] == [
        {"variant": "a", "sent": 1, "failed": 0, "skipped": 1, "opened": 1, "clicked": 0}
    ]
    assert (steps["sb"]["sent"], steps["sb"]["failed"], steps["sb"]["opened"]) == (1, 1, 1)
    assert (steps["last"]["sent"], steps["last"]["skipped"], steps["last"]["fallback_sent"]) == (1, 1, 1)


async def test_dry_run_returns_the_engines_estimate(api, db, engine_stub):
    email = await _template(api, "Welcome")
    campaign = await _campaign(api, {"flow": {"steps": [_send("hello", email["id"])]}})
    response = await api.post(f"/api/campaigns/{campaign['id']}/dry-run")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["workflow_id"].startswith(f"campaign-{campaign['id']}-dry-run-")
    assert body["audience"] == 3 and body["steps"][0]["skipped"] == {"no_consent": 1}
    empty = await _campaign(api, {"name": "Empty"})
    assert (await api.post(f"/api/campaigns/{empty['id']}/dry-run")).json()["field"] == "flow"


async def test_test_send_sends_every_step_to_the_addresses_of_its_kind(api, db, worker):
    email = await _template(api, "Welcome")
    sms = await _template(api, "Nudge", "sms", body="Hi {{ lead.first_name }} from SMS")
    flow = {
        "steps": [
            _send("hello", email["id"], fallback={"channel": "sms", "template_id": sms["id"]}),
            _send("text", sms["id"], "sms"),
        ]
    }
    campaign = await _campaign(api, {"flow": flow})
    bad = await api.post(f"/api/campaigns/{campaign['id']}/test-send", json={"to": ["me@example.com", "nope"]})
    assert (bad.status_code, bad.json()["field"]) == (422, "to[1]")
    response = await api.post(
        f"/api/campaigns/{campaign['id']}/test-send", json={"to": ["me@example.com", "+14155550199"]}
    )
    assert response.status_code == 200, response.text
    steps = response.json()["steps"]
    assert [(s["step_id"], s["channel"], s["fallback"]) for s in steps] == [
        ("hello", "email", False),
        ("hello", "sms", True),
        ("text", "sms", False),
    ]
    assert all(r["ok"] for s in steps for r in s["results"]), steps
    assert [r["to"] for r in steps[0]["results"]] == ["me@example.com"]
    assert [r["to"] for r in steps[2]["results"]] == ["+14155550199"]
    only_email = await api.post(f"/api/campaigns/{campaign['id']}/test-send", json={"to": ["me@example.com"]})
    assert [s["skipped"] for s in only_email.json()["steps"]] == [
        None,
        "no phone number given",
        "no phone number given",
    ]
    assert await _count(db, "deliveries") == 0


async def test_a_template_used_by_a_flow_cannot_be_deleted(api, db):
    email = await _template(api, "Welcome")
    sms = await _template(api, "Nudge", "sms")
    await _campaign(
        api,
        {
            "name": "Uses",
            "flow": {"steps": [_send("s", email["id"], fallback={"channel": "sms", "template_id": sms["id"]})]},
        },
    )
    for template in (email, sms):
        refused = await api.delete(f"/api/templates/{template['id']}")
        assert refused.status_code == 409 and "'Uses'" in refused.json()["message"]


# --- With the real engine -------------------------------------------------------------------------------------------


async def test_a_flow_campaign_waits_for_approval_then_runs_to_the_end(app, api, db, tenant, worker):
    from tests.helpers import wait_for_status

    assert (await api.patch("/api/workspaces/current", json={"requires_approval": True})).status_code == 200
    email = await _template(api, "Welcome")
    sms = await _template(api, "Nudge", "sms", body="Hi {{ lead.first_name }}")
    granted = await make_leads(db, 3, prefix="ok")
    await make_leads(db, 1, prefix="sms", consent_email="denied", phone="+14155550142", consent_sms="granted")
    flow = {"steps": [_send("hello", email["id"], fallback={"channel": "sms", "template_id": sms["id"]})]}
    campaign = await _campaign(api, {"flow": flow})
    dry = await api.post(f"/api/campaigns/{campaign['id']}/dry-run")
    assert dry.status_code == 200, dry.text
    assert dry.json()["audience"] == 4 and dry.json()["steps"][0]["step_id"] == "hello"

    marketer = await make_key(db, tenant.workspace_id, Role.marketer)
    async with client_for(app, marketer) as as_marketer:
        run = await as_marketer.post(f"/api/campaigns/{campaign['id']}/launch")
    assert run.status_code == 202 and run.json()["status"] == "pending_approval", run.text
    waiting = await wait_for_status(api, campaign["id"], "pending_approval")
    assert waiting["sent"] == 0
    approved = await api.post(f"/api/campaigns/{campaign['id']}/approve", json={"comment": "ok"})
    assert approved.status_code == 200, approved.text
    done = await wait_for_status(api, campaign["id"], "completed")
    [step] = done["steps"]
    assert (step["step_id"], step["sent"], step["skipped"], step["fallback_sent"]) == ("hello", len(granted), 1, 1)
    assert step["by_reason"] == {"no_consent": 1}
    detail = (await api.get(f"/api/campaigns/{campaign['id']}")).json()
    assert (detail["status"], detail["approval_status"], detail["approval_comment"]) == ("completed", "approved", "ok")
