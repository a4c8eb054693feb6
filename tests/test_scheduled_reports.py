"""Scheduled reports end to end: the API (definitions, validation, schedules in Temporal, runs, downloads) and
ReportWorkflow with the real worker, PostgreSQL, storage and the SMTP sink, on the dev server (through the
schedule) and on the time-skipping test server (run now, with an email attempt that fails and is retried).

Every figure asserted is worked out from the deliveries and events `reported_campaigns` writes.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email import message_from_string, policy
from pathlib import Path

import aiosmtplib
import pytest
from sqlalchemy import text
from temporalio.client import ScheduleOverlapPolicy, ScheduleRange, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import ActivityEnvironment

from activities.media_activities import StorageCleanupActivities
from activities.report_activities import ReportActivities
from activities.smtp_pool import SmtpPool
from core.storage import LocalStorage
from domain.permissions import Role
from models.payloads.media import CleanupInput
from models.payloads.reports import ReportInput, ReportResult, ReportRunRef, StartReportRun
from tests import conftest
from tests.conftest import client_for, make_key, make_tenant
from tests.factories import make_campaign, make_leads
from tests.helpers import eventually
from tests.test_campaign_flow_engine import engine_worker, time_env  # noqa: F401  (fixture)

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("HERALD_RECORD_HISTORIES") == "1"
METRICS = ["sent", "delivered", "failed", "opens", "unique_opens", "clicks", "unique_clicks", "open_rate",
           "unsubscribes", "hard_bounces", "conversions", "revenue"]  # fmt: skip
HEADER = ["Period start", "Period end", "Campaign ID", "Campaign", "Sent", "Delivered", "Failed", "Opens",
          "Unique opens", "Clicks", "Unique clicks", "Open rate (%)", "Unsubscribes", "Hard bounces", "Conversions",
          "Revenue"]  # fmt: skip
# Per campaign, in METRICS order, for the last 7 days (the rows below explain each number).
SPRING = ["5", "4", "1", "4", "3", "2", "2", "75.00", "1", "1", "1", "30.00"]
NEWS = ["4", "4", "0", "1", "1", "0", "0", "25.00", "0", "0", "0", "0.00"]
TOTAL = ["9", "8", "1", "5", "4", "2", "2", "50.00", "1", "1", "1", "30.00"]


@dataclass
class Reported:
    spring: int
    news: int
    untagged: int
    first_day: str
    last_day: str


async def reported_campaigns(db, workspace_id: int) -> Reported:
    """Two campaigns tagged `spring` with activity in the last 7 days (UTC), and activity outside those days.

    Spring sale: 5 messages sent two days ago (3 opened, 2 clicked by a person), 1 failed; 4 opens and 2 clicks by
    people, a machine open and a machine click, an unsubscribe, a hard bounce, a conversion worth 30; plus a message
    sent and an open ten days ago and today (outside the period). Spring news: 4 sent, 1 opened (1 open event).
    An untagged campaign sent 3 in the period.
    """
    today = datetime.now(UTC).date()
    inside = datetime.combine(today - timedelta(days=2), time(12), tzinfo=UTC)
    before = datetime.combine(today - timedelta(days=10), time(12), tzinfo=UTC)
    after = datetime.combine(today, time(0, 30), tzinfo=UTC)
    leads = await make_leads(db, 12, prefix="rep", workspace_id=workspace_id)
    spring = await make_campaign(db, None, workspace_id=workspace_id, name="Spring <sale>")
    news = await make_campaign(db, None, workspace_id=workspace_id, name="Spring news")
    untagged = await make_campaign(db, None, workspace_id=workspace_id, name="Other")
    async with db() as session:
        await session.execute(
            text("UPDATE campaigns SET tags = ARRAY['spring'] WHERE id = ANY(:ids)"), {"ids": [spring, news]}
        )

        async def run_of(campaign_id: int) -> int:
            return (
                await session.execute(
                    text(
                        "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, "
                        "sent, failed, skipped, started_at) VALUES (:w, :c, 1, :wf, 'completed', 0, 0, 0, 0, :at) "
                        "RETURNING id"
                    ),
                    {"w": workspace_id, "c": campaign_id, "wf": f"campaign-{campaign_id}-run-1", "at": before},
                )
            ).scalar_one()

        async def delivery(run: int, lead: int, status: str, at: datetime, opened=False, clicked=False) -> int:
            return (
                await session.execute(
                    text(
                        "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, "
                        "sent_at, opened_at, clicked_at, created_at, updated_at) VALUES (:w, :r, 0, :l, 'email', "
                        ":s, 1, :sent, :o, :c, :at, :at) RETURNING id"
                    ),
                    {"w": workspace_id, "r": run, "l": lead, "s": status, "at": at,
                     "sent": at if status == "sent" else None, "o": at if opened else None,
                     "c": at if clicked else None},
                )
            ).scalar_one()  # fmt: skip

        async def event(campaign: int, run: int, lead: int, kind: str, at: datetime = inside, machine=False,
                        meta: str = "{}") -> None:  # fmt: skip
            await session.execute(
                text(
                    "INSERT INTO events (workspace_id, lead_id, campaign_id, run_id, step, channel, type, machine, "
                    "occurred_at, metadata) VALUES (:w, :l, :c, :r, 0, 'email', :t, :m, :at, CAST(:meta AS jsonb))"
                ),
                {"w": workspace_id, "l": lead, "c": campaign, "r": run, "t": kind, "m": machine, "at": at,
                 "meta": meta},
            )  # fmt: skip

        spring_run, news_run, other_run = await run_of(spring), await run_of(news), await run_of(untagged)
        for n in range(5):
            await delivery(spring_run, leads[n], "sent", inside, opened=n < 3, clicked=n < 2)
        await delivery(spring_run, leads[5], "failed", inside)
        await delivery(spring_run, leads[6], "sent", before, opened=True)
        await delivery(spring_run, leads[7], "sent", after, opened=True)
        for lead in (leads[0], leads[0], leads[1], leads[2]):
            await event(spring, spring_run, lead, "open")
        await event(spring, spring_run, leads[3], "open", machine=True)
        await event(spring, spring_run, leads[0], "click")
        await event(spring, spring_run, leads[1], "click")
        await event(spring, spring_run, leads[4], "click", machine=True)
        await event(spring, spring_run, leads[4], "unsubscribe")
        await event(spring, spring_run, leads[3], "bounce", meta='{"permanent": true}')
        await event(spring, spring_run, leads[0], "conversion", meta='{"conversion_id": "c1", "value": "30"}')
        await event(spring, spring_run, leads[6], "open", at=before)
        await event(spring, spring_run, leads[7], "open", at=after)
        for n in range(4):
            await delivery(news_run, leads[8 + n], "sent", inside, opened=n == 0)
        await event(news, news_run, leads[8], "open")
        for n in range(3):
            await delivery(other_run, leads[n], "sent", inside)
        await session.commit()
    return Reported(
        spring, news, untagged, (today - timedelta(days=7)).isoformat(), (today - timedelta(days=1)).isoformat()
    )


def definition(campaign_ids: list[int], **overrides) -> dict:
    return {
        "name": "Weekly spring",
        "campaign_ids": campaign_ids,
        "metrics": METRICS,
        "period": "last_7_days",
        "cadence": "weekly",
        "weekday": "monday",
        "hour": 7,
        "minute": 30,
        "recipients": ["ann@example.com", "Bob@Example.com"],
        **overrides,
    }


async def create(api, body: dict, status: int = 201) -> dict:
    response = await api.post("/api/reports", json=body)
    assert response.status_code == status, response.text
    return response.json()


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def assert_report_csv(rows: list[list[str]], data: Reported) -> None:
    period = [data.first_day, data.last_day]
    assert rows == [
        HEADER,
        [*period, str(data.spring), "Spring <sale>", *SPRING],
        [*period, str(data.news), "Spring news", *NEWS],
        [*period, "", "All campaigns", *TOTAL],
    ]


def assert_report_html(html: str) -> None:
    assert "Spring &lt;sale&gt;" in html and "<sale>" not in html
    assert "<script" not in html and html.count("<svg") == 4
    for figure in (">9<", ">8<", ">50.0%<", ">30.00<"):  # sent, delivered, open rate, revenue in total
        assert figure in html, figure


async def sink_messages(db, run_id: int) -> list:
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT rcpt_to, subject, raw FROM outbox_messages WHERE raw LIKE '%X-Herald-Report-Run:%' ORDER BY id"
            )
        )
        parsed = [(row.rcpt_to, row.subject, message_from_string(row.raw, policy=policy.default)) for row in rows]
    return [item for item in parsed if item[2]["X-Herald-Report-Run"] == str(run_id)]


def attachments_of(message) -> dict[str, bytes]:
    files = {}
    for part in message.iter_attachments():
        assert part.get_content_type() in ("text/csv", "text/html") and part.get_content_charset() == "utf-8"
        files[part.get_filename()] = part.get_payload(decode=True)
    return files


# --- API: definitions, validation, the schedule in Temporal --------------------------------------------------------


async def test_definition_crud_keeps_its_temporal_schedule_in_step(api, db, tenant, temporal_client):
    await api.patch("/api/workspaces/current", json={"timezone": "Europe/Paris"})
    data = await reported_campaigns(db, tenant.workspace_id)
    created = await create(api, definition([data.spring, data.news]))
    assert created["timezone"] == "Europe/Paris" and created["schedule_id"] == f"report-{created['id']}"
    assert created["recipients"] == ["ann@example.com", "Bob@example.com"] and created["last_run"] is None
    next_run = datetime.fromisoformat(created["next_run_at"])
    assert next_run.weekday() == 0 and (next_run.hour, next_run.minute) == (7, 30)  # Monday 07:30, Paris offset

    handle = temporal_client.get_schedule_handle(created["schedule_id"])
    described = (await handle.describe()).schedule
    calendar = described.spec.calendars[0]
    assert described.spec.time_zone_name == "Europe/Paris"
    assert (list(calendar.hour), list(calendar.minute)) == ([ScheduleRange(7)], [ScheduleRange(30)])
    assert list(calendar.day_of_week) == [ScheduleRange(1)]  # Monday, counted from Sunday = 0
    assert described.policy.overlap == ScheduleOverlapPolicy.SKIP and not described.state.paused
    assert described.action.workflow == "ReportWorkflow"
    assert described.action.id == created["schedule_id"]

    changed = await api.patch(
        f"/api/reports/{created['id']}", json={"cadence": "monthly", "day_of_month": 1, "hour": 6, "enabled": False}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["cadence"], changed.json()["weekday"], changed.json()["next_run_at"]) == (
        "monthly",
        None,
        None,
    )
    described = (await handle.describe()).schedule
    assert described.state.paused
    assert list(described.spec.calendars[0].day_of_month) == [ScheduleRange(1)]
    assert list(described.spec.calendars[0].hour) == [ScheduleRange(6)]
    resumed = await api.patch(f"/api/reports/{created['id']}", json={"enabled": True, "tag": "spring"})
    assert resumed.json()["tag"] == "spring" and resumed.json()["campaign_ids"] == []
    assert not (await handle.describe()).schedule.state.paused

    listed = (await api.get("/api/reports", params={"search": "spring"})).json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
    assert (await api.get(f"/api/reports/{created['id']}")).json()["tag"] == "spring"

    assert (await api.delete(f"/api/reports/{created['id']}")).status_code == 204
    with pytest.raises(RPCError) as err:
        await handle.describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND
    assert (await api.get(f"/api/reports/{created['id']}")).status_code == 404


async def test_bad_definitions_are_refused_naming_the_field(app, api, db, tenant):
    data = await reported_campaigns(db, tenant.workspace_id)
    other = await make_tenant(db, "Other", "admin@other.test")
    foreign = await make_campaign(db, None, workspace_id=other.workspace_id, name="Theirs")
    cases = [
        (definition([data.spring], metrics=["sent", "opens_per_hour"]), "metrics[1]"),
        (definition([data.spring], recipients=["ann@example.com", "not-an-address"]), "recipients[1]"),
        (definition([data.spring, foreign]), "campaign_ids[1]"),
        (definition([]), "campaign_ids"),
        (definition([data.spring], tag="spring"), "tag"),
        (definition([data.spring], weekday=None), "weekday"),
        (definition([data.spring], cadence="daily"), "weekday"),
        (definition([data.spring], cadence="monthly", weekday=None, day_of_month=31), "day_of_month"),
        (definition([data.spring], period="last_year"), "period"),
        (definition([data.spring], hour=24), "hour"),
        (definition([data.spring], recipients=[]), "recipients"),
        (definition([data.spring], metrics=[]), "metrics"),
    ]
    for body, field in cases:
        response = await api.post("/api/reports", json=body)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["field"] == field, (field, response.json())
        assert response.json()["message"].startswith(field), response.json()
    created = await create(api, definition([data.spring]))
    duplicate = await api.post("/api/reports", json=definition([data.news]))
    assert duplicate.status_code == 409 and duplicate.json()["field"] == "name"
    patched = await api.patch(f"/api/reports/{created['id']}", json={"recipients": ["bad"]})
    assert patched.status_code == 422 and patched.json()["field"] == "recipients[0]"
    assert (await api.get("/api/reports")).json()["total"] == 1

    async with client_for(app, other.admin_key) as theirs:  # another workspace sees none of it
        assert (await theirs.get(f"/api/reports/{created['id']}")).status_code == 404
        assert (await theirs.post(f"/api/reports/{created['id']}/run")).status_code == 404
    marketer = await make_key(db, tenant.workspace_id, Role.marketer)
    async with client_for(app, marketer) as client:
        assert (await client.get("/api/reports")).status_code == 403
    options = (await api.get("/api/reports/options")).json()
    assert "click_to_open" in [m["key"] for m in options["metrics"]] and options["campaign_tags"] == ["spring"]
    assert [p["key"] for p in options["periods"]][:2] == ["last_day", "last_7_days"]


async def test_nothing_is_kept_when_temporal_refuses_the_schedule(api, db, tenant, monkeypatch):
    data = await reported_campaigns(db, tenant.workspace_id)

    async def refuse(*args, **kwargs):
        raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")

    monkeypatch.setattr("api.routes.reports.create_report_schedule", refuse)
    response = await api.post("/api/reports", json=definition([data.spring]))
    assert response.status_code == 503 and response.json()["code"] == "unavailable"
    assert (await api.get("/api/reports")).json()["total"] == 0
    monkeypatch.undo()
    created = await create(api, definition([data.spring]))
    monkeypatch.setattr("api.routes.reports.delete_report_schedule", refuse)
    assert (await api.delete(f"/api/reports/{created['id']}")).status_code == 503
    assert (await api.get(f"/api/reports/{created['id']}")).status_code == 200
    monkeypatch.setattr("api.routes.reports.update_report_schedule", refuse)
    paused = await api.patch(f"/api/reports/{created['id']}", json={"enabled": False, "name": "Renamed"})
    assert paused.status_code == 503
    assert (await api.get(f"/api/reports/{created['id']}")).json()["name"] == "Weekly spring"


# --- Runs: through the schedule (dev server), run now (time-skipping server) --------------------------------------


async def test_the_schedule_starts_a_run_that_stores_and_emails_both_files(api, worker, db, tenant, temporal_client):
    data = await reported_campaigns(db, tenant.workspace_id)
    created = await create(api, definition([data.spring, data.news]))
    await temporal_client.get_schedule_handle(created["schedule_id"]).trigger()

    async def ready():
        runs = (await api.get(f"/api/reports/{created['id']}/runs")).json()["items"]
        return runs[0] if runs and runs[0]["status"] in ("ready", "failed") else None

    run = await eventually(ready, timeout=90)
    assert run["status"] == "ready", run
    assert run["trigger"] == "schedule" and run["workflow_id"].startswith(f"report-{created['id']}-")
    scheduled = run["workflow_id"].removeprefix(f"report-{created['id']}-")  # the schedule's suffix: its time
    assert datetime.fromisoformat(run["run_at"]) == datetime.strptime(scheduled, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    assert (run["first_day"], run["last_day"]) == (data.first_day, data.last_day)
    assert run["totals"]["sent"] == 9 and run["totals"]["open_rate"] == pytest.approx(0.5)
    assert run["campaign_count"] == 2 and sorted(run["emailed_to"]) == ["Bob@example.com", "ann@example.com"]
    result = await temporal_client.get_workflow_handle(run["workflow_id"], result_type=ReportResult).result()
    assert result.status == "ready" and result.run_id == run["id"]

    csv_file = await api.get(run["csv_url"])
    assert csv_file.status_code == 200 and "attachment" in csv_file.headers["content-disposition"]
    assert_report_csv(read_csv(csv_file.content), data)
    html_file = await api.get(run["html_url"], params={"disposition": "inline"})
    assert html_file.status_code == 200 and html_file.headers["content-type"].startswith("text/html")
    assert "sandbox" in html_file.headers["content-security-policy"]
    assert_report_html(html_file.text)

    messages = await sink_messages(db, run["id"])
    assert sorted(rcpt[0] for rcpt, _, _ in messages) == ["Bob@example.com", "ann@example.com"]
    for _, subject, message in messages:
        assert subject.startswith("Report: Weekly spring")
        assert "Sent: 9" in message.get_body(preferencelist=("plain",)).get_content()
        files = attachments_of(message)
        name = f"weekly-spring-{data.first_day}-to-{data.last_day}"
        assert set(files) == {f"{name}.csv", f"{name}.html"}
        assert_report_csv(read_csv(files[f"{name}.csv"]), data)
        assert_report_html(files[f"{name}.html"].decode())
    latest = (await api.get(f"/api/reports/{created['id']}")).json()["last_run"]
    assert latest["id"] == run["id"]
    if RECORD:
        history = await temporal_client.get_workflow_handle(run["workflow_id"]).fetch_history()
        (HISTORIES / "ReportWorkflow-scheduled-ready.json").write_text(history.to_json())


class FlakySmtp(SmtpPool):
    """The real pool, but the n-th message of the worker's life fails as a dropped connection (transient)."""

    def __init__(self, real: SmtpPool, fail_on: set[int]) -> None:
        super().__init__(real.config)
        self.real, self.fail_on, self.calls, self.accepted = real, fail_on, 0, []

    async def send(self, email, **kwargs) -> None:
        self.calls += 1
        if self.calls in self.fail_on:
            raise aiosmtplib.SMTPServerDisconnected("injected: connection dropped")
        await self.real.send(email, **kwargs)
        self.accepted.append(email.recipients[0])

    async def close(self) -> None:
        await self.real.close()


