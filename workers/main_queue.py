"""Wires the workflows and their activities to the main task queue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.automation_trigger_activities import AutomationTriggerActivities
from activities.campaign_activities import CampaignActivities
from activities.campaign_dry_run import CampaignDryRunActivities
from activities.campaign_flow_activities import CampaignFlowActivities
from activities.channels import Channels, channels_from_settings
from activities.export_activities import ExportActivities
from activities.import_activities import ImportActivities
from activities.journey_activities import JourneyActivities
from activities.list_activities import ListActivities
from activities.media_activities import MediaActivities, StorageCleanupActivities
from activities.report_activities import ReportActivities
from activities.simulation_activities import SimulationActivities
from activities.smtp_pool import SmtpPool
from activities.test_send_activities import TestSendActivities
from activities.trigger_sweep_activities import TriggerSweepActivities
from core.settings import Settings
from core.storage import Storage, storage_from_settings
from core.tabular import Limits
from workflows.automation_simulation import AutomationSimulationWorkflow
from workflows.automation_trigger import AutomationTriggerWorkflow
from workflows.campaign import CampaignWorkflow
from workflows.campaign_dry_run import CampaignDryRunWorkflow
from workflows.exports import ExportWorkflow
from workflows.imports import ImportWorkflow
from workflows.journey import JourneyWorkflow
from workflows.list_stats import ListStatsWorkflow
from workflows.media_processing import MediaProcessingWorkflow
from workflows.report import ReportWorkflow
from workflows.storage_cleanup import StorageCleanupWorkflow
from workflows.test_send import TestSendWorkflow
from workflows.trigger_sweep import TriggerSweepWorkflow

# Workflow task polling. Temporal's default (5 pollers, a ratio of 0.2) polls the non-sticky queue, where every
# workflow's first task waits, with one poller: a journey (one workflow task, its actions local activities) waits
# there for that one poller's round trips. Half of 10 pollers go to it here (bench/journeys.py).
POLLING = {
    "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(maximum=10),
    "nonsticky_to_sticky_poll_ratio": 0.5,
}

WORKFLOWS = [
    CampaignWorkflow,
    CampaignDryRunWorkflow,
    ListStatsWorkflow,
    ImportWorkflow,
    ExportWorkflow,
    MediaProcessingWorkflow,
    StorageCleanupWorkflow,
    TestSendWorkflow,
    ReportWorkflow,
    JourneyWorkflow,
    AutomationTriggerWorkflow,
    AutomationSimulationWorkflow,
    TriggerSweepWorkflow,
]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],
    smtp: SmtpPool,
    mail_from: str,
    executor: ThreadPoolExecutor | None = None,
    settings: Settings | None = None,
    storage: Storage | None = None,
    channels: Channels | None = None,
) -> Worker:
    settings = settings or Settings()
    storage = storage or storage_from_settings(settings)
    channels = channels or channels_from_settings(settings, smtp, sessions, mail_from=mail_from)
    campaign = CampaignActivities(
        sessions=sessions, smtp=smtp, mail_from=mail_from, settings=settings, email=channels.get("email")
    )
    flow = CampaignFlowActivities(sessions=sessions, channels=channels, settings=settings, mail_from=mail_from)
    dry_runs = CampaignDryRunActivities(sessions=sessions)
    test_sends = TestSendActivities(
        sessions=sessions, smtp=smtp, mail_from=mail_from, settings=settings, channels=channels
    )
    lists = ListActivities(sessions=sessions)
    exports = ExportActivities(sessions=sessions, storage=storage)
    imports = ImportActivities(
        engine=sessions.kw["bind"],
        storage=storage,
        limits=Limits(
            max_columns=settings.import_max_columns,
            max_xlsx_uncompressed_bytes=settings.import_xlsx_max_uncompressed_bytes,
        ),
        max_rows=settings.import_max_rows,
        max_cell=settings.import_max_cell_length,
        chunk_rows=settings.import_chunk_rows,
    )
    media = MediaActivities(
        engine=sessions.kw["bind"], storage=storage, max_image_pixels=settings.media_max_image_pixels
    )
    cleanup = StorageCleanupActivities(engine=sessions.kw["bind"], storage=storage)
    reports = ReportActivities(
        sessions=sessions,
        storage=storage,
        smtp=smtp,
        mail_from=mail_from,
        # Signed like campaign mail when DKIM is configured.
        dkim=getattr(channels.get("email"), "dkim", None) if channels.available("email") else None,
    )
    journeys = JourneyActivities(
        sessions=sessions,
        channels=channels,
        settings=settings,
        smtp=smtp,
        client=client,
        task_queue=task_queue,
        mail_from=mail_from,
    )
    triggers = AutomationTriggerActivities(sessions=sessions, client=client, task_queue=task_queue)
    trigger_sweep = TriggerSweepActivities(sessions, task_queue)
    # The simulator runs the journey workflow and its (dry-run) activities on its own time-skipping server.
    simulations = SimulationActivities(sessions, journey_workflow=JourneyWorkflow, journey_activities=journeys)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            campaign.snapshot_audience,
            campaign.send_batch,
            campaign.finish_run,
            flow.load_run_plan,
            flow.set_run_status,
            flow.send_step_batch,
            flow.plan_timing,
            flow.partition_track,
            flow.split_track,
            flow.pick_winner,
            flow.exit_track,
            dry_runs.dry_run,
            lists.snapshot_list_sizes,
            imports.prepare_import,
            imports.import_rows,
            imports.finish_import,
            exports.write_export,
            exports.fail_export,
            media.process_media,  # sync: Pillow, ffmpeg and the storage client run on the thread pool
            media.record_media,
            media.record_media_failure,
            cleanup.clean_orphans,
            test_sends.send_test,
            reports.start_report_run,
            reports.write_report_files,
            reports.email_report,
            reports.finish_report_run,
            journeys.begin_journey,
            journeys.record_steps,
            journeys.lead_timing,
            journeys.evaluate_condition,
            journeys.send_message,
            journeys.change_lead,
            journeys.notify_user,
            journeys.call_webhook,
            journeys.start_automation,
            triggers.enter_scheduled_leads,
            trigger_sweep.sweep_trigger_outbox,
            simulations.run_simulation,
            simulations.fail_simulation,
        ],
        # Our workflow modules pass through the sandbox: imported once per process instead of once per workflow run
        # (compiled each time without bytecode files): a third of the worker's CPU per journey (bench/journeys.py).
        # They keep no module state and import only what may pass through (the house rules). The price: the
        # sandbox's checks of calls (datetime.now, random...) no longer guard their code in the worker; the full
        # sandbox still runs them in tests/test_replay.py (Replayer's default runner) over the saved histories.
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
        ),
        activity_executor=executor,
        max_concurrent_activities=20,
        **POLLING,
        # Heartbeats carry cancellations back: a cancel (import, campaign) reaches the activity within ~2 s.
        max_heartbeat_throttle_interval=timedelta(seconds=2),
    )
