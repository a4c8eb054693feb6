"""The send activity claims each (run, step, lead) once: retries, in-doubt rows and SMTP failures never double-send."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest
from sqlalchemy import text
from temporalio.testing import ActivityEnvironment

from activities.campaign_activities import CampaignActivities
from activities.channels import TransientSendError
from activities.smtp_pool import SmtpPool
from models.payloads.campaign import SendBatchInput, SnapshotAudienceInput
from tests.conftest import make_smtp_pool
from tests.factories import make_campaign, make_leads
from tests.helpers import CancelAfterAccepted, delivery_counts, outbox_rows


async def _new_run(db, lead_ids: list[int], **campaign) -> tuple[int, int]:
    campaign_id = await make_campaign(db, lead_ids, **campaign)
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent,"
                    " failed, skipped) SELECT workspace_id, id, 1, :w, 'running', 0, 0, 0, 0 FROM campaigns"
                    " WHERE id = :c RETURNING id"
                ),
                {"c": campaign_id, "w": f"test-campaign-{campaign_id}"},
            )
        ).scalar_one()
        await session.commit()
    return campaign_id, run_id


class FlakyPool(SmtpPool):
    """Fails chosen recipients once (transient 451) or for good (550), passing the rest to the real pool."""

    def __init__(self, real: SmtpPool, transient: set[str] = frozenset(), permanent: set[str] = frozenset()):
        super().__init__(real.config)
        self.real = real
        self.transient = set(transient)
        self.permanent = set(permanent)
        self.attempted: list[str] = []

    async def send(self, message, **kwargs) -> None:
        to = message.recipients[0]
        self.attempted.append(to)
        if to in self.transient:
            self.transient.discard(to)
            raise aiosmtplib.SMTPResponseException(451, "try again later")
        if to in self.permanent:
            raise aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no such user", to)])
        await self.real.send(message, **kwargs)


@pytest.fixture
async def smtp(settings, tenant):
    pool = make_smtp_pool(settings)
    yield pool
    await pool.close()


async def test_running_the_same_batch_twice_sends_nothing_the_second_time(db, settings, smtp):
    lead_ids = await make_leads(db, 30)
    campaign_id, run_id = await _new_run(db, lead_ids)
    activities = CampaignActivities(db, smtp, settings.mail_from)
    env = ActivityEnvironment()
    snapshot = await env.run(
        activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id)
    )
    assert snapshot.total == 30
    # The snapshot is idempotent too.
    again = await env.run(activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id))
    assert again.total == 30

    batch = SendBatchInput(campaign_id=campaign_id, run_id=run_id, after_lead_id=0, limit=30)
    first = await env.run(activities.send_batch, batch)
    second = await env.run(activities.send_batch, batch)

    assert (first.processed, first.sent) == (30, 30)
    assert (second.processed, second.sent) == (30, 30)  # same final statuses, reported again
    assert first.last_lead_id == max(lead_ids)
    assert len(await outbox_rows(db, run_id)) == 30


async def test_a_retry_after_a_transient_failure_sends_only_what_was_not_sent(db, settings, smtp):
    lead_ids = await make_leads(db, 20)
    campaign_id, run_id = await _new_run(db, lead_ids)
    flaky = FlakyPool(smtp, transient={"lead7@example.com"})
    activities = CampaignActivities(db, flaky, settings.mail_from)
    env = ActivityEnvironment()
    await env.run(activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id))
    batch = SendBatchInput(campaign_id=campaign_id, run_id=run_id, limit=50)

    with pytest.raises(TransientSendError, match="451"):  # classified by the email channel: retried
        await env.run(activities.send_batch, batch)
    sent_before_retry = len(await outbox_rows(db, run_id))
    assert 0 < sent_before_retry < 20

    flaky.attempted.clear()
    result = await env.run(activities.send_batch, batch)

    assert result.sent == 20
    assert len(flaky.attempted) == 20 - sent_before_retry  # the retry touched only unsent leads
    rows = await outbox_rows(db, run_id)
    recipients = [r for row in rows for r in row.rcpt_to]
    assert sorted(recipients) == sorted(f"lead{n}@example.com" for n in range(20))


async def test_a_permanent_refusal_fails_that_delivery_and_the_batch_goes_on(db, settings, smtp):
    lead_ids = await make_leads(db, 10)
    campaign_id, run_id = await _new_run(db, lead_ids)
    flaky = FlakyPool(smtp, permanent={"lead3@example.com"})
    activities = CampaignActivities(db, flaky, settings.mail_from)
    env = ActivityEnvironment()
    await env.run(activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id))

    result = await env.run(activities.send_batch, SendBatchInput(campaign_id=campaign_id, run_id=run_id))

    assert (result.sent, result.failed) == (9, 1)
    async with db() as session:
        error = (
            await session.execute(
                text("SELECT error FROM deliveries WHERE run_id = :r AND status = 'failed'"), {"r": run_id}
            )
        ).scalar_one()
    assert "550" in error


async def test_an_in_doubt_claim_left_by_a_dead_attempt_is_sent_once(db, settings, smtp):
    lead_ids = await make_leads(db, 5)
    campaign_id, run_id = await _new_run(db, lead_ids)
    activities = CampaignActivities(db, smtp, settings.mail_from)
    env = ActivityEnvironment()
    await env.run(activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id))
    # An attempt that died after claiming lead 0 and before sending it:
    async with db() as session:
        await session.execute(
            text(
                "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, created_at,"
                " updated_at) SELECT workspace_id, :r, 0, :l, 'email', 'sending', 1, now(), now() FROM leads"
                " WHERE id = :l"
            ),
            {"r": run_id, "l": lead_ids[0]},
        )
        await session.commit()

    result = await env.run(activities.send_batch, SendBatchInput(campaign_id=campaign_id, run_id=run_id))

    assert result.sent == 5
    assert await delivery_counts(db, run_id) == {"sent": 5}
    assert len(await outbox_rows(db, run_id)) == 5


async def test_a_template_that_does_not_compile_is_a_non_retryable_error(db, settings, smtp):
    from temporalio.exceptions import ApplicationError

    lead_ids = await make_leads(db, 2)
    campaign_id, run_id = await _new_run(db, lead_ids, subject="Hello {{ first_name ")
    activities = CampaignActivities(db, smtp, settings.mail_from)
    env = ActivityEnvironment()
    await env.run(activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id))

    with pytest.raises(ApplicationError) as err:
        await env.run(activities.send_batch, SendBatchInput(campaign_id=campaign_id, run_id=run_id))
    assert err.value.non_retryable and err.value.type == "TemplateError"
    assert "subject" in str(err.value)


async def test_a_cancellation_after_the_provider_accepted_still_records_the_send(db, settings, smtp):
    lead_ids = await make_leads(db, 12)
    campaign_id, run_id = await _new_run(db, lead_ids)
    env = ActivityEnvironment()
    pool = CancelAfterAccepted(smtp, env, after=5)
    activities = CampaignActivities(db, pool, settings.mail_from)
    await env.run(activities.snapshot_audience, SnapshotAudienceInput(campaign_id=campaign_id, run_id=run_id))
    batch = SendBatchInput(campaign_id=campaign_id, run_id=run_id)

    with pytest.raises(asyncio.CancelledError):
        await env.run(activities.send_batch, batch)
    counts = await delivery_counts(db, run_id)
    assert counts.get("sent") == pool.accepted  # nothing accepted is left in doubt
    assert counts.get("sending", 0) == 12 - pool.accepted

    retry = await ActivityEnvironment().run(CampaignActivities(db, smtp, settings.mail_from).send_batch, batch)
    assert retry.sent == 12
    recipients = [r for row in await outbox_rows(db, run_id) for r in row.rcpt_to]
    assert sorted(recipients) == sorted(f"lead{n}@example.com" for n in range(12))