class RefusingSmtp(SmtpPool):
    async def send(self, email, **kwargs) -> None:
        raise aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(550, "5.1.1 no such user", email.recipients[0])]
        )


async def test_run_now_on_the_time_skipping_server_emails_each_recipient_once_despite_a_retry(
    time_env,  # noqa: F811  (the fixture imported above)
    api,
    settings,
    db,
    tenant,
):
    data = await reported_campaigns(db, tenant.workspace_id)
    recipients = ["ann@example.com", "bob@example.com", "carol@example.com"]
    created = await create(api, definition([], tag="spring", recipients=recipients, enabled=False))
    from api.main import create_app

    skipping_app = create_app(settings, temporal_client=time_env.client)
    smtp = FlakySmtp(conftest.make_smtp_pool(settings), fail_on={2})  # bob's first attempt fails
    async with skipping_app.router.lifespan_context(skipping_app), client_for(skipping_app, tenant.admin_key) as c:
        async with engine_worker(time_env.client, settings, db, smtp=smtp):
            queued = await c.post(f"/api/reports/{created['id']}/run")
            assert queued.status_code == 202, queued.text
            run = queued.json()
            assert run["status"] == "queued" and run["trigger"] == "manual" and run["csv_url"] is None
            assert (run["first_day"], run["last_day"]) == (data.first_day, data.last_day)
            handle = time_env.client.get_workflow_handle(run["workflow_id"], result_type=ReportResult)
            result = await handle.result()
        assert result.status == "ready" and result.emailed_to == recipients
        run = (await c.get(f"/api/reports/{created['id']}/runs/{run['id']}")).json()
        csv_file = await c.get(run["csv_url"])
        html_file = await c.get(run["html_url"])
    assert smtp.calls == 4 and smtp.accepted == recipients  # ann, bob (dropped), then bob and carol on the retry
    assert run["status"] == "ready" and run["emailed_to"] == recipients and run["email_failures"] == {}
    assert_report_csv(read_csv(csv_file.content), data)  # the tag's active campaigns: the untagged one is left out
    assert_report_html(html_file.content.decode())
    messages = await sink_messages(db, run["id"])
    assert [rcpt[0] for rcpt, _, _ in messages] == recipients  # one each: the retry skipped ann
    assert all(len(attachments_of(message)) == 2 for _, _, message in messages)
    history = await handle.fetch_history()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert max(attempts) == 2  # the email activity ran twice
    if RECORD:
        (HISTORIES / "ReportWorkflow-manual-email-retried.json").write_text(history.to_json())


