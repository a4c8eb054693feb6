"""The dry run of a campaign: how many leads each send step would reach and why the others would be skipped,
without sending or writing anything.

The audience is evaluated now (lists, exclusions); each lead gets the same decision a send step would make
(`domain.campaign_tracks.decide_send`: goal reached, frequency cap, channel reachability, fallback). The first steps
are exact; after a branch or an A/B split the reach is an estimate (`exact` false): the whole audience for a branch
arm (an upper bound), the variant's share for a split.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.campaign_activities import audience_condition
from domain.campaign_flow import send_steps
from domain.campaign_tracks import decide_send, estimate_reach
from models.deliveries import Delivery
from models.leads import Lead
from models.payloads.campaign import DryRunInput, DryRunResult, DryRunStep
from models.payloads.campaign_flow import CampaignSchedule, FlowDefinition, SendStep

log = structlog.get_logger("herald.activities.campaign_dry_run")
CHUNK = 5000
LEAD_FIELDS = (
    "id",
    "email",
    "phone",
    "status",
    "consent_email",
    "consent_sms",
    "consent_whatsapp",
    "suppressed_email",
    "suppressed_sms",
    "suppressed_whatsapp",
)


class CampaignDryRunActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    @activity.defn
    async def dry_run(self, input: DryRunInput) -> DryRunResult:
        async with self.sessions() as session:
            campaign = (
                await session.execute(
                    text(
                        "SELECT c.id, c.workspace_id, c.flow, c.schedule, c.template_id, c.list_id, c.list_ids, "
                        "c.exclude_list_ids, c.exclude_filter, v.number AS version "
                        "FROM campaigns c LEFT JOIN template_versions v ON v.id = c.template_version_id "
                        "WHERE c.id = :id"
                    ),
                    {"id": input.campaign_id},
                )
            ).one_or_none()
            if campaign is None:
                raise ApplicationError(
                    f"campaign {input.campaign_id} not found", type="ConfigurationError", non_retryable=True
                )
            flow = _flow_of(campaign)
            try:
                schedule = CampaignSchedule.model_validate(campaign.schedule or {})
            except ValueError as exc:
                raise ApplicationError(
                    f"the schedule is invalid: {exc}", type="ConfigurationError", non_retryable=True
                ) from exc
            problems = await _template_problems(session, campaign.workspace_id, send_steps(flow))
            condition = await audience_condition(session, campaign)
            tallies, audience = await _tally(session, condition, flow, schedule, send_steps(flow))
        steps = []
        for reach in estimate_reach(flow, audience):
            tally = tallies[reach.step.id]
            share = reach.reach / audience if audience else 0.0
            skipped = {reason: round(n * share) for reason, n in sorted(tally.items()) if reason.startswith("skip:")}
            steps.append(
                DryRunStep(
                    step_id=reach.step.id,
                    index=reach.index,
                    channel=reach.step.channel,
                    exact=reach.exact,
                    reach=reach.reach,
                    sendable=round(tally["send"] * share),
                    fallback_sendable=round(tally["fallback"] * share),
                    skipped={reason.removeprefix("skip:"): n for reason, n in skipped.items() if n},
                )
            )
        log.info("dry run", campaign_id=input.campaign_id, audience=audience, steps=len(steps))
        return DryRunResult(campaign_id=input.campaign_id, audience=audience, steps=steps, problems=problems)


def _flow_of(campaign: Any) -> FlowDefinition:
    """The campaign's flow; a campaign without one is its legacy single email step."""
    if campaign.flow is not None:
        try:
            return FlowDefinition.model_validate(campaign.flow)
        except ValueError as exc:
            raise ApplicationError(
                f"the flow is invalid: {exc}", type="ConfigurationError", non_retryable=True
            ) from exc
    if campaign.template_id is None:
        return FlowDefinition()
    return FlowDefinition(
        steps=[
            SendStep(id="send", channel="email", template_id=campaign.template_id, template_version=campaign.version)
        ]
    )


async def _template_problems(session: AsyncSession, workspace_id: int, steps: list[SendStep]) -> list[str]:
    wanted = {step.template_id for step in steps} | {step.fallback.template_id for step in steps if step.fallback}
    if not wanted:
        return ["the flow has no send step"]
    rows = await session.execute(
        text("SELECT id FROM templates WHERE workspace_id = :w AND id = ANY(:ids)"),
        {"w": workspace_id, "ids": sorted(wanted)},
    )
    found = {row.id for row in rows}
    return [
        f"step '{step.id}': template {template_id} does not exist"
        for step in steps
        for template_id in (step.template_id, *((step.fallback.template_id,) if step.fallback else ()))
        if template_id not in found
    ]


async def _tally(
    session: AsyncSession, condition: Any, flow: FlowDefinition, schedule: CampaignSchedule, steps: list[SendStep]
) -> tuple[dict[str, Counter[str]], int]:
    """Per send step: "send", "fallback" and "skip:<reason>" counts over the whole audience."""
    cap = schedule.frequency_cap
    columns = [getattr(Lead, name) for name in LEAD_FIELDS]
    query = select(*columns).where(condition)
    if cap is not None:
        recent = (
            select(Delivery.lead_id, func.count().label("n"))
            .where(
                Delivery.marketing,
                Delivery.status == "sent",
                Delivery.sent_at > func.now() - func.make_interval(0, 0, 0, cap.days),
            )
            .group_by(Delivery.lead_id)
            .subquery()
        )
        query = select(*columns, func.coalesce(recent.c.n, 0).label("recent")).where(condition)
        query = query.outerjoin(recent, recent.c.lead_id == Lead.id)
    tallies: dict[str, Counter[str]] = {step.id: Counter() for step in steps}
    audience = 0
    result = await session.stream(query.execution_options(yield_per=CHUNK))
    async for chunk in result.mappings().partitions(CHUNK):
        for lead in chunk:
            audience += 1
            for step in steps:
                decision = decide_send(
                    lead,
                    channel=step.channel,
                    fallback_channel=step.fallback.channel if step.fallback else None,
                    exit_statuses=flow.exit_on_statuses,
                    sent_in_window=lead.get("recent", 0),
                    cap=cap.max_messages if cap else None,
                )
                tally = tallies[step.id]
                if decision.primary == "sending":
                    tally["send"] += 1
                else:
                    tally[f"skip:{decision.reason}"] += 1
                    if decision.fallback == "sending":
                        tally["fallback"] += 1
        activity.heartbeat(audience)
    return tallies, audience
