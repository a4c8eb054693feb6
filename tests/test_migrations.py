"""Migrations run forward over existing data, and back down again."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.db import alembic_config, async_url, create_engine, drop_database, ensure_database


async def test_existing_rows_move_into_a_default_workspace(database_url):
    url = async_url(database_url).set(database=f"herald_mig_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=1)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0001")
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO leads (email, first_name, last_name, status, timezone, "
                    "consent_email, consent_sms, consent_whatsapp) "
                    "VALUES ('old@example.com', 'Old', 'Lead', 'new', 'UTC', 'granted', 'unknown', 'unknown')"
                )
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT w.slug FROM leads l JOIN workspaces w ON w.id = l.workspace_id"))
            ).one()
            assert row.slug == "default"
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0001")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM leads"))).scalar_one() == 1
    finally:
        await engine.dispose()
        await drop_database(url)


async def test_existing_templates_get_version_1_pinned_by_their_campaigns(database_url):
    url = async_url(database_url).set(database=f"herald_mig_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=1)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0006")
        async with engine.begin() as conn:
            workspace = (
                await conn.execute(
                    text(
                        "INSERT INTO workspaces (name, slug, requires_approval, default_region) "
                        "VALUES ('W', 'w', false, 'US') RETURNING id"
                    )
                )
            ).scalar_one()
            template = (
                await conn.execute(
                    text(
                        "INSERT INTO templates (workspace_id, name, channel, subject, body_html, body_text) VALUES "
                        "(:w, 'Old', 'email', 'Hi {{ first_name }}', "
                        "'<p>{{ company or \"you\" }} first_name {% if custom.plan %}x{% endif %}</p>', '') "
                        "RETURNING id"
                    ),
                    {"w": workspace},
                )
            ).scalar_one()
            await conn.execute(
                text("INSERT INTO campaigns (workspace_id, name, status, template_id) VALUES (:w, 'C', 'draft', :t)"),
                {"w": workspace, "t": template},
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT id, number, subject, body_html FROM template_versions"))).one()
            assert version.number == 1 and version.subject == "Hi {{ lead.first_name }}"
            assert (
                version.body_html
                == '<p>{{ lead.company or "you" }} first_name {% if lead.custom.plan %}x{% endif %}</p>'
            )
            pinned = (await conn.execute(text("SELECT template_version_id FROM campaigns"))).scalar_one()
            assert pinned == version.id
            assert (await conn.execute(text("SELECT version FROM templates"))).scalar_one() == 1
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0006")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT subject FROM templates"))).scalar_one() == "Hi {{ first_name }}"
    finally:
        await engine.dispose()
        await drop_database(url)


async def test_existing_campaigns_stay_on_the_legacy_path_and_deliveries_are_primary_marketing(database_url):
    url = async_url(database_url).set(database=f"herald_mig_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=1)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0007")
        async with engine.begin() as conn:
            workspace = (
                await conn.execute(
                    text(
                        "INSERT INTO workspaces (name, slug, requires_approval, default_region) "
                        "VALUES ('W', 'w', false, 'US') RETURNING id"
                    )
                )
            ).scalar_one()
            params = {"w": workspace}
            template = (
                await conn.execute(
                    text(
                        "INSERT INTO templates (workspace_id, name, channel, subject, body_html, body_text) "
                        "VALUES (:w, 'T', 'email', 'Hi', '<p>x</p>', 'x') RETURNING id"
                    ),
                    params,
                )
            ).scalar_one()
            lead_list = (
                await conn.execute(
                    text("INSERT INTO lists (workspace_id, name, description) VALUES (:w, 'L', '') RETURNING id"),
                    params,
                )
            ).scalar_one()
            lead = (
                await conn.execute(
                    text(
                        "INSERT INTO leads (workspace_id, email, first_name, last_name, status, timezone, "
                        "consent_email, consent_sms, consent_whatsapp) VALUES "
                        "(:w, 'a@example.com', 'A', 'B', 'new', 'UTC', 'granted', 'unknown', 'unknown') RETURNING id"
                    ),
                    params,
                )
            ).scalar_one()
            campaign = (
                await conn.execute(
                    text(
                        "INSERT INTO campaigns (workspace_id, name, status, template_id, list_id) "
                        "VALUES (:w, 'C', 'completed', :t, :l) RETURNING id"
                    ),
                    {**params, "t": template, "l": lead_list},
                )
            ).scalar_one()
            run = (
                await conn.execute(
                    text(
                        "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, "
                        "sent, failed, skipped) VALUES (:w, :c, 1, 'campaign-x-run-1', 'completed', 1, 1, 0, 0) "
                        "RETURNING id"
                    ),
                    {**params, "c": campaign},
                )
            ).scalar_one()
            await conn.execute(
                text("INSERT INTO campaign_run_audience (run_id, lead_id) VALUES (:r, :l)"), {"r": run, "l": lead}
            )
            await conn.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts) "
                    "VALUES (:w, :r, 0, :l, 'email', 'sent', 1)"
                ),
                {**params, "r": run, "l": lead},
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT flow, list_ids, exclude_list_ids, schedule, objective, goal_metric, approval_status, "
                        "tags, cost FROM campaigns"
                    )
                )
            ).one()
            assert row.flow is None and row.list_ids == [lead_list] and row.exclude_list_ids == []
            assert row.schedule == {"mode": "now"} and row.objective == "awareness" and row.goal_metric == "none"
            assert row.approval_status == "none" and row.tags == [] and row.cost == 0
            delivery = (await conn.execute(text("SELECT fallback, marketing, skip_reason FROM deliveries"))).one()
            assert (delivery.fallback, delivery.marketing, delivery.skip_reason) == (False, True, None)
            member = (await conn.execute(text("SELECT track, variant, exited FROM campaign_run_audience"))).one()
            assert tuple(member) == (0, None, None)
            assert (await conn.execute(text("SELECT flow FROM campaign_runs"))).scalar_one() is None
        async with engine.begin() as conn:  # a fallback send is a delivery of its own under the new key
            await conn.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, fallback) "
                    "VALUES (:w, :r, 0, :l, 'sms', 'sent', 1, true)"
                ),
                {**params, "r": run, "l": lead},
            )
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0007")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM deliveries"))).scalar_one() == 1
            assert (await conn.execute(text("SELECT list_id FROM campaigns"))).scalar_one() == lead_list
    finally:
        await engine.dispose()
        await drop_database(url)


async def test_last_sent_moves_out_of_leads_and_back(database_url):
    url = async_url(database_url).set(database=f"herald_mig_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=1)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0008")
        async with engine.begin() as conn:
            workspace = (
                await conn.execute(
                    text(
                        "INSERT INTO workspaces (name, slug, requires_approval, default_region) "
                        "VALUES ('W', 'w', false, 'US') RETURNING id"
                    )
                )
            ).scalar_one()
            leads = (
                (
                    await conn.execute(
                        text(
                            "INSERT INTO leads (workspace_id, email, first_name, last_name, status, timezone, "
                            "consent_email, consent_sms, consent_whatsapp, last_sent_at) VALUES "
                            "(:w, 'a@example.com', 'A', 'B', 'new', 'UTC', 'granted', 'unknown', 'unknown', "
                            "'2026-11-01T09:00:00Z'), "
                            "(:w, 'b@example.com', 'B', 'C', 'new', 'UTC', 'granted', 'unknown', 'unknown', NULL) "
                            "RETURNING id"
                        ),
                        {"w": workspace},
                    )
                )
                .scalars()
                .all()
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT lead_id, workspace_id, last_sent_at FROM lead_last_sent"))).all()
            assert [(row.lead_id, row.workspace_id, row.last_sent_at.isoformat()) for row in rows] == [
                (leads[0], workspace, "2026-11-01T09:00:00+00:00")
            ]
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0008")
        async with engine.connect() as conn:
            back = (await conn.execute(text("SELECT id, last_sent_at FROM leads ORDER BY id"))).all()
            assert [(row.id, row.last_sent_at and row.last_sent_at.isoformat()) for row in back] == [
                (leads[0], "2026-11-01T09:00:00+00:00"),
                (leads[1], None),
            ]
    finally:
        await engine.dispose()
        await drop_database(url)


async def test_events_table_and_campaign_tracking_come_and_go(database_url):
    url = async_url(database_url).set(database=f"herald_mig_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=1)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0009")
        async with engine.begin() as conn:
            workspace = (
                await conn.execute(
                    text(
                        "INSERT INTO workspaces (name, slug, requires_approval, default_region) "
                        "VALUES ('W', 'w', false, 'US') RETURNING id"
                    )
                )
            ).scalar_one()
            await conn.execute(
                text("INSERT INTO campaigns (workspace_id, name, status) VALUES (:w, 'C', 'draft')"), {"w": workspace}
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with engine.begin() as conn:
            tracking = (await conn.execute(text("SELECT tracking FROM campaigns"))).scalar_one()
            assert tracking == {"opens": True, "clicks": True, "utm": None}
            event = (
                await conn.execute(
                    text("INSERT INTO events (workspace_id, type) VALUES (:w, 'open') RETURNING machine, metadata"),
                    {"w": workspace},
                )
            ).one()
            assert (event.machine, event.metadata) == (False, {})
        async with engine.connect() as conn:
            for statement in ("UPDATE events SET type = 'click'", "DELETE FROM events"):
                try:
                    await conn.execute(text(statement))
                except DBAPIError as exc:
                    assert "events are append-only" in str(exc)
                else:
                    raise AssertionError(f"{statement} was allowed")
                await conn.rollback()
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0009")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT to_regclass('events')"))).scalar_one() is None
            assert (await conn.execute(text("SELECT to_regproc('events_are_append_only')"))).scalar_one() is None
            columns = (
                await conn.execute(
                    text("SELECT column_name FROM information_schema.columns WHERE table_name = 'campaigns'")
                )
            ).scalars()
            assert "tracking" not in set(columns)
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")  # and up again
    finally:
        await engine.dispose()
        await drop_database(url)


async def test_automations_come_with_pseudo_runs_for_journey_deliveries_and_go_again(database_url):
    url = async_url(database_url).set(database=f"herald_mig_{uuid.uuid4().hex[:8]}").render_as_string(False)
    await ensure_database(url)
    engine = create_engine(url, pool_size=1)
    try:
        await asyncio.to_thread(command.upgrade, alembic_config(url), "0012")
        async with engine.begin() as conn:
            workspace = (
                await conn.execute(
                    text(
                        "INSERT INTO workspaces (name, slug, requires_approval, default_region) "
                        "VALUES ('W', 'w', false, 'US') RETURNING id"
                    )
                )
            ).scalar_one()
            params = {"w": workspace}
            lead = (
                await conn.execute(
                    text(
                        "INSERT INTO leads (workspace_id, email, first_name, last_name, status, timezone, "
                        "consent_email, consent_sms, consent_whatsapp) VALUES "
                        "(:w, 'a@example.com', 'A', 'B', 'new', 'UTC', 'granted', 'unknown', 'unknown') RETURNING id"
                    ),
                    params,
                )
            ).scalar_one()
            campaign = (
                await conn.execute(
                    text(
                        "INSERT INTO campaigns (workspace_id, name, status) VALUES (:w, 'C', 'completed') RETURNING id"
                    ),
                    params,
                )
            ).scalar_one()
            run = (
                await conn.execute(
                    text(
                        "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, "
                        "sent, failed, skipped) VALUES (:w, :c, 1, 'campaign-x-run-1', 'completed', 1, 1, 0, 0) "
                        "RETURNING id"
                    ),
                    {**params, "c": campaign},
                )
            ).scalar_one()
            await conn.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts) "
                    "VALUES (:w, :r, 0, :l, 'email', 'sent', 1)"
                ),
                {**params, "r": run, "l": lead},
            )
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT journey_id, node_id FROM deliveries"))).one() == (None, None)
            automation = (
                await conn.execute(
                    text(
                        "INSERT INTO automations (workspace_id, name, status) VALUES (:w, 'A', 'active') RETURNING id"
                    ),
                    params,
                )
            ).scalar_one()
            journey = (
                await conn.execute(
                    text(
                        "INSERT INTO journeys (workspace_id, automation_id, version, lead_id, entry, workflow_id, "
                        "first_run_id, mode, status, trigger_node, trigger_event_id) "
                        "VALUES (:w, :a, 1, :l, 1, 'journey-a-l', 'run-1', 'live', 'active', 't', 'e') RETURNING id"
                    ),
                    {**params, "a": automation, "l": lead},
                )
            ).scalar_one()
            pseudo = (
                await conn.execute(
                    text(
                        "INSERT INTO campaign_runs (workspace_id, automation_id, number, workflow_id, status, total, "
                        "sent, failed, skipped) VALUES (:w, :a, 1, 'automation-a-entry-1', 'automation', 0, 0, 0, 0) "
                        "RETURNING id"
                    ),
                    {**params, "a": automation},
                )
            ).scalar_one()
            await conn.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, channel, status, attempts, "
                    "journey_id, node_id) VALUES (:w, :r, 3, :l, 'email', 'sent', 1, :j, 'case-study')"
                ),
                {**params, "r": pseudo, "l": lead, "j": journey},
            )
        async with engine.connect() as conn:  # a run belongs to a campaign or to an automation, never both or none
            for owner in ("NULL, NULL", f"{campaign}, {automation}"):
                try:
                    await conn.execute(
                        text(
                            "INSERT INTO campaign_runs (workspace_id, campaign_id, automation_id, number, workflow_id, "
                            f"status, total, sent, failed, skipped) VALUES (:w, {owner}, 9, 'x', 'x', 0, 0, 0, 0)"
                        ),
                        params,
                    )
                except DBAPIError as exc:
                    assert "ck_campaign_runs_owner" in str(exc)
                else:
                    raise AssertionError(f"a run owned by ({owner}) was accepted")
                await conn.rollback()
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0012")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT run_id FROM deliveries"))).scalars().all() == [run]
            assert (await conn.execute(text("SELECT to_regclass('journeys')"))).scalar_one() is None
            nullable = (
                await conn.execute(
                    text(
                        "SELECT is_nullable FROM information_schema.columns "
                        "WHERE table_name = 'campaign_runs' AND column_name = 'campaign_id'"
                    )
                )
            ).scalar_one()
            assert nullable == "NO"
        await asyncio.to_thread(command.upgrade, alembic_config(url), "head")  # and up again
    finally:
        await engine.dispose()
        await drop_database(url)
