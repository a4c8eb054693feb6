"""report speed: rollups of events and deliveries behind the campaign report and the workspace overview

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 09:00:00

The campaign report of a 1M-message run over 10M events read 4M events and 1M deliveries (and their leads) on every
request: 20 s. Both now come pre-aggregated, and stay exact (api/report_rollups.py):

Events (`rollup_*`, per workspace): the reader folds settled events into counts, lazily (api/report_rollups.py);
events above the workspace's `rollup_state.folded_to` (the tail) are read from `events` and added. Events are
append-only, so folding is by id; an id is "settled" once no transaction that may still commit an event with a
smaller id is running (the candidate watermark and the transactions then running are kept in `rollup_state`). The
write path is untouched: no trigger on `events` inserts.
- `rollup_event_counts`: rows, and the conversions' value, per run, step, variant, type, machine and quarter-hour
  (the series in any timezone whose offset is whole quarter-hours, i.e. all of them since 1980).
- `rollup_links`: human clicks per run and URL, and the (delivery, URL) pairs among them (distinct messages).
- `rollup_devices`: human opens and clicks per run and device (`rollup_device`, the rules of domain/devices.py), and
  the (delivery, open/click, device) pairs among them.
- `rollup_event_keys`: one row per conversion (its conversion id) and per lead with a permanent bounce, per group and
  quarter-hour: conversions and hard bounces are counted distinct over any set of groups and periods.
Deletions take what was folded off, under the workspace's `rollup_state` lock (a fold holds it too): a lead's
events (erasure: `leads_forget_events`); the pairs of a deleted delivery (its events stay, without their delivery,
so they make no distinct message any more); a deleted run's links and devices.

Deliveries change (claims, marks, stamps of opens and clicks): statement-level triggers append the change of the
counts (messages, opened by a person, clicked by a person) to `rollup_delivery_deltas` (append-only, no foreign
key: no row is shared by two writers, so no lock is waited for), per run, step, variant, channel, status and, for
sent messages, the lead's country and the quarter-hour of `sent_at`. The reader adds `rollup_deliveries` and the deltas, and moves the deltas into
`rollup_deliveries` (DELETE ... RETURNING: only committed deltas move). A lead's country change rewrites the
country of its sent deliveries (a row trigger, only when the country changes; it locks those deliveries so that a
concurrent stamp cannot count under the other country). A lead being deleted takes its deliveries off itself (a
row trigger before the delete: the cascade's statement trigger on deliveries runs when the lead, and its country,
are gone). Existing deliveries are counted here; existing events are folded by the first report.

`ix_events_run_type_at` served the report's per-run scans only: it becomes `ix_events_workspace_id`
(workspace_id, id), which serves the folds and the tail, so an event insert maintains as many indexes as before.
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# domain/devices.py's RULES, frozen here (tests/test_report_rollups.py checks they agree).
DEVICE = """
    CREATE FUNCTION rollup_device(agent text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN agent ~* 'ipad|tablet|android(?!.*mobile)' THEN 'tablet'
                    WHEN agent ~* 'mobile|iphone|ipod|android' THEN 'mobile'
                    WHEN agent ~* 'windows|macintosh|x11|linux|cros' THEN 'desktop'
                    ELSE 'other' END
    $$
"""
QUARTER = """
    CREATE FUNCTION rollup_quarter(at timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT date_bin('15 minutes', at, timestamptz '2000-01-01 00:00+00')
    $$
"""
# A conversion's value as the report sums it.
VALUE = "CASE WHEN {m}->>'value' ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN ({m}->>'value')::numeric END"

TABLES = """
    CREATE TABLE rollup_state (
        workspace_id integer PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
        folded_to bigint NOT NULL DEFAULT 0,
        settled_to bigint NOT NULL DEFAULT 0,
        pending_to bigint,
        pending_at timestamptz,
        pending_vxids text[]
    );
    CREATE TABLE rollup_event_counts (
        workspace_id integer NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        run_id integer, step integer, variant text, type text NOT NULL, machine boolean NOT NULL,
        bucket timestamptz NOT NULL, n bigint NOT NULL, value numeric NOT NULL DEFAULT 0
    ) WITH (fillfactor = 70);
    CREATE UNIQUE INDEX ux_rollup_event_counts ON rollup_event_counts
        (workspace_id, run_id, step, variant, type, machine, bucket) NULLS NOT DISTINCT;
    CREATE INDEX ix_rollup_event_counts_bucket ON rollup_event_counts (workspace_id, bucket);
    CREATE TABLE rollup_links (
        workspace_id integer NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        run_id integer NOT NULL, url text NOT NULL, clicks bigint NOT NULL, unique_clicks bigint NOT NULL
    ) WITH (fillfactor = 70);
    CREATE UNIQUE INDEX ux_rollup_links ON rollup_links (workspace_id, run_id, md5(url));
    CREATE TABLE rollup_devices (
        workspace_id integer NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        run_id integer NOT NULL, device text NOT NULL, n bigint NOT NULL, opened bigint NOT NULL,
        clicked bigint NOT NULL
    ) WITH (fillfactor = 70);
    CREATE UNIQUE INDEX ux_rollup_devices ON rollup_devices (workspace_id, run_id, device);
    CREATE TABLE rollup_event_keys (
        workspace_id integer NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        run_id integer, step integer, variant text, type text NOT NULL, machine boolean NOT NULL,
        bucket timestamptz NOT NULL, key text NOT NULL, lead_id integer
    );
    CREATE UNIQUE INDEX ux_rollup_event_keys ON rollup_event_keys
        (workspace_id, run_id, step, variant, type, machine, bucket, md5(key)) NULLS NOT DISTINCT;
    CREATE INDEX ix_rollup_event_keys_lead ON rollup_event_keys (lead_id);
    CREATE TABLE rollup_deliveries (
        workspace_id integer NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
        run_id integer NOT NULL, step integer NOT NULL, variant text, channel text NOT NULL, status text NOT NULL,
        country text NOT NULL, sent_bucket timestamptz, n bigint NOT NULL, opened bigint NOT NULL,
        clicked bigint NOT NULL
    ) WITH (fillfactor = 70);
    CREATE UNIQUE INDEX ux_rollup_deliveries ON rollup_deliveries
        (workspace_id, run_id, step, variant, channel, status, country, sent_bucket) NULLS NOT DISTINCT;
    CREATE TABLE rollup_delivery_deltas (
        workspace_id integer NOT NULL, run_id integer NOT NULL, step integer NOT NULL, variant text,
        channel text NOT NULL, status text NOT NULL, country text NOT NULL, sent_bucket timestamptz,
        n bigint NOT NULL, opened bigint NOT NULL, clicked bigint NOT NULL
    );
    CREATE INDEX ix_rollup_delivery_deltas ON rollup_delivery_deltas (workspace_id, run_id);
"""


# What a delivery row counts as, times {n} (+1 or -1): under its key (a sent message's with its lead's country, {country},
# and the quarter-hour of its sending), one message, opened and clicked by a person or not.
def _counted(d: str, country: str, n: int) -> str:
    return f"""({d}.workspace_id, {d}.run_id, {d}.step, {d}.variant, {d}.channel, {d}.status,
        CASE WHEN {d}.status = 'sent' THEN coalesce({country}, '') ELSE '' END,
        CASE WHEN {d}.status = 'sent' THEN rollup_quarter({d}.sent_at) END, {n},
        CASE WHEN {d}.status = 'sent' AND {d}.opened_at IS NOT NULL THEN {n} ELSE 0 END,
        CASE WHEN {d}.status = 'sent' AND {d}.clicked_at IS NOT NULL THEN {n} ELSE 0 END)"""


KEY = "workspace_id, run_id, step, variant, channel, status, country, sent_bucket"
COUNTED = f"{KEY}, n, opened, clicked"
K_KEY = ", ".join(f"k.{column}" for column in KEY.split(", "))
SUMS = "sum(k.n), sum(k.opened), sum(k.clicked)"

# The count changes of deliveries that appear (`counted`) and disappear (`uncounted`; an update is both, paired by
# id: a row whose counted key and flags stay the same costs nothing more), as rollup_delivery values (what of a
# delivery is counted: ROLLUP_DELIVERY). In its own function, so that its plan is kept: a trigger's statements over
# its transition tables are planned on every call, and this one, left to choose, was planned anew for each call too
# (0.4 ms; the generic plan looks up leads by id whatever the number of rows).
ROLLUP_DELIVERY = """
    CREATE TYPE rollup_delivery AS (id bigint, workspace_id integer, run_id integer, step integer, variant text,
                                    channel text, status text, lead_id integer, opened boolean, clicked boolean,
                                    sent_bucket timestamptz)
"""
AS_COUNTED = (
    "CAST(ROW({d}.id, {d}.workspace_id, {d}.run_id, {d}.step, {d}.variant, {d}.channel, {d}.status, {d}.lead_id, "
    "{d}.status = 'sent' AND {d}.opened_at IS NOT NULL, {d}.status = 'sent' AND {d}.clicked_at IS NOT NULL, "
    "CASE WHEN {d}.status = 'sent' THEN rollup_quarter({d}.sent_at) END) AS rollup_delivery)"
)
SAME = (
    "(x.workspace_id, x.run_id, x.step, x.variant, x.channel, x.status, x.lead_id, x.opened, x.clicked, "
    "x.sent_bucket) IS NOT DISTINCT FROM (y.workspace_id, y.run_id, y.step, y.variant, y.channel, y.status, "
    "y.lead_id, y.opened, y.clicked, y.sent_bucket)"
)
COUNT_DELIVERIES = f"""
    CREATE FUNCTION rollup_count_deliveries(counted rollup_delivery[], uncounted rollup_delivery[]) RETURNS void
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
    BEGIN
        IF cardinality(counted) = 0 AND cardinality(uncounted) = 0 THEN  -- e.g. an update that matched no row
            RETURN;
        END IF;
        INSERT INTO rollup_delivery_deltas ({COUNTED})
        SELECT d.workspace_id, d.run_id, d.step, d.variant, d.channel, d.status,
               CASE WHEN d.status = 'sent' THEN coalesce(l.country, '') ELSE '' END, d.sent_bucket, sum(d.sign),
               sum(CASE WHEN d.opened THEN d.sign ELSE 0 END), sum(CASE WHEN d.clicked THEN d.sign ELSE 0 END)
        FROM (
            SELECT x.*, 1 AS sign FROM unnest(counted) x
            WHERE NOT EXISTS (SELECT 1 FROM unnest(uncounted) y WHERE y.id = x.id AND {SAME})
            UNION ALL
            SELECT y.*, -1 FROM unnest(uncounted) y
            WHERE NOT EXISTS (SELECT 1 FROM unnest(counted) x WHERE x.id = y.id AND {SAME})
        ) d
        LEFT JOIN leads l ON l.id = d.lead_id AND d.status = 'sent'
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        HAVING sum(d.sign) <> 0 OR sum(CASE WHEN d.opened THEN d.sign ELSE 0 END) <> 0
            OR sum(CASE WHEN d.clicked THEN d.sign ELSE 0 END) <> 0;
    END $$;
"""
DELIVERIES_INSERTED = f"""
    CREATE FUNCTION rollup_deliveries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM rollup_count_deliveries(ARRAY(SELECT {AS_COUNTED.format(d="a")} FROM added a), '{{}}');
        RETURN NULL;
    END $$;
"""
DELIVERIES_UPDATED = f"""
    CREATE FUNCTION rollup_deliveries_updated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM rollup_count_deliveries(ARRAY(SELECT {AS_COUNTED.format(d="a")} FROM after_rows a),
                                        ARRAY(SELECT {AS_COUNTED.format(d="b")} FROM before_rows b));
        RETURN NULL;
    END $$;
"""
# The workspaces of {rows} (a relation with workspace_id) get a rollup_state row and it is locked: a fold holds it
# too, so none runs between what the statement sees and what it takes off.
LOCK_STATE = """
        INSERT INTO rollup_state (workspace_id)
        SELECT DISTINCT x.workspace_id FROM {rows} x JOIN workspaces w ON w.id = x.workspace_id
        ORDER BY 1 ON CONFLICT DO NOTHING;
        PERFORM 1 FROM rollup_state WHERE workspace_id IN (SELECT x.workspace_id FROM {rows} x)
        ORDER BY workspace_id FOR UPDATE;
"""
# The (delivery, URL) and (delivery, open/click, device) pairs of the deliveries that go, which folds counted as
# distinct (their first event is at or below folded_to), counted so no more. {events}: FROM ... WHERE giving the
# human opens and clicks of those deliveries as `e`, with `delivery_id` the delivery's id.
UNCOUNT_PAIRS = """
        WITH owned AS (
            SELECT e.id, e.workspace_id, e.run_id, e.type, e.url, k.delivery_id,
                   rollup_device(coalesce(e.metadata->>'user_agent', '')) AS device
            FROM {events} AND e.type IN ('open', 'click') AND NOT e.machine AND e.run_id IS NOT NULL
        ), firsts AS (
            SELECT o.*, row_number() OVER (PARTITION BY o.run_id, o.delivery_id, o.url ORDER BY o.id) AS link_nth,
                   row_number() OVER (PARTITION BY o.run_id, o.type, o.delivery_id, o.device ORDER BY o.id)
                       AS device_nth
            FROM owned o
        ), counted AS (
            SELECT f.* FROM firsts f JOIN rollup_state s ON s.workspace_id = f.workspace_id WHERE f.id <= s.folded_to
        ), links AS (
            UPDATE rollup_links k SET unique_clicks = k.unique_clicks - x.n
            FROM (SELECT workspace_id, run_id, url, count(*) AS n FROM counted
                  WHERE type = 'click' AND url IS NOT NULL AND link_nth = 1 GROUP BY 1, 2, 3) x
            WHERE k.workspace_id = x.workspace_id AND k.run_id = x.run_id AND md5(k.url) = md5(x.url)
        )
        UPDATE rollup_devices v SET opened = v.opened - x.opened, clicked = v.clicked - x.clicked
        FROM (SELECT workspace_id, run_id, device, count(*) FILTER (WHERE type = 'open') AS opened,
                     count(*) FILTER (WHERE type = 'click') AS clicked
              FROM counted WHERE device_nth = 1 GROUP BY 1, 2, 3) x
        WHERE v.workspace_id = x.workspace_id AND v.run_id = x.run_id AND v.device = x.device;
"""
LEAD_PAIRS = UNCOUNT_PAIRS.format(
    events="deliveries d JOIN events e ON e.delivery_id = d.id "
    "CROSS JOIN LATERAL (SELECT d.id AS delivery_id) k WHERE d.lead_id = OLD.id"
)
# A lead about to be deleted takes its deliveries off the counts (under its country, which only this trigger still
# knows: when the cascade's statement trigger on deliveries runs, the lead is gone), with the distinct pairs they
# made (their events still hold the delivery). Nothing to do when its workspace is being deleted.
LEAD_DELETED = f"""
    CREATE FUNCTION rollup_lead_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM workspaces WHERE id = OLD.workspace_id) THEN
            RETURN OLD;
        END IF;
        {LOCK_STATE.format(rows="(SELECT OLD.workspace_id AS workspace_id)")}
        INSERT INTO rollup_delivery_deltas ({COUNTED})
        SELECT {K_KEY}, {SUMS}
        FROM deliveries d CROSS JOIN LATERAL (VALUES {_counted("d", "OLD.country", -1)}) AS k({COUNTED})
        WHERE d.lead_id = OLD.id GROUP BY {K_KEY};
        {LEAD_PAIRS}
        RETURN OLD;
    END $$;
"""
# Deliveries deleted with their lead are the lead's trigger's (it took them off already). Others (a run deleted, or
# a delivery deleted by itself) come off under their lead's country; a run that is gone takes its links and devices
# along; for a run still there, the pairs of the deliveries' events (whose delivery is NULL by now, or still the
# delivery: either way they are the delivery's lead's, run's, step's and channel's) count no more.
KEPT = (
    "(SELECT r.* FROM removed r WHERE EXISTS (SELECT 1 FROM leads l WHERE l.id = r.lead_id) "
    "AND EXISTS (SELECT 1 FROM workspaces w WHERE w.id = r.workspace_id))"
)
KEPT_PAIRS = UNCOUNT_PAIRS.format(
    events=KEPT + " r JOIN events e ON e.delivery_id = r.id OR (e.delivery_id IS NULL AND e.lead_id = r.lead_id "
    "AND e.run_id = r.run_id AND e.step = r.step AND e.channel = r.channel) "
    "CROSS JOIN LATERAL (SELECT r.id AS delivery_id) k WHERE EXISTS (SELECT 1 FROM campaign_runs c WHERE c.id = r.run_id)"
)
DELIVERIES_DELETED = f"""
    CREATE FUNCTION rollup_deliveries_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM {KEPT} r) THEN
            RETURN NULL;
        END IF;
        PERFORM rollup_count_deliveries('{{}}', ARRAY(SELECT {AS_COUNTED.format(d="r")} FROM {KEPT} r));
        {LOCK_STATE.format(rows=KEPT)}
        DELETE FROM rollup_links k USING (SELECT DISTINCT workspace_id, run_id FROM {KEPT} r) g
        WHERE k.workspace_id = g.workspace_id AND k.run_id = g.run_id
          AND NOT EXISTS (SELECT 1 FROM campaign_runs c WHERE c.id = g.run_id);
        DELETE FROM rollup_devices v USING (SELECT DISTINCT workspace_id, run_id FROM {KEPT} r) g
        WHERE v.workspace_id = g.workspace_id AND v.run_id = g.run_id
          AND NOT EXISTS (SELECT 1 FROM campaign_runs c WHERE c.id = g.run_id);
        {KEPT_PAIRS}
        RETURN NULL;
    END $$;
