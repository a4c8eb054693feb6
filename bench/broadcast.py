"""Broadcast speed: messages/s of a one-step email campaign through CampaignWorkflow, beside a raw send loop.

In the same run, to the same local SMTP sink (Herald's embedded sink, in its own process, storing every message in
`outbox_messages`; with --discard, a sink that drops them, so the senders are measured without its writes; a fresh
sink process for each loop):
  1. raw: the leads already in memory, each message rendered from the same template (CompiledTemplate), its
     links and open pixel tracked as a campaign's are (track_email), composed by build_email, then sent over the
     same number of pooled SMTP connections: no Temporal, no database;
  3. floor (run last): the same loop as 1, writing what the engine writes per message with the engine's statements
     (deliveries claimed a page at a time, marked sent in groups, the lead_last_sent trigger): no Temporal.
  2. engine: the campaign's flow run by CampaignWorkflow on a real worker process (`herald worker`): audience
     snapshot, batched send activities (CAMPAIGN_BATCH_SIZE, 1,000 leads) claiming a delivery row per lead,
     continue-as-new when suggested.
Targets (issue #8): engine >= 70% of the raw loop and >= 1,500 messages/s on 2 cores; the run's history stays under
10,000 events per execution.

    .venv/bin/python bench/broadcast.py [--leads 100000] [--million] [--connections 5] [--batch-size N] [--discard]
Uses DATABASE_URL's server when set (a new database on it, dropped afterwards), else an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from activities.campaign_flow_activities import SentMarks, insert_deliveries
from activities.email_message import build_email
from activities.email_tracking import parse_tracking, track_email
from activities.render_context import LEAD_COLUMNS, workspace_render_info
from activities.smtp_pool import SmtpConfig, SmtpPool
from api.accounts import create_workspace
from core.db import async_url, create_engine, drop_database, run_migrations, session_factory
from core.embedded import start_embedded_postgres
from core.settings import Settings
from core.signing import media_url_rewriter, unsubscribe_url
from core.temporal import dev_server_binary, pydantic_data_converter
from domain.rendering import CompiledTemplate, MessageContent, message_context
from models.campaigns import Campaign, CampaignRun
from models.payloads.campaign import CampaignProgress, CampaignRunInput
from models.templates import Template, TemplateVersion

SUBJECT = "Hello {{ lead.first_name }}, our autumn news"
BODY_HTML = (
    "<h1>Hi {{ lead.first_name }} {{ lead.last_name }}</h1><p>News from {{ workspace.name }} for "
    "{{ lead.company | default('you') }}.</p><p><a href='https://example.com/offer'>See the offer</a></p>"
    "<p><a href='{{ unsubscribe_url }}'>Unsubscribe</a></p>"
)
BODY_TEXT = "Hi {{ lead.first_name }}, news from {{ workspace.name }}. Unsubscribe: {{ unsubscribe_url }}"


warnings.filterwarnings("ignore", message=r"(?s).*session\.exec", category=DeprecationWarning)


def serve_sink(url: str, port: int) -> None:
    """The child process: Herald's SMTP sink on `port`, storing into the bench database (url "discard": accept
    and drop every message, to measure the senders without the sink's own database writes)."""
    from aiosmtpd.smtp import SMTP

    from core.smtp_sink import start_smtp_sink

    class Discard:
        async def handle_DATA(self, server, session, envelope) -> str:
            return "250 Message accepted for delivery"

    async def run() -> None:
        if url == "discard":
            loop = asyncio.get_running_loop()
            server = await loop.create_server(lambda: SMTP(Discard(), hostname="bench-sink"), "127.0.0.1", port)
        else:
            server = await start_smtp_sink(session_factory(create_engine(url)), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(run())


async def setup(url: str, leads: int) -> tuple[int, int, int, str, int]:
    """Workspace, template, `leads` leads, a campaign with a one-step flow and its run, and a second run that the
    floor loop records its deliveries under: (workspace, campaign, run, workflow id, floor run)."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            workspace = await create_workspace(session, "Bench")
            await session.flush()
            template = Template(
                workspace_id=workspace.id, name="news", subject=SUBJECT, body_html=BODY_HTML, body_text=BODY_TEXT
            )
            session.add(template)
            await session.flush()
            session.add(
                TemplateVersion(
                    workspace_id=workspace.id,
                    template_id=template.id,
                    number=1,
                    subject=SUBJECT,
                    body_html=BODY_HTML,
                    body_text=BODY_TEXT,
                )
            )
            await session.execute(  # a plain statement: no model objects to return
                text(
                    "INSERT INTO leads (workspace_id, email, first_name, last_name, company, status, timezone, "
                    "source, locale, country, score, tags, custom_fields, consent_email, consent_sms, "
                    "consent_whatsapp, consent_details, job_title, created_at, updated_at) "
                    "SELECT :w, 'lead' || n || '@example.com', 'First' || n, 'Last' || n, 'Acme', 'new', "
                    "'Europe/Paris', 'bench', '', 'FR', 0, '{}', '{}', 'granted', 'unknown', 'unknown', '{}', '', "
                    "now(), now() FROM generate_series(1, :n) AS n"
                ),
                {"w": workspace.id, "n": leads},
            )
            flow = {
                "steps": [
                    {
                        "id": "news",
                        "type": "send",
                        "channel": "email",
                        "template_id": template.id,
                        "template_version": 1,
                    }
                ]
            }
            campaign = Campaign(workspace_id=workspace.id, name="Broadcast", status="running", flow=flow)
            session.add(campaign)
            await session.flush()
            run = CampaignRun(
                workspace_id=workspace.id,
                campaign_id=campaign.id,
                number=1,
                workflow_id=f"campaign-{campaign.id}-run-1-{uuid.uuid4().hex[:6]}",
                total=leads,
                flow=flow,
                schedule={"mode": "now"},
            )
            session.add(run)
            floor = CampaignRun(
                workspace_id=workspace.id, campaign_id=campaign.id, number=2, workflow_id="bench-floor", total=leads
            )
            session.add(floor)
            await session.commit()
            return workspace.id, campaign.id, run.id, run.workflow_id, floor.id
    finally:
        await engine.dispose()


async def raw_loop(
    url: str, settings: Settings, workspace_id: int, connections: int, record_run_id: int | None = None
) -> tuple[int, float]:
    """Render and send every lead's message over `connections` pooled SMTP connections; (messages, seconds).

    With `record_run_id`, also what the engine writes per message, with its statements: each page of 1,000 leads
    claimed as deliveries of that run before its sends, each send marked sent in groups (SentMarks). That is the
    floor of a durable broadcast on this database, without Temporal and without the engine's per-page reads.
    """
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        rows = await session.execute(
            text(f"SELECT {', '.join(LEAD_COLUMNS)} FROM leads WHERE workspace_id = :w ORDER BY id"),
            {"w": workspace_id},
        )
        leads = [dict(row._mapping) for row in rows]
        info = await workspace_render_info(session, workspace_id)
    await engine.dispose()
    template = CompiledTemplate(
        MessageContent(channel="email", subject=SUBJECT, body_html=BODY_HTML, body_text=BODY_TEXT)
    )
    rewrite = media_url_rewriter(settings)
    tracking = parse_tracking(None)  # a campaign's defaults: opens and clicks tracked
    pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=settings.smtp_port, pool_size=connections))
    sessions = session_factory(create_engine(url))
    queue: list[tuple[dict, int | None]] = []
    marks = SentMarks(sessions) if record_run_id is not None else None

    async def drain() -> None:
        while queue:
            lead, delivery_id = queue.pop()
            unsubscribe = unsubscribe_url(settings, lead["id"], 0, 0)
            context = message_context(
                lead,
                custom_keys=info.custom_keys,
                workspace=info.workspace,
                campaign={"id": 0, "name": "Broadcast"},
                unsubscribe_url=unsubscribe,
            )
            rendered = track_email(  # what the engine does to a campaign email: tracked links, open pixel
                template.render(context, rewrite_url=rewrite),
                settings,
                delivery_id or lead["id"],
                tracking,
                unsubscribe_url=unsubscribe,
            )
            await pool.send(
                build_email(
                    mail_from=settings.mail_from,
                    to_email=lead["email"],
                    to_name=f"{lead['first_name']} {lead['last_name']}",
                    rendered=rendered,
                    message_id=f"<raw-{lead['id']}@herald.localhost>",
                    delivery_key=f"raw:{lead['id']}",
                    workspace_id=workspace_id,
                    unsubscribe_url=unsubscribe,
                    eight_bit=pool.eight_bit,
                )
            )
            if marks is not None and delivery_id is not None:
                await marks.add(delivery_id, None)

    started = time.perf_counter()
    for start in range(0, len(leads), 1000):
        page = leads[start : start + 1000]
        ids: dict[int, int | None] = {lead["id"]: None for lead in page}
        if record_run_id is not None:
            async with sessions() as session:
                rows = [
                    {
                        "workspace_id": workspace_id,
                        "run_id": record_run_id,
                        "step": 0,
                        "lead_id": lead["id"],
                        "fallback": False,
                        "channel": "email",
                        "status": "sending",
                        "skip_reason": None,
                        "variant": None,
                    }
                    for lead in page
                ]
                ids.update({row.lead_id: row.id for row in await insert_deliveries(session, rows)})
                await session.commit()
        queue[:] = [(lead, ids[lead["id"]]) for lead in reversed(page)]
        await asyncio.gather(*(drain() for _ in range(connections)))
        if marks is not None:
            await marks.flush()
    seconds = time.perf_counter() - started
    await pool.close()
    await sessions.kw["bind"].dispose()
    return len(leads), seconds


async def run_histories(client, workflow_id: str) -> list:
    """The histories of the run's continue-as-new chain, first execution first."""
    handle = client.get_workflow_handle(workflow_id)
    run_id = (await handle.describe()).raw_description.workflow_execution_info.first_run_id
    histories = []
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = (
            last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
            if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
            else ""
        )
    return histories


def activity_seconds(histories: list) -> dict[str, float]:
    """Seconds from scheduled to completed, summed per activity type over every execution of the run."""
    totals: dict[str, float] = {}
    for history in histories:
        scheduled: dict[int, tuple[str, float]] = {}
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                name = event.activity_task_scheduled_event_attributes.activity_type.name
                scheduled[event.event_id] = (name, event.event_time.ToMicroseconds() / 1e6)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                name, at = scheduled[event.activity_task_completed_event_attributes.scheduled_event_id]
                totals[name] = totals.get(name, 0.0) + event.event_time.ToMicroseconds() / 1e6 - at
    return totals


def history_size(histories: list) -> tuple[int, int, int]:
    """(executions, events of the largest, events in all)."""
    sizes = [len(history.events) for history in histories]
    return len(sizes), max(sizes), sum(sizes)


async def main(args: argparse.Namespace) -> None:
    leads = 1_000_000 if args.million else args.leads
    tmp = tempfile.TemporaryDirectory(prefix="herald-bench-broadcast-")
    work = Path(tmp.name)
    base = os.environ.get("DATABASE_URL")
    server = None
    if not base:
        server, base = start_embedded_postgres(work, "postgres")
    url = async_url(base).set(database=f"herald_bench_{uuid.uuid4().hex[:8]}").render_as_string(hide_password=False)
    await run_migrations(url)
    started = time.perf_counter()
    workspace_id, campaign_id, run_id, workflow_id, floor_run_id = await setup(url, leads)
    print(f"{leads:,} leads ready in {time.perf_counter() - started:.1f}s")

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink_target = "discard" if args.discard else url

    def fresh_sink(previous: subprocess.Popen | None = None) -> subprocess.Popen:
        """A new sink process on `port`: each loop meets the same, fresh sink."""
        if previous is not None:
            previous.terminate()
            previous.wait(timeout=30)
        started = subprocess.Popen(
            [sys.executable, __file__, "--serve-sink", sink_target, str(port)], stdout=subprocess.DEVNULL
        )
        for _ in range(100):  # until it listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return started
            time.sleep(0.05)
        raise RuntimeError("the SMTP sink did not start")

    sink = fresh_sink()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=dev_server_binary(),
        data_converter=pydantic_data_converter,
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"],
    )
    worker = None
    try:
        queue = f"bench-{uuid.uuid4().hex[:6]}"
        settings = Settings(
            database_url=url,
            temporal_address=env.client.service_client.config.target_host,
            temporal_task_queue=queue,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_pool_size=args.connections,
            data_dir=work,
        )
        worker_env = {
            **os.environ,
            "DATABASE_URL": url,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "TEMPORAL_TASK_QUEUE": queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_POOL_SIZE": str(args.connections),
            "DATA_DIR": str(work),
            "LOG_LEVEL": "WARNING",
        }
        worker = subprocess.Popen([str(Path(sys.executable).parent / "herald"), "worker"], env=worker_env)
        await asyncio.sleep(3)

        raw_count, raw_seconds = await raw_loop(url, settings, workspace_id, args.connections)

        sink = fresh_sink(sink)
        started = time.perf_counter()
        handle = await env.client.start_workflow(
            "CampaignWorkflow",
            CampaignRunInput(campaign_id=campaign_id, run_id=run_id, run_number=1, batch_size=args.batch_size),
            id=workflow_id,
            task_queue=queue,
            result_type=CampaignProgress,
        )
        progress = await handle.result()
        engine_seconds = time.perf_counter() - started
        histories = await run_histories(env.client, workflow_id)
        executions, largest, events = history_size(histories)
        spent = activity_seconds(histories)
        # After the engine, so that the engine meets the leads as a first broadcast does.
        sink = fresh_sink(sink)
        floor_count, floor_seconds = await raw_loop(url, settings, workspace_id, args.connections, floor_run_id)

        raw_rate = raw_count / raw_seconds
        engine_rate = progress.sent / engine_seconds
        print(
            f"\nengine run: {progress.status}, sent {progress.sent:,}, failed {progress.failed}, skipped {progress.skipped}"
        )
        print(f"{'':<40}{'messages':>10}{'seconds':>9}{'msgs/s':>9}")
        floor_rate = floor_count / floor_seconds
        print(f"{'raw render + aiosmtplib loop':<40}{raw_count:>10,}{raw_seconds:>9.1f}{raw_rate:>9,.0f}")
        print(
            f"{'  + delivery rows (floor, no Temporal)':<40}{floor_count:>10,}{floor_seconds:>9.1f}{floor_rate:>9,.0f}"
        )
        print(f"{'CampaignWorkflow (end to end)':<40}{progress.sent:>10,}{engine_seconds:>9.1f}{engine_rate:>9,.0f}")
        print(
            f"engine / raw: {engine_rate / raw_rate:.0%}   (targets: >= 1,500 msgs/s and >= 70%);"
            f"   engine / floor: {engine_rate / floor_rate:.0%}"
        )
        print(
            "engine time in activities: "
            + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in sorted(spent.items(), key=lambda i: -i[1]))
            + f"; outside them {engine_seconds - sum(spent.values()):.1f}s"
        )
        print(f"history: {executions} execution(s), largest {largest:,} events, {events:,} in all (target < 10,000)")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        sink.terminate()
        sink.wait(timeout=30)
        await env.shutdown()
        await drop_database(url)
        if server is not None:
            server.cleanup()
        tmp.cleanup()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="1,000,000 leads")
    parser.add_argument("--connections", type=int, default=5, help="SMTP connections (raw loop and worker pool)")
    parser.add_argument(
        "--batch-size", type=int, default=Settings().campaign_batch_size, help="leads per send activity"
    )
    parser.add_argument("--discard", action="store_true", help="the sink drops messages instead of storing them")
    parser.add_argument("--serve-sink", nargs=2, metavar=("URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        serve_sink(args.serve_sink[0], int(args.serve_sink[1]))
    else:
        asyncio.run(main(args))


if __name__ == "__main__":
    cli()
