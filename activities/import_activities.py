"""Import activities: check and count the file, then write it in chunks, each chunk one transaction.

A chunk is parsed and validated in a thread while the previous one is written; it is COPYed into a staging table and
merged into leads with a few set-based statements. The import row's counts and resume point are updated in the same
transaction, so a worker killed mid-import resumes exactly after the last committed chunk: no row twice, none lost.
Once a chunk commits, its new leads, status changes and list additions go to the trigger dispatcher in one batch
(`_dispatch`, core/journey_intake.py), so that `lead_created` (source `import`) and other triggers start journeys.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import queue as queue_module
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import driver_connection, session_factory
from core.journey_intake import dispatch_events, dispatched_rows, lead_event_journey_events, mark_dispatched
from core.storage import ObjectNotFound, Storage
from core.tabular import FileFormat, Limits, iter_records
from domain.custom_fields import FieldDefinition
from domain.import_mapping import STANDARD_TARGETS
from domain.import_values import (
    ConversionRules,
    ConvertedRow,
    RejectedRow,
    RowConverter,
    infer_date_order,
    text_of,
)
from domain.suppression import CHANNEL_ADDRESS, address_hash_sql
from models.payloads.imports import ImportCounts, ImportEnd, ImportInput, ImportOptions

log = structlog.get_logger("herald.activities.imports")
# A timeline row written by a chunk that may start journeys: (lead_events id, lead id, type, data).
TimelineRow = tuple[int, int, str, dict[str, Any]]
# A lead an import moved to `won` converted, as when its status is changed in the app (api/conversion_service.py's
# record_won): credited to its latest human click within 30 days (last touch), valued at a numeric `deal_value` >= 0,
# recorded once per lead and UTC day (dedupe key `won:<lead>:<date>`), and noted on its timeline. Parameters: $1 the
# workspace, $4 the actor.
WON_CONVERSIONS_CTE = """
    won AS (
        SELECT c.id AS lead_id, gen_random_uuid()::text AS conversion_id, now() AS at,
               'won:' || c.id || ':' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS dedupe,
               CASE WHEN jsonb_typeof(c.custom_fields->'deal_value') = 'number'
                         AND (c.custom_fields->>'deal_value')::numeric >= 0
                    THEN round((c.custom_fields->>'deal_value')::numeric, 2)::text END AS value
        FROM changed c WHERE c.status = 'won' AND c.old_status IS DISTINCT FROM 'won'
    ), won_touch AS (
        SELECT won.*, t.delivery_id, t.campaign_id, t.run_id, t.step, t.variant, t.channel
        FROM won LEFT JOIN LATERAL (
            SELECT e.delivery_id, e.campaign_id, e.run_id, e.step, e.variant, e.channel FROM events e
            WHERE e.lead_id = won.lead_id AND e.workspace_id = $1 AND e.type = 'click' AND NOT e.machine
              AND e.occurred_at >= won.at - interval '30 days' AND e.occurred_at <= won.at
            ORDER BY e.occurred_at DESC, e.delivery_id DESC NULLS LAST LIMIT 1
        ) t ON true
    ), won_events AS (
        INSERT INTO events (workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type,
                            machine, occurred_at, metadata, dedupe_key)
        SELECT $1, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, 'conversion', false, at,
               jsonb_strip_nulls(jsonb_build_object(
                   'conversion_id', conversion_id, 'value', value, 'share', 1, 'model', 'last_touch', 'name', 'won',
                   'source', 'lead_status', 'dedupe', dedupe)),
               dedupe
        FROM won_touch
        ON CONFLICT (workspace_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
        RETURNING lead_id, metadata, campaign_id
    ), won_timeline AS (
        INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at)
        SELECT $1, lead_id, 'converted', jsonb_build_object(
                   'conversion_id', metadata->>'conversion_id', 'value', metadata->>'value', 'name', 'won',
                   'source', 'lead_status', 'campaign_ids', CASE WHEN campaign_id IS NULL THEN '[]'::jsonb
                                                                 ELSE jsonb_build_array(campaign_id) END),
               $4, now()
        FROM won_events
    )"""

# A column per standard field, in the order of STANDARD_TARGETS; `inferred_timezone` is used when the file has none.
STAGE_COLUMNS = ("row_number", "key", *STANDARD_TARGETS, "inferred_timezone", "custom_fields")
TEXT_FIELDS = ("first_name", "last_name", "company", "job_title", "source", "locale", "country")
NULLABLE_FIELDS = ("email", "phone", "external_id")
CREATE_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS import_stage (
    row_number int PRIMARY KEY, key text NOT NULL, email text, phone text, first_name text, last_name text,
    company text, job_title text, status text, score int, source text, tags text[], timezone text,
    inferred_timezone text, locale text, country text, external_id text, custom_fields jsonb,
    lead_id int, old_status text, created boolean NOT NULL DEFAULT false,
    suppressed_email text, suppressed_sms text, suppressed_whatsapp text
) ON COMMIT DELETE ROWS
"""