"""
LEAD_COUNTRY_CHANGED = f"""
    CREATE FUNCTION rollup_lead_country_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- All of them locked first (also those being marked sent right now): a stamp or mark of one of them waits
        -- for this transaction and then reads the new country; one that was ahead is seen below.
        PERFORM 1 FROM deliveries WHERE lead_id = NEW.id ORDER BY id FOR NO KEY UPDATE;
        INSERT INTO rollup_delivery_deltas ({COUNTED})
        SELECT {K_KEY}, {SUMS}
        FROM deliveries d
        CROSS JOIN LATERAL (VALUES {_counted("d", "NEW.country", 1)}, {_counted("d", "OLD.country", -1)}) AS k({COUNTED})
        WHERE d.lead_id = NEW.id AND d.status = 'sent'
        GROUP BY {K_KEY};
        RETURN NULL;
    END $$;
"""

# Erasure (0010's leads_forget_events), now also taking the deleted events out of what was folded of them: under
# each workspace's rollup_state lock, the events at or below folded_to come off the counts (the distinct pairs they
# made went with their deliveries: rollup_lead_deleted). The lead's conversions and hard bounces leave
# rollup_event_keys.
FORGET_EVENTS = f"""
    CREATE OR REPLACE FUNCTION leads_forget_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO rollup_state (workspace_id)
        SELECT DISTINCT g.workspace_id FROM gone g JOIN workspaces w ON w.id = g.workspace_id
        ORDER BY 1 ON CONFLICT DO NOTHING;
        PERFORM 1 FROM rollup_state WHERE workspace_id IN (SELECT workspace_id FROM gone)
        ORDER BY workspace_id FOR UPDATE;
        WITH erased AS (
            DELETE FROM events WHERE lead_id IN (SELECT id FROM gone)
            RETURNING id, workspace_id, run_id, step, variant, type, machine, url, delivery_id, occurred_at,
                      metadata
        ), folded AS (  -- not when the workspace goes: its rollups go with it
            SELECT e.* FROM erased e JOIN rollup_state s ON s.workspace_id = e.workspace_id
            JOIN workspaces w ON w.id = e.workspace_id
            WHERE e.id <= s.folded_to
        ), counts AS (
            INSERT INTO rollup_event_counts AS c (workspace_id, run_id, step, variant, type, machine, bucket, n,
                                                  value)
            SELECT workspace_id, run_id, step, variant, type, machine, rollup_quarter(occurred_at), -count(*),
                   -coalesce(sum({VALUE.format(m="metadata")}), 0)
            FROM folded GROUP BY 1, 2, 3, 4, 5, 6, 7
            ON CONFLICT (workspace_id, run_id, step, variant, type, machine, bucket)
            DO UPDATE SET n = c.n + excluded.n, value = c.value + excluded.value
        ), links AS (
            UPDATE rollup_links k SET clicks = k.clicks - x.n
            FROM (SELECT workspace_id, run_id, url, count(*) AS n FROM folded
                  WHERE type = 'click' AND NOT machine AND url IS NOT NULL AND run_id IS NOT NULL GROUP BY 1, 2, 3) x
            WHERE k.workspace_id = x.workspace_id AND k.run_id = x.run_id AND md5(k.url) = md5(x.url)
        ), devices AS (
            UPDATE rollup_devices v SET n = v.n - x.n
            FROM (SELECT workspace_id, run_id, rollup_device(coalesce(metadata->>'user_agent', '')) AS device,
                         count(*) AS n
                  FROM folded WHERE type IN ('open', 'click') AND NOT machine AND run_id IS NOT NULL
                  GROUP BY 1, 2, 3) x
            WHERE v.workspace_id = x.workspace_id AND v.run_id = x.run_id AND v.device = x.device
        )
        DELETE FROM rollup_event_keys WHERE lead_id IN (SELECT id FROM gone);
        RETURN NULL;
    END $$;
