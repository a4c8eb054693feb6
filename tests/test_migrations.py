"""Migrations run forward over existing data, and back down again."""

from __future__ import annotations

import asyncio
import uuid

from alembic import command
from sqlalchemy import text

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
