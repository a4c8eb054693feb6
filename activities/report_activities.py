"""Report activities: record the run, write its CSV and HTML summary to storage, mail them, record how it ended.

Each one is safe to run again. `start_report_run` inserts the run under its unique workflow id (or picks up the row
"run now" recorded); `write_report_files` replaces the objects under the run's fixed keys; `email_report` records
each recipient on the run row as soon as the relay accepted its message, and skips the recipients recorded, so a
retried attempt mails only those still waiting (the send and its record finish together even when the activity
is cancelled, like a campaign send). A retry can only repeat a message whose acceptance was never recorded
(a worker killed in between); it then carries the same Message-ID.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels.base import PermanentSendError, SendError
from activities.channels.email import classify_smtp_error
from activities.email_message import DkimSigner, OutgoingEmail, mail_domain
from activities.report_figures import campaigns_of, load_figures
from activities.send_guard import finish_even_if_cancelled
from activities.smtp_pool import SmtpPool
from activities.user_mail import Attachment, build_report_email
from core.storage import ObjectNotFound, Storage
from domain.report_definition import ReportConfigError, run_config
from domain.report_files import (
    CSV_CONTENT_TYPE,
    HTML_CONTENT_TYPE,
    ReportHeading,
    report_csv,
    report_filename,
    report_html,
    report_totals,
    summary_text,
)
from domain.report_schedule import Window, period_window
from models.payloads.reports import (
    ReportEmailResult,
    ReportFiles,
    ReportRunOutcome,
    ReportRunRef,
    StartReportRun,
)
from models.reports import ReportDefinition, ReportRun

log = structlog.get_logger("herald.activities.reports")
REFUSED = "ReportRefused"  # non-retryable: the same input would fail the same way
EMAIL_DEFERRED = "ReportEmailDeferred"  # the relay said "later" (or was unreachable): retried
MAX_ERROR_LENGTH = 2000
FINISHED = ("ready", "failed")

START_RUN = text(
    """
    INSERT INTO report_runs (workspace_id, definition_id, workflow_id, trigger, status, run_at, period_start,
                             period_end, config, recipients, emailed_to, email_failures, created_at, started_at)
    VALUES (:w, :d, :workflow_id, :trigger, 'running', :run_at, :start, :end, CAST(:config AS jsonb),
            CAST(:recipients AS jsonb), '[]', '{}', now(), now())
    ON CONFLICT (workflow_id) DO UPDATE
        SET status = 'running', started_at = now(), run_at = EXCLUDED.run_at, period_start = EXCLUDED.period_start,
            period_end = EXCLUDED.period_end, config = EXCLUDED.config, recipients = EXCLUDED.recipients
        WHERE report_runs.status = 'queued'
    RETURNING id
    """
)
RECORD_SENT = text(
    "UPDATE report_runs SET emailed_to = emailed_to || jsonb_build_array(CAST(:to AS text)) "
    "WHERE id = :id AND NOT emailed_to @> jsonb_build_array(CAST(:to AS text))"
)
RECORD_REFUSED = text(
    "UPDATE report_runs SET email_failures = email_failures || jsonb_build_object(CAST(:to AS text), "
    "CAST(:reason AS text)) WHERE id = :id"
)


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type=REFUSED, non_retryable=True)


def storage_keys(workspace_id: int, definition_id: int, run_id: int) -> tuple[str, str]:
    base = f"reports/{workspace_id}/{definition_id}/{run_id}"
    return f"{base}/report.csv", f"{base}/summary.html"


class ReportActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        storage: Storage,
        smtp: SmtpPool,
        mail_from: str,
        dkim: DkimSigner | None = None,
    ) -> None:
        self.sessions = sessions
        self.storage = storage
        self.smtp = smtp
        self.mail_from = mail_from
        self.dkim = dkim

    @activity.defn
    async def start_report_run(self, input: StartReportRun) -> ReportRunRef | None:
        """Records the run (status running) with a copy of the definition; None when there is nothing to run:
        the definition is gone, or paused and this is not a run started by hand."""
        async with self.sessions() as session:
            definition = await session.get(ReportDefinition, input.definition_id)
            if definition is None or definition.workspace_id != input.workspace_id:
                log.info("report skipped: no such definition", definition_id=input.definition_id)
                return None
            if not definition.enabled and not input.manual:
                log.info("report skipped: paused", definition_id=input.definition_id)
                return None
            try:
                window = period_window(definition.period, input.run_at, definition.timezone)
            except ReportConfigError as exc:
                raise _refuse(f"report {definition.id}: {exc.message}") from exc
            run_id = (
                await session.execute(
                    START_RUN,
                    {
                        "w": definition.workspace_id,
                        "d": definition.id,
                        "workflow_id": input.workflow_id,
                        "trigger": "manual" if input.manual else "schedule",
                        "run_at": input.run_at,
                        "start": window.start,
                        "end": window.end,
                        "config": json.dumps(config_of(definition)),
                        "recipients": json.dumps(list(definition.recipients)),
                    },
                )
            ).scalar_one_or_none()
            if run_id is None:  # started already (a retry of this activity): the row is there
                run_id = (
                    await session.execute(
                        text("SELECT id FROM report_runs WHERE workflow_id = :workflow_id"),
                        {"workflow_id": input.workflow_id},
                    )
                ).scalar_one()
            await session.commit()
        log.info("report run started", run_id=run_id, definition_id=input.definition_id, workflow=input.workflow_id)
        return ReportRunRef(run_id=run_id, workspace_id=input.workspace_id)

    @activity.defn
    async def write_report_files(self, input: ReportRunRef) -> ReportFiles:
        """Counts the period's figures, renders the CSV and the HTML summary, stores both under the run's keys."""
        run = await self._run(input)
        config = run.config
        window = period_window(config["period"], run.run_at, config["timezone"])
        async with self.sessions() as session:
            campaigns = await campaigns_of(session, run.workspace_id, config["campaign_ids"], config.get("tag"))
            figures = await load_figures(
                session, run.workspace_id, campaigns, window, config["timezone"], only_active=not config["campaign_ids"]
            )
        metrics = list(config["metrics"])
        heading = _heading(config, window, datetime.now(UTC), campaigns)
        csv_bytes = report_csv(figures, metrics, window)
        html_bytes = report_html(heading, figures, metrics).encode("utf-8")
        csv_key, html_key = storage_keys(run.workspace_id, run.definition_id, run.id)
        await asyncio.to_thread(self.storage.put_bytes, csv_key, csv_bytes, CSV_CONTENT_TYPE)
        await asyncio.to_thread(self.storage.put_bytes, html_key, html_bytes, HTML_CONTENT_TYPE)
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE report_runs SET csv_key = :csv, html_key = :html, totals = CAST(:totals AS jsonb), "
                    "campaign_count = :campaigns WHERE id = :id"
                ),
                {
                    "csv": csv_key,
                    "html": html_key,
                    "totals": json.dumps(report_totals(figures, metrics)),
                    "campaigns": len(figures.campaigns),
                    "id": run.id,
                },
            )
            await session.commit()
        log.info("report files written", run_id=run.id, campaigns=len(figures.campaigns))
        return ReportFiles(run_id=run.id, csv_key=csv_key, html_key=html_key, campaigns=len(figures.campaigns))

    @activity.defn
    async def email_report(self, input: ReportRunRef) -> ReportEmailResult:
        """Mails both files to each recipient not yet recorded on the run; a recipient the relay refuses for good is
        recorded in `email_failures` and the others still get theirs. Every recipient refused: non-retryable."""
        run = await self._run(input)
        if not run.csv_key or not run.html_key:
            raise _refuse(f"report run {run.id} has no files to send")
        sent, failures = list(run.emailed_to), dict(run.email_failures)
        pending = [(index, to) for index, to in enumerate(run.recipients) if to not in sent and to not in failures]
        if pending:
            config = run.config
            window = period_window(config["period"], run.run_at, config["timezone"])
            attachments = await self._attachments(run, window)
            subject = f"Report: {config['name']} ({window.label()})"
            body = summary_text(
                config["name"], config["period"], window, config["timezone"], run.totals, run.campaign_count or 0
            )
            for index, to in pending:
                try:
                    email = build_report_email(
                        mail_from=self.mail_from,
                        to=to,
                        subject=subject,
                        body=body,
                        attachments=attachments,
                        message_id=f"<herald-report-{run.id}-{index}@{mail_domain(self.mail_from)}>",
                        workspace_id=run.workspace_id,
                        run_id=run.id,
                    )
                    await finish_even_if_cancelled(self._send_and_record(run.id, to, email))
                except (PermanentSendError, ValueError) as exc:
                    reason = exc.reason if isinstance(exc, SendError) else str(exc)
                    await self._record_refused(run.id, to, reason)
                    failures[to] = reason
                    log.warning("report email refused", run_id=run.id, to=to, reason=reason)
                    continue
                except SendError as exc:  # transient: this attempt stops, the retry sends what is left
                    raise ApplicationError(f"email to {to}: {exc.reason}", type=EMAIL_DEFERRED) from exc
                sent.append(to)
        if run.recipients and not sent:
            raise _refuse("no recipient could be emailed: " + "; ".join(f"{k}: {v}" for k, v in failures.items()))
        log.info("report emailed", run_id=run.id, emailed=len(sent), refused=len(failures))
        return ReportEmailResult(run_id=run.id, emailed_to=sent, failures=failures)

    @activity.defn
    async def finish_report_run(self, input: ReportRunOutcome) -> None:
        """Marks the run ready or failed (a run already ready is never failed afterwards, nor the reverse)."""
        other = "failed" if input.status == "ready" else "ready"
        async with self.sessions() as session:
            await session.execute(
                text(
                    "UPDATE report_runs SET status = :status, error = :error, finished_at = coalesce(finished_at, "
                    "now()) WHERE id = :id AND workspace_id = :w AND status <> :other"
                ),
                {
                    "status": input.status,
                    "error": (input.error or "")[:MAX_ERROR_LENGTH] or None,
                    "id": input.run_id,
                    "w": input.workspace_id,
                    "other": other,
                },
            )
            await session.commit()
        log.info("report run finished", run_id=input.run_id, status=input.status, error=input.error)

    async def _run(self, input: ReportRunRef) -> ReportRun:
        async with self.sessions() as session:
            run = await session.get(ReportRun, input.run_id)
        if run is None or run.workspace_id != input.workspace_id:
            raise _refuse(f"report run {input.run_id} not found")
        return run

    async def _attachments(self, run: ReportRun, window: Window) -> list[Attachment]:
        name = run.config["name"]
        try:
            csv_bytes = await asyncio.to_thread(_read, self.storage, run.csv_key)
            html_bytes = await asyncio.to_thread(_read, self.storage, run.html_key)
        except ObjectNotFound as exc:
            raise _refuse(f"the files of report run {run.id} are no longer stored") from exc
        return [
            Attachment(report_filename(name, window, "csv"), csv_bytes, "text", "csv"),
            Attachment(report_filename(name, window, "html"), html_bytes, "text", "html"),
        ]

    async def _send_and_record(self, run_id: int, to: str, email: OutgoingEmail) -> None:
        try:
            await self.smtp.send(email, sign=self.dkim.sign if self.dkim else None)
        except Exception as exc:
            raise classify_smtp_error(exc) from exc
        async with self.sessions() as session:
            await session.execute(RECORD_SENT, {"id": run_id, "to": to})
            await session.commit()

    async def _record_refused(self, run_id: int, to: str, reason: str) -> None:
        async with self.sessions() as session:
            await session.execute(RECORD_REFUSED, {"id": run_id, "to": to, "reason": reason[:500]})
            await session.commit()


def config_of(definition: ReportDefinition) -> dict[str, Any]:
    return run_config(
        name=definition.name,
        campaign_ids=definition.campaign_ids,
        tag=definition.tag,
        metrics=definition.metrics,
        period=definition.period,
        timezone=definition.timezone,
    )


def _heading(config: dict[str, Any], window: Window, now: datetime, campaigns: list[tuple[int, str]]) -> ReportHeading:
    if config["campaign_ids"]:
        names = ", ".join(name for _, name in campaigns[:5]) + (" …" if len(campaigns) > 5 else "")
        selection = f"Campaigns: {names}" if campaigns else "Campaigns: none left"
    else:
        selection = f"Tag: {config['tag']}"
    return ReportHeading(
        name=config["name"],
        period=config["period"],
        window=window,
        timezone=config["timezone"],
        selection=selection,
        generated_at=now,
    )


def _read(storage: Storage, key: str) -> bytes:
    with storage.open(key) as handle:
        return handle.read()
