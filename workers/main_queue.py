"""Wires the workflows and their activities to the main task queue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client
from temporalio.worker import Worker

from activities.campaign_activities import CampaignActivities
from activities.list_activities import ListActivities
from activities.smtp_pool import SmtpPool
from workflows.campaign import CampaignWorkflow
from workflows.list_stats import ListStatsWorkflow

WORKFLOWS = [CampaignWorkflow, ListStatsWorkflow]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],
    smtp: SmtpPool,
    mail_from: str,
    executor: ThreadPoolExecutor | None = None,
) -> Worker:
    campaign = CampaignActivities(sessions=sessions, smtp=smtp, mail_from=mail_from)
    lists = ListActivities(sessions=sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            campaign.snapshot_audience,
            campaign.send_batch,
            campaign.finish_run,
            lists.snapshot_list_sizes,
        ],
        activity_executor=executor,
        max_concurrent_activities=20,
    )