async def test_a_paused_schedule_skips_and_a_refused_recipient_list_fails_the_run(
    time_env,  # noqa: F811  (the fixture imported above)
    api,
    settings,
    db,
    tenant,
):
    data = await reported_campaigns(db, tenant.workspace_id)
    created = await create(api, definition([data.spring], enabled=False))
    task_queue = settings.temporal_task_queue
    refusing = RefusingSmtp(conftest.make_smtp_pool(settings).config)
    async with engine_worker(time_env.client, settings, db, smtp=refusing):
        skipped = await time_env.client.execute_workflow(
            "ReportWorkflow",
            ReportInput(definition_id=created["id"], workspace_id=tenant.workspace_id),
            id=f"report-{created['id']}-paused",
            task_queue=task_queue,
            result_type=ReportResult,
        )
        assert skipped == ReportResult(run_id=None, status="skipped")
        handle = await time_env.client.start_workflow(
            "ReportWorkflow",
            ReportInput(definition_id=created["id"], workspace_id=tenant.workspace_id, manual=True),
            id=f"report-{created['id']}-refused",
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    runs = (await api.get(f"/api/reports/{created['id']}/runs")).json()["items"]
    assert len(runs) == 1 and runs[0]["status"] == "failed"
    assert "no recipient could be emailed" in runs[0]["error"] and "5.1.1" in runs[0]["error"]
    assert set(runs[0]["email_failures"]) == {"ann@example.com", "Bob@example.com"}
    assert runs[0]["csv_url"] is not None  # the files were written: still downloadable
    assert (await api.get(runs[0]["csv_url"])).status_code == 200
    if RECORD:
        for workflow_id, name in ((f"report-{created['id']}-paused", "paused-skipped"),
                                  (f"report-{created['id']}-refused", "all-recipients-refused")):  # fmt: skip
            history = await time_env.client.get_workflow_handle(workflow_id).fetch_history()
            (HISTORIES / f"ReportWorkflow-{name}.json").write_text(history.to_json())


async def test_a_second_email_attempt_after_success_sends_nothing(api, db, tenant, settings, smtp_port, tmp_path):
    """The guard itself: email_report run again (as a retry would) finds every recipient recorded."""
    data = await reported_campaigns(db, tenant.workspace_id)
    created = await create(api, definition([data.spring]))
    storage = LocalStorage(tmp_path / "storage")
    smtp = FlakySmtp(conftest.make_smtp_pool(settings), fail_on=set())
    activities = ReportActivities(db, storage, smtp, settings.mail_from)
    env = ActivityEnvironment()
    ref = await env.run(
        activities.start_report_run,
        StartReportRun(
            definition_id=created["id"],
            workspace_id=tenant.workspace_id,
            workflow_id=f"report-{created['id']}-direct",
            run_at=datetime.now(UTC),
            manual=True,
        ),
    )
    assert isinstance(ref, ReportRunRef)
    again = await env.run(
        activities.start_report_run,
        StartReportRun(
            definition_id=created["id"],
            workspace_id=tenant.workspace_id,
            workflow_id=f"report-{created['id']}-direct",
            run_at=datetime.now(UTC),
            manual=True,
        ),
    )
    assert again == ref  # a retried start finds its row
    files = await env.run(activities.write_report_files, ref)
    assert storage.exists(files.csv_key) and storage.exists(files.html_key)
    first = await env.run(activities.email_report, ref)
    second = await env.run(activities.email_report, ref)
    assert first.emailed_to == second.emailed_to == ["ann@example.com", "Bob@example.com"]
    assert smtp.calls == 2
    await smtp.close()

    # The nightly cleanup keeps a run's files and removes report files no run refers to (a deleted report's).
    orphan = f"reports/{tenant.workspace_id}/999999/1/report.csv"
    storage.put_bytes(orphan, b"x")
    cleanup = StorageCleanupActivities(engine=db.kw["bind"], storage=storage)
    cleaned = await env.run(cleanup.clean_orphans, CleanupInput(grace_hours=0))
    assert cleaned.deleted == [orphan]
    assert storage.exists(files.csv_key) and storage.exists(files.html_key)


async def test_download_waits_for_the_files(api, db, tenant):
    data = await reported_campaigns(db, tenant.workspace_id)
    created = await create(api, definition([data.spring]))
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO report_runs (workspace_id, definition_id, workflow_id, trigger, status, run_at) "
                    "VALUES (:w, :d, 'report-x-waiting', 'manual', 'running', now()) RETURNING id"
                ),
                {"w": tenant.workspace_id, "d": created["id"]},
            )
        ).scalar_one()
        await session.commit()
    waiting = await api.get(f"/api/reports/{created['id']}/runs/{run_id}/csv")
    assert waiting.status_code == 409 and waiting.json()["code"] == "not_ready"
    assert (await api.get(f"/api/reports/{created['id']}/runs/{run_id + 1000}")).status_code == 404