"""
# rollup_delivery_deltas has no foreign key (its writers are the hot paths): a deleted workspace's go here.
FORGET_DELTAS = """
    CREATE FUNCTION rollup_workspaces_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM rollup_delivery_deltas WHERE workspace_id IN (SELECT id FROM gone);
        RETURN NULL;
    END $$;
"""
FORGET_EVENTS_0010 = """
    CREATE OR REPLACE FUNCTION leads_forget_events() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM events WHERE lead_id IN (SELECT id FROM gone);
        RETURN NULL;
    END $$;
"""

BACKFILL_DELIVERIES = f"""
    INSERT INTO rollup_deliveries ({COUNTED})
    SELECT {K_KEY}, {SUMS}
    FROM deliveries d LEFT JOIN leads l ON l.id = d.lead_id
    CROSS JOIN LATERAL (VALUES {_counted("d", "l.country", 1)}) AS k({COUNTED})
    GROUP BY {K_KEY}
"""


def upgrade() -> None:
    op.drop_index("ix_events_run_type_at", table_name="events")
    op.create_index("ix_events_workspace_id", "events", ["workspace_id", "id"], unique=False)
    op.execute(DEVICE)
    op.execute(QUARTER)
    for statement in TABLES.split(";"):
        if statement.strip():
            op.execute(statement)
    op.execute(ROLLUP_DELIVERY)
    op.execute(COUNT_DELIVERIES)
    op.execute(DELIVERIES_INSERTED)
    op.execute(DELIVERIES_UPDATED)
    op.execute(DELIVERIES_DELETED)
    op.execute(
        "CREATE TRIGGER rollup_deliveries_inserted AFTER INSERT ON deliveries REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION rollup_deliveries_inserted()"
    )
    op.execute(
        "CREATE TRIGGER rollup_deliveries_updated AFTER UPDATE ON deliveries "
        "REFERENCING OLD TABLE AS before_rows NEW TABLE AS after_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION rollup_deliveries_updated()"
    )
    op.execute(
        "CREATE TRIGGER rollup_deliveries_deleted AFTER DELETE ON deliveries REFERENCING OLD TABLE AS removed "
        "FOR EACH STATEMENT EXECUTE FUNCTION rollup_deliveries_deleted()"
    )
    op.execute(LEAD_COUNTRY_CHANGED)
    op.execute(
        "CREATE TRIGGER rollup_lead_country_changed AFTER UPDATE OF country ON leads FOR EACH ROW "
        "WHEN (OLD.country IS DISTINCT FROM NEW.country) EXECUTE FUNCTION rollup_lead_country_changed()"
    )
    op.execute(LEAD_DELETED)
    op.execute(
        "CREATE TRIGGER rollup_lead_deleted BEFORE DELETE ON leads FOR EACH ROW EXECUTE FUNCTION rollup_lead_deleted()"
    )
    op.execute(FORGET_EVENTS)
    op.execute(FORGET_DELTAS)
    op.execute(
        "CREATE TRIGGER rollup_workspaces_deleted AFTER DELETE ON workspaces REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION rollup_workspaces_deleted()"
    )
    op.execute(BACKFILL_DELIVERIES)


def downgrade() -> None:
    op.execute(FORGET_EVENTS_0010)
    op.execute("DROP TRIGGER rollup_workspaces_deleted ON workspaces")
    op.execute("DROP FUNCTION rollup_workspaces_deleted()")
    op.execute("DROP TRIGGER rollup_lead_deleted ON leads")
    op.execute("DROP FUNCTION rollup_lead_deleted()")
    op.execute("DROP TRIGGER rollup_lead_country_changed ON leads")
    op.execute("DROP FUNCTION rollup_lead_country_changed()")
    for event in ("inserted", "updated", "deleted"):
        op.execute(f"DROP TRIGGER rollup_deliveries_{event} ON deliveries")
        op.execute(f"DROP FUNCTION rollup_deliveries_{event}()")
    op.execute("DROP FUNCTION rollup_count_deliveries(rollup_delivery[], rollup_delivery[])")
    op.execute("DROP TYPE rollup_delivery")
    for table in (
        "rollup_delivery_deltas",
        "rollup_deliveries",
        "rollup_event_keys",
        "rollup_devices",
        "rollup_links",
        "rollup_event_counts",
        "rollup_state",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION rollup_quarter(timestamptz)")
    op.execute("DROP FUNCTION rollup_device(text)")
    op.drop_index("ix_events_workspace_id", table_name="events")
    op.create_index("ix_events_run_type_at", "events", ["run_id", "type", "occurred_at"], unique=False)