@dataclass
class Chunk:
    """A chunk as the parser process hands it over: plain tuples and strings, cheap to pickle."""

    import_id: int = 0
    stage: list[tuple[Any, ...]] = field(default_factory=list)  # accepted rows, as import_stage records
    cells: dict[int, str] = field(default_factory=dict)  # row number → the row as JSON, for refusals made later
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (row, cells JSON, reasons JSON)
    duplicates: list[tuple[int, str, str]] = field(default_factory=list)  # repeats inside the chunk, same shape
    rows_read: int = 0
    next_row: int = 0
    next_offset: int | None = None


@dataclass
class ParseJob:
    """What the parser process needs to read, convert and chunk the file from the resume point."""

    path: Path
    fmt: FileFormat
    sheet: str | None
    start_offset: int
    start_row: int
    targets: list[str]
    definitions: dict[str, FieldDefinition]
    rules: ConversionRules
    size: int
    import_id: int


class ParserFailed(Exception):
    """The file could not be read to the end (the reason is the parser's)."""


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="ImportRefused", non_retryable=True)


class ImportActivities:
    def __init__(
        self, engine: AsyncEngine, storage: Storage, limits: Limits, max_rows: int, max_cell: int, chunk_rows: int
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.limits = limits
        self.max_rows = max_rows
        self.max_cell = max_cell
        self.chunk_rows = chunk_rows
        self._sessions: async_sessionmaker[AsyncSession] | None = None  # made on first dispatch

    # -- prepare ---------------------------------------------------------------------------------------------------

    @activity.defn
    async def prepare_import(self, input: ImportInput) -> ImportCounts:
        """Counts the rows (refusing files over the row limit before anything is written) and settles date orders."""
        row = await self._import_row(input)
        options = ImportOptions.model_validate(row["options"])
        fmt = FileFormat(row["kind"], row["encoding"], row["delimiter"], row["sheets"])
        date_columns = await self._date_columns(input.workspace_id, row["mapping"])
        with tempfile.TemporaryDirectory(prefix="herald-import-") as tmp:
            path = await self._download(row["storage_key"], Path(tmp))
            total, orders = await _heartbeating(
                asyncio.to_thread(self._scan, path, fmt, row["sheet"], date_columns, options), {"phase": "counting"}
            )
        if total > self.max_rows:
            raise _refuse(f"the file has {total:,} rows, over the limit of {self.max_rows:,}")
        options.date_orders = orders
        async with self.engine.begin() as conn:
            raw = await _driver(conn)
            await raw.execute(
                "UPDATE imports SET total_rows = $2, options = $3::jsonb, status = 'running', "
                "started_at = coalesce(started_at, now()) WHERE id = $1",
                input.import_id,
                total,
                options.model_dump_json(),
            )
        log.info("import prepared", import_id=input.import_id, rows=total, date_orders=orders)
        return ImportCounts(total_rows=total)

    def _scan(
        self, path: Path, fmt: FileFormat, sheet: str | None, date_columns: list[int], options: ImportOptions
    ) -> tuple[int, dict[str, str]]:
        """Row count, and per date column "dmy"/"mdy" when the option is auto (first telling value decides)."""
        pending = set(date_columns) if options.date_order == "auto" else set()
        orders = {str(index): options.date_order for index in date_columns if options.date_order != "auto"}
        rows = 0
        for row_number, cells, _ in iter_records(path, fmt, sheet):
            if row_number == 1:
                continue
            rows += 1
            for index in list(pending):
                if index < len(cells):
                    found = infer_date_order([cells[index]])
                    if found:
                        orders[str(index)] = found
                        pending.discard(index)
        return rows, orders

    # -- import rows -----------------------------------------------------------------------------------------------

    @activity.defn
    async def import_rows(self, input: ImportInput) -> ImportCounts:
        """Writes every chunk after the last committed one; heartbeats carry the resume point."""
        row = await self._import_row(input)
        options = ImportOptions.model_validate(row["options"])
        workspace = await self._workspace(input.workspace_id)
        definitions = await self._definitions(input.workspace_id)
        rules = ConversionRules(
            dedupe_key=options.dedupe_key,
            default_region=options.default_region or workspace["default_region"],
            statuses=tuple(workspace["lead_statuses"]),
            default_status=options.default_status,
            max_cell_length=self.max_cell,
            date_orders={int(k): v for k, v in options.date_orders.items()},
            default_date_order="mdy" if (options.default_region or workspace["default_region"]) == "US" else "dmy",
        )
        RowConverter(row["mapping"], definitions, rules)  # a bad mapping fails here, before the parser starts
        fmt = FileFormat(row["kind"], row["encoding"], row["delimiter"], row["sheets"])
        actor = row["actor"] or "import"
        with tempfile.TemporaryDirectory(prefix="herald-import-") as tmp:
            path = await self._download(row["storage_key"], Path(tmp))
            start_row, start_offset = row["next_row"], row["next_offset"] or 0
            job = ParseJob(
                path, fmt, row["sheet"], start_offset, start_row, row["mapping"], definitions, rules,
                self.chunk_rows, input.import_id,
            )  # fmt: skip
            async with driver_connection(self.engine) as raw, _parser(job) as chunks:
                await raw.execute(CREATE_STAGE)
                while (chunk := await asyncio.to_thread(chunks.next)) is not None:
                    async with raw.transaction():
                        # Safe without the per-commit flush: a crash loses whole trailing chunks together with
                        # their resume point, so the retry redoes exactly those chunks.
                        await raw.execute("SET LOCAL synchronous_commit = off")
                        timeline = await self._write_chunk(raw, input, options, chunk, actor)
                    resume = {"next_row": chunk.next_row, "next_offset": chunk.next_offset}
                    if timeline:  # committed: the chunk's leads created, moved to a status, added to the list
                        await _heartbeating(self._dispatch(input.workspace_id, timeline), resume)
                    activity.heartbeat(resume)
        return await self._counts(input.import_id)

    async def _write_chunk(
        self, raw: Any, input: ImportInput, options: ImportOptions, chunk: Chunk, actor: str
    ) -> list[TimelineRow]:
        """Writes the chunk; the timeline rows that may start journeys (dispatched once the chunk commits)."""
        ws, import_id = input.workspace_id, input.import_id
        rejections = [*chunk.refused, *chunk.duplicates]
        skipped = 0  # in-file duplicates (they are in the report too) and existing leads left alone by "skip"
        duplicates = len(chunk.duplicates)
        imported = updated = 0
        timeline: list[TimelineRow] = []
        if chunk.stage:
            await raw.copy_records_to_table("import_stage", records=chunk.stage, columns=STAGE_COLUMNS)
            # Duplicates of rows from earlier chunks (the keys table remembers the first row of each key).
            earlier = await raw.fetch(
                "WITH added AS (INSERT INTO import_keys (import_id, key, row_number) "
                "SELECT $1, key, row_number FROM import_stage ON CONFLICT DO NOTHING) "
                "SELECT s.row_number, k.row_number AS first_row FROM import_stage s "
                "JOIN import_keys k ON k.import_id = $1 AND k.key = s.key",
                import_id,
            )
            if earlier:
                for record in earlier:
                    number = record["row_number"]
                    rejections.append(
                        _duplicate_record(number, chunk.cells[number], record["first_row"], options.dedupe_key)
                    )
                duplicates += len(earlier)
                await raw.execute(
                    "DELETE FROM import_stage WHERE row_number = ANY($1::int[])", [r["row_number"] for r in earlier]
                )
            await self._match_existing(raw, ws, options.dedupe_key)
            rejections += await self._refuse_email_clashes(raw, ws, options, chunk)
            await self._apply_suppressions(raw, ws)
            imported, refused = await self._insert_new(raw, ws, import_id, options, actor, chunk, timeline)
            rejections += refused
            if options.on_duplicate == "skip":
                skipped += await raw.fetchval(
                    "SELECT count(*) FROM import_stage WHERE lead_id IS NOT NULL AND NOT created"
                )
            else:
                updated = await self._update_existing(raw, ws, import_id, options, actor, timeline)
            if options.list_id is not None:
                added = await raw.fetch(
                    "WITH added AS (INSERT INTO list_members (list_id, lead_id, mode, added_at) "
                    "SELECT $2, lead_id, 'include', now() FROM import_stage WHERE lead_id IS NOT NULL "
                    "ON CONFLICT DO NOTHING RETURNING lead_id) "
                    "INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at) "
                    "SELECT $1, lead_id, 'added_to_list', jsonb_build_object('list_id', $2::int), $3, now() FROM added "
                    "RETURNING id, lead_id",
                    ws,
                    options.list_id,
                    actor,
                )
                list_data = {"list_id": options.list_id}
                timeline += [(r["id"], r["lead_id"], "added_to_list", list_data) for r in added]
        if rejections:
            await raw.copy_records_to_table(
                "import_rejections",
                records=[(import_id, number, cells, reasons) for number, cells, reasons in rejections],
                columns=("import_id", "row_number", "cells", "reasons"),
            )
        rejected = len(rejections) - duplicates
        skipped += duplicates
        await raw.execute(
            "UPDATE imports SET rows_read = rows_read + $2, imported = imported + $3, updated = updated + $4, "
            "skipped = skipped + $5, rejected = rejected + $6, reported = reported + $9, next_row = $7, "
            "next_offset = $8 WHERE id = $1",
            import_id,
            chunk.rows_read,
            imported,
            updated,
            skipped,
            rejected,
            chunk.next_row,
            chunk.next_offset,
            len(rejections),
        )
        return timeline

    async def _dispatch(self, workspace_id: int, timeline: list[TimelineRow]) -> None:
        """The committed chunk's timeline rows to the trigger dispatcher (core/journey_intake.py): journeys start
        for the leads it created, moved to a status or added to the list. Nothing is dispatched before its chunk
        commits; the rows dispatched leave the outbox, and those of an attempt that died before dispatching them
        (or whose dispatch failed) are dispatched by TriggerSweepWorkflow. Errors are logged: the import goes on."""
        try:
            client = activity.client()
        except RuntimeError:
            log.warning("no Temporal client: imported leads start no journeys")
            return
        if self._sessions is None:
            self._sessions = session_factory(self.engine)
        events = [event for row in timeline for event in lead_event_journey_events(*row)]
        try:
            outcomes = await dispatch_events(client, self._sessions, workspace_id, events, activity.info().task_queue)
        except Exception as error:
            log.error("imported leads not dispatched", events=len(events), error=f"{type(error).__name__}: {error}")
            return
        failed = sum(1 for outcome in outcomes if outcome.error is not None)
        if failed:
            log.error("imported leads not all dispatched", events=len(events), failed=failed)
        try:
            await mark_dispatched(self._sessions, dispatched_rows(outcomes, [row[0] for row in timeline]))
        except Exception as error:  # the sweep dispatches them again: same event ids, nothing starts twice
            log.warning("dispatched timeline rows not marked", error=f"{type(error).__name__}: {error}")

    async def _match_existing(self, raw: Any, ws: int, key: str) -> None:
        if key == "phone":
            await raw.execute(
                "UPDATE import_stage s SET lead_id = m.id, old_status = m.status FROM ("
                "  SELECT DISTINCT ON (phone) id, phone, status FROM leads"
                "  WHERE workspace_id = $1 AND phone IN (SELECT phone FROM import_stage) ORDER BY phone, id"
                ") m WHERE m.phone = s.phone",
                ws,
            )
        else:
            await raw.execute(
                f"UPDATE import_stage s SET lead_id = l.id, old_status = l.status FROM leads l "
                f"WHERE l.workspace_id = $1 AND l.{key} = s.{key}",
                ws,
            )

    async def _refuse_email_clashes(
        self, raw: Any, ws: int, options: ImportOptions, chunk: Chunk
    ) -> list[tuple[int, str, str]]:
        """Rows keyed by phone or external id whose email already belongs to another lead."""
        if options.dedupe_key == "email":
            return []
        clashes = await raw.fetch(
            "SELECT s.row_number, l.id FROM import_stage s JOIN leads l ON l.workspace_id = $1 AND l.email = s.email "
            "WHERE s.email IS NOT NULL AND l.id IS DISTINCT FROM s.lead_id AND (s.lead_id IS NULL OR $2)",
            ws,
            options.on_duplicate != "skip",
        )
        if not clashes:
            return []
        await _drop_staged(raw, chunk.import_id, [r["row_number"] for r in clashes])
        return [
            _rejection(r["row_number"], chunk.cells, [("email", f"already used by another lead (#{r['id']})")])
            for r in clashes
        ]

    async def _apply_suppressions(self, raw: Any, ws: int) -> None:
        """New leads whose address is on the suppression list come in suppressed (never re-subscribed)."""
        for channel, column in CHANNEL_ADDRESS.items():
            await raw.execute(
                f"UPDATE import_stage s SET suppressed_{channel} = x.reason FROM suppressions x "
                f"WHERE x.workspace_id = $1 AND x.channel = '{channel}' AND s.{column} IS NOT NULL "
                f"AND x.address_hash = {address_hash_sql(f's.{column}')}",
                ws,
            )

    async def _insert_new(
        self,
        raw: Any,
        ws: int,
        import_id: int,
        options: ImportOptions,
        actor: str,
        chunk: Chunk,
        timeline: list[TimelineRow],
    ) -> tuple[int, list[tuple[int, str, str]]]:
        consent = _consent_sql(options, new=True, param="$6")
        key = options.dedupe_key
        created = await raw.fetch(
            f"""
            WITH new AS (
                INSERT INTO leads (workspace_id, email, phone, first_name, last_name, company, job_title, status,
                    score, source, tags, timezone, locale, country, external_id, custom_fields,
                    consent_email, consent_sms, consent_whatsapp, consent_details,
                    suppressed_email, suppressed_sms, suppressed_whatsapp, created_at, updated_at)
                SELECT $1, s.email, s.phone, coalesce(s.first_name, ''), coalesce(s.last_name, ''),
                    coalesce(s.company, ''), coalesce(s.job_title, ''), coalesce(s.status, 'new'),
                    coalesce(s.score, 0), coalesce(s.source, $2), {_merged_tags("'{}'::text[]", "$3")},
                    coalesce(s.timezone, s.inferred_timezone, 'UTC'), coalesce(s.locale, ''),
                    coalesce(s.country, ''), s.external_id, coalesce(s.custom_fields, '{{}}'::jsonb),
                    {consent["email"]}, {consent["sms"]}, {consent["whatsapp"]}, {consent["details"]},
                    s.suppressed_email, s.suppressed_sms, s.suppressed_whatsapp, now(), now()
                FROM import_stage s WHERE s.lead_id IS NULL ORDER BY s.row_number
                ON CONFLICT DO NOTHING
                RETURNING id, {key}
            ), marked AS (
                UPDATE import_stage s SET lead_id = new.id, created = true FROM new WHERE s.{key} = new.{key}
                RETURNING s.lead_id
            )
            INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at)
            SELECT $1, lead_id, 'created', jsonb_build_object('source', 'import', 'import_id', $4::int), $5, now()
            FROM marked RETURNING id, lead_id
            """,
            ws,
            options.source,
            options.tags,
            import_id,
            actor,
            *consent["args"],
        )
        created_data = {"source": "import", "import_id": import_id}
        timeline += [(r["id"], r["lead_id"], "created", created_data) for r in created]
        # Rows still without a lead lost a race or clash on another unique value (email or external id).
        lost = await raw.fetch("SELECT row_number FROM import_stage WHERE lead_id IS NULL")
        refused = []
        if lost:
            await _drop_staged(raw, import_id, [r["row_number"] for r in lost])
            refused = [
                _rejection(
                    r["row_number"], chunk.cells, [("email", "email or external id already used by another lead")]
                )
                for r in lost
            ]
        return len(created), refused

    async def _update_existing(
        self, raw: Any, ws: int, import_id: int, options: ImportOptions, actor: str, timeline: list[TimelineRow]
    ) -> int:
        overwrite = options.on_duplicate == "overwrite"
        sets = []
        for name in TEXT_FIELDS:
            if overwrite:
                sets.append(f"{name} = coalesce(s.{name}, l.{name})")
            else:
                sets.append(f"{name} = CASE WHEN l.{name} = '' THEN coalesce(s.{name}, '') ELSE l.{name} END")
        for name in NULLABLE_FIELDS:
            sets.append(
                f"{name} = coalesce(s.{name}, l.{name})" if overwrite else f"{name} = coalesce(l.{name}, s.{name})"
            )
        if overwrite:
            sets += [
                "status = coalesce(s.status, l.status)",
                "score = coalesce(s.score, l.score)",
                "timezone = coalesce(s.timezone, l.timezone)",
                "custom_fields = l.custom_fields || coalesce(s.custom_fields, '{}'::jsonb)",
            ]
        else:
            sets += [
                "score = CASE WHEN l.score = 0 THEN coalesce(s.score, 0) ELSE l.score END",
                "timezone = CASE WHEN l.timezone IN ('', 'UTC') "
                "THEN coalesce(s.timezone, s.inferred_timezone, l.timezone) ELSE l.timezone END",
                "custom_fields = coalesce(s.custom_fields, '{}'::jsonb) || l.custom_fields",
            ]
        sets.append(f"tags = {_merged_tags('l.tags', '$2')}")
        consent = _consent_sql(options, new=False, param="$5")
        sets += [
            f"consent_email = {consent['email']}",
            f"consent_sms = {consent['sms']}",
            f"consent_whatsapp = {consent['whatsapp']}",
            f"consent_details = {consent['details']}",
            "updated_at = now()",
        ]
        result = await raw.fetchrow(
            f"""
            WITH changed AS (
                UPDATE leads l SET {", ".join(sets)}
                FROM import_stage s
                WHERE l.id = s.lead_id AND l.workspace_id = $1 AND NOT s.created
                RETURNING l.id, s.old_status, l.status, l.custom_fields
            ), {WON_CONVERSIONS_CTE}, status_events AS (
                INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at)
                SELECT $1, id, 'status_changed', jsonb_build_object('from', old_status, 'to', status), $4, now()
                FROM changed WHERE old_status IS DISTINCT FROM status
                RETURNING id, lead_id, data
            ), update_events AS (
                INSERT INTO lead_events (workspace_id, lead_id, type, data, actor, created_at)
                SELECT $1, id, 'updated_by_import', jsonb_build_object('import_id', $3::int), $4, now() FROM changed
            )
            SELECT (SELECT count(*) FROM changed) AS updated,
                (SELECT coalesce(json_agg(json_build_array(id, lead_id, data)), '[]') FROM status_events) AS statuses
            """,
            ws,
            options.tags,
            import_id,
            actor,
            *consent["args"],
        )
        statuses = result["statuses"]
        for row_id, lead_id, data in json.loads(statuses) if isinstance(statuses, str) else statuses:
            timeline.append((row_id, lead_id, "status_changed", data))
        return int(result["updated"])

    # -- finish ----------------------------------------------------------------------------------------------------

    @activity.defn
    async def finish_import(self, end: ImportEnd) -> ImportCounts:
        """Records how the import ended and drops its duplicate-key scratch rows."""
        async with self.engine.begin() as conn:
            raw = await _driver(conn)
            await raw.execute(
                "UPDATE imports SET status = $2, error = $3, finished_at = now() WHERE id = $1",
                end.import_id,
                end.status,
                end.error,
            )
            await raw.execute("DELETE FROM import_keys WHERE import_id = $1", end.import_id)
        log.info("import ended", import_id=end.import_id, status=end.status, error=end.error)
        return await self._counts(end.import_id)

    # -- helpers ---------------------------------------------------------------------------------------------------

    async def _import_row(self, input: ImportInput) -> dict[str, Any]:
        async with driver_connection(self.engine) as raw:
            row = await raw.fetchrow(
                "SELECT i.*, coalesce(u.email, '') AS actor FROM imports i LEFT JOIN users u ON u.id = i.created_by "
                "WHERE i.id = $1 AND i.workspace_id = $2",
                input.import_id,
                input.workspace_id,
            )
        if row is None:
            raise _refuse(f"import {input.import_id} does not exist")
        data = dict(row)
        for name in ("sheets", "headers", "mapping", "options"):
            if isinstance(data[name], str):
                data[name] = json.loads(data[name])
        return data

    async def _workspace(self, workspace_id: int) -> dict[str, Any]:
        async with driver_connection(self.engine) as raw:
            row = await raw.fetchrow("SELECT default_region, lead_statuses FROM workspaces WHERE id = $1", workspace_id)
        statuses = row["lead_statuses"]
        return {
            "default_region": row["default_region"],
            "lead_statuses": json.loads(statuses) if isinstance(statuses, str) else statuses,
        }

    async def _definitions(self, workspace_id: int) -> dict[str, FieldDefinition]:
        async with driver_connection(self.engine) as raw:
            rows = await raw.fetch(
                "SELECT key, type, choices FROM custom_field_definitions WHERE workspace_id = $1", workspace_id
            )
        return {
            r["key"]: FieldDefinition(
                r["key"], r["type"], tuple(json.loads(r["choices"]) if isinstance(r["choices"], str) else r["choices"])
            )
            for r in rows
        }

    async def _date_columns(self, workspace_id: int, mapping: list[str]) -> list[int]:
        definitions = await self._definitions(workspace_id)
        return [
            index
            for index, target in enumerate(mapping)
            if target.startswith("custom.") and getattr(definitions.get(target[7:]), "type", None) == "date"
        ]

    async def _download(self, key: str, directory: Path) -> Path:
        path = directory / "source"
        try:
            await asyncio.to_thread(self.storage.download, key, path)
        except ObjectNotFound as exc:
            raise _refuse("the uploaded file is no longer in storage") from exc
        return path

    async def _counts(self, import_id: int) -> ImportCounts:
        async with driver_connection(self.engine) as raw:
            row = await raw.fetchrow(
                "SELECT total_rows, rows_read, imported, updated, skipped, rejected, reported "
                "FROM imports WHERE id = $1",
                import_id,
            )
        return ImportCounts(**dict(row))


async def _heartbeating(work: Any, details: dict[str, Any], every: float = 5.0) -> Any:
    """Awaits work done in a thread while heartbeating from the event loop (heartbeats cannot come from threads).
    Cancelled (the import was cancelled, the worker stops), it cancels the work too rather than leave it running."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            activity.heartbeat(details)
    finally:
        task.cancel()


async def _drop_staged(raw: Any, import_id: int, rows: list[int]) -> None:
    """Takes refused rows out of the chunk, and their keys out of the seen keys (a later row may use them)."""
    await raw.execute("DELETE FROM import_stage WHERE row_number = ANY($1::int[])", rows)
    await raw.execute("DELETE FROM import_keys WHERE import_id = $1 AND row_number = ANY($2::int[])", import_id, rows)


async def _driver(conn: Any) -> Any:
    """The asyncpg connection under a SQLAlchemy one: COPY and multi-statement CTEs need it."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


class _Parser:
    """The parser process's output, read from a thread: the next chunk, or None at the end of the file."""

    def __init__(self, queue: Any, process: Any) -> None:
        self.queue, self.process = queue, process

    def next(self) -> Chunk | None:
        while True:
            try:
                item = self.queue.get(timeout=1)
            except queue_module.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(f"the parser process ended unexpectedly ({self.process.exitcode})") from None
                continue
            if isinstance(item, ParserFailed):
                raise _refuse(f"the file could not be read: {item}")
            return item


@asynccontextmanager
async def _parser(job: ParseJob) -> AsyncIterator[_Parser]:
    """Parsing and validation run in their own process: the event loop keeps the database busy meanwhile, instead
    of waiting for the GIL (in a thread, a chunk's conversion slowed every round trip of the previous chunk)."""
    context = multiprocessing.get_context("spawn")
    chunks = context.Queue(maxsize=3)
    process = context.Process(target=_produce, args=(chunks, job), daemon=True, name=f"import-{job.import_id}")
    process.start()
    try:
        yield _Parser(chunks, process)
    finally:
        if process.is_alive():
            process.terminate()
        await asyncio.to_thread(process.join, 10)
        chunks.close()


def _produce(chunks: Any, job: ParseJob) -> None:
    """The parser process: reads the file from the resume point and queues chunks (then None)."""
    try:
        records = iter_records(job.path, job.fmt, job.sheet, start_offset=job.start_offset, start_row=job.start_row)
        converter = RowConverter(job.targets, job.definitions, job.rules)
        for chunk in _chunks(records, converter, job.rules.dedupe_key, job.size, job.start_row, job.import_id):
            chunks.put(chunk)
        chunks.put(None)
    except Exception as exc:  # reported to the activity, which refuses the file with the reason
        chunks.put(ParserFailed(f"{type(exc).__name__}: {exc}"))


def _chunks(
    records: Iterator[tuple[int, list[Any], int | None]],
    converter: RowConverter,
    dedupe_key: str,
    size: int,
    start_row: int,
    import_id: int,
) -> Iterator[Chunk]:
    """Chunks of converted rows; duplicates inside a chunk are set aside here, across chunks by the database."""
    chunk = Chunk(import_id=import_id, next_row=start_row)
    seen: dict[str, int] = {}
    emails: dict[str, int] = {}
    for row_number, cells, offset in records:
        if row_number == 1:
            chunk.next_row, chunk.next_offset = 1, offset
            continue
        result = converter.convert(row_number, cells)
        chunk.next_row, chunk.next_offset = row_number, offset
        if result is not None:
            chunk.rows_read += 1
            if isinstance(result, RejectedRow):
                chunk.refused.append((row_number, _cells_json(cells), _reasons_json(result.reasons)))
            elif result.key in seen:
                chunk.duplicates.append(_duplicate_record(row_number, _cells_json(cells), seen[result.key], dedupe_key))
            elif dedupe_key != "email" and result.values.get("email") in emails:
                reason = f"also on row {emails[result.values['email']]} with another {dedupe_key}"
                chunk.refused.append((row_number, _cells_json(cells), _reasons_json([("email", reason)])))
            else:
                seen[result.key] = row_number
                if result.values.get("email"):
                    emails[result.values["email"]] = row_number
                chunk.stage.append(_stage_record(result))
                chunk.cells[row_number] = _cells_json(cells)
        if chunk.rows_read >= size:
            yield chunk
            chunk = Chunk(import_id=import_id, next_row=chunk.next_row, next_offset=chunk.next_offset)
            seen.clear()
            emails.clear()
    if chunk.rows_read or chunk.next_row != start_row:
        yield chunk


def _stage_record(row: ConvertedRow) -> tuple[Any, ...]:
    """The row in STAGE_COLUMNS order; a field the file does not give is NULL (the merge keeps what the lead has)."""
    values = row.values
    custom = values.get("custom_fields") or None
    return (
        row.row_number,
        row.key,
        *(values.get(name) for name in STANDARD_TARGETS),
        values.get("inferred_timezone"),
        json.dumps(custom) if custom else None,
    )


def _cells_json(cells: list[Any]) -> str:
    return json.dumps([text_of(cell) for cell in cells])


def _reasons_json(reasons: list[tuple[str, str]]) -> str:
    return json.dumps([list(reason) for reason in reasons])


def _rejection(row_number: int, cells: dict[int, str], reasons: list[tuple[str, str]]) -> tuple[int, str, str]:
    return (row_number, cells[row_number], _reasons_json(reasons))


def _duplicate_record(row_number: int, cells_json: str, first_row: int, key: str) -> tuple[int, str, str]:
    return (row_number, cells_json, _reasons_json([(key, f"duplicate of row {first_row} in this file (skipped)")]))


def _merged_tags(current: str, tags_param: str) -> str:
    """Existing tags ∪ the row's ∪ the import's, sorted and distinct."""
    return (
        f"ARRAY(SELECT DISTINCT t FROM unnest({current} || coalesce(s.tags, '{{}}'::text[]) || {tags_param}::text[]) "
        f"AS t ORDER BY t)"
    )


def _consent_sql(options: ImportOptions, *, new: bool, param: str) -> dict[str, Any]:
    """SQL for consent columns: granted where the import records consent, unless suppressed or denied before.

    Its one argument (the proof: source, wording, time) is bound as `param`.
    """
    consent = options.consent
    channels = set(consent.channels) if consent else set()
    prefix = "s" if new else "l"
    result: dict[str, Any] = {"args": []}
    pieces = []
    for channel in ("email", "sms", "whatsapp"):
        current = "'unknown'" if new else f"l.consent_{channel}"
        if channel in channels:
            condition = f"{prefix}.suppressed_{channel} IS NULL" + (
                "" if new else f" AND l.consent_{channel} <> 'denied'"
            )
            result[channel] = f"CASE WHEN {condition} THEN 'granted' ELSE {current} END"
            pieces.append(
                f"CASE WHEN {condition} THEN jsonb_build_object('{channel}', {param}::jsonb) ELSE '{{}}'::jsonb END"
            )
        else:
            result[channel] = current
    base = "'{}'::jsonb" if new else "l.consent_details"
    result["details"] = " || ".join([base, *pieces]) if pieces else base
    if consent:
        result["args"] = [
            json.dumps(
                {
                    "source": consent.source,
                    "wording": consent.wording,
                    "at": datetime.now(UTC).isoformat(),
                    "method": "import",
                }
            )
        ]
    return result
