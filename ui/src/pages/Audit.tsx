import { Fragment, useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import type { AuditEntry } from "../api/client";
import { PAGE_SIZE, useAudit, useMembers, type AuditFilters } from "../api/queries";
import { dayRange, prettyJson, summarizeChange } from "../audit";
import { can } from "../auth";
import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { SearchBox } from "../components/SearchBox";
import { TableState } from "../components/TableState";
import { formatDateTime, formatNumber } from "../format";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";

/** What the filter inputs hold; dates are `<input type="date">` values (local days). */
type Form = {
  search: string;
  action: string;
  entity_type: string;
  entity_id: string;
  user_id: string;
  since: string;
  until: string;
};

const EMPTY: Form = { search: "", action: "", entity_type: "", entity_id: "", user_id: "", since: "", until: "" };
const FIELDS = Object.keys(EMPTY) as (keyof Form)[];

// Suggestions only: the inputs take any value the API knows.
const ACTION_HINTS = [
  "auth.",
  "campaign.",
  "campaign.created",
  "campaign.launched",
  "campaign.paused",
  "campaign.resumed",
  "campaign.cancelled",
  "lead.created",
  "list.created",
  "template.created",
  "member.",
  "api_key.",
  "workspace.",
];
const ENTITY_HINTS = ["campaign", "lead", "list", "template", "user", "api_key", "workspace"];

function toFilters(form: Form): AuditFilters {
  const range = dayRange(form.since, form.until);
  return {
    search: form.search.trim(),
    action: form.action.trim(),
    entity_type: form.entity_type.trim(),
    entity_id: form.entity_id.trim(),
    user_id: /^\d+$/.test(form.user_id.trim()) ? form.user_id.trim() : "",
    since: range.since,
    until: range.until,
  };
}

export function Audit() {
  const me = useSession();
  const [params] = useSearchParams();
  // Links from elsewhere (e.g. a campaign's "History") arrive with filters in the address.
  const [form, setForm] = useState<Form>(() => {
    const initial = { ...EMPTY };
    for (const field of FIELDS) initial[field] = params.get(field) ?? "";
    return initial;
  });
  const [expanded, setExpanded] = useState<Set<number>>(new Set());
  const key = useDebouncedValue(JSON.stringify(toFilters(form)), 300);
  const filters = useMemo(() => JSON.parse(key) as AuditFilters, [key]);
  const [page, setPage] = useState({ offset: 0, key });
  // New filters start again at the first page.
  const offset = page.key === key ? page.offset : 0;
  const audit = useAudit(filters, offset);
  const canListMembers = can(me, "members:manage");
  const members = useMembers(canListMembers);
  const rows = audit.data?.items ?? [];
  const total = audit.data?.total ?? 0;
  const filtered = Object.values(filters).some(Boolean);

  const set = (field: keyof Form) => (value: string) => setForm((old) => ({ ...old, [field]: value }));
  const toggle = (id: number) =>
    setExpanded((old) => {
      const next = new Set(old);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle={
          audit.data
            ? `${formatNumber(total)} ${filtered ? "matching" : "recorded"} · who changed what in ${me.workspace.name}, newest first`
            : `Who changed what in ${me.workspace.name}, newest first`
        }
        actions={<SearchBox value={form.search} onChange={set("search")} placeholder="Search actor…" label="Search actor" />}
      />
      <form className="card filters" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
        <label className="field">
          <span className="field-label">Action</span>
          <input
            name="action"
            className="input"
            list="audit-actions"
            value={form.action}
            onChange={(event) => set("action")(event.target.value)}
            placeholder="e.g. campaign."
            maxLength={64}
          />
          <datalist id="audit-actions">
            {ACTION_HINTS.map((hint) => (
              <option key={hint} value={hint} />
            ))}
          </datalist>
        </label>
        <label className="field">
          <span className="field-label">Entity type</span>
          <input
            name="entity_type"
            className="input"
            list="audit-entities"
            value={form.entity_type}
            onChange={(event) => set("entity_type")(event.target.value)}
            placeholder="any"
            maxLength={64}
          />
          <datalist id="audit-entities">
            {ENTITY_HINTS.map((hint) => (
              <option key={hint} value={hint} />
            ))}
          </datalist>
        </label>
        <label className="field field-narrow">
          <span className="field-label">Entity id</span>
          <input
            name="entity_id"
            className="input"
            value={form.entity_id}
            onChange={(event) => set("entity_id")(event.target.value)}
            placeholder="any"
            maxLength={64}
          />
        </label>
        <label className="field">
          <span className="field-label">User</span>
          {canListMembers && members.data ? (
            <select name="user_id" className="input" value={form.user_id} onChange={(event) => set("user_id")(event.target.value)}>
              <option value="">Anyone</option>
              {members.data.map((member) => (
                <option key={member.user_id} value={String(member.user_id)}>
                  {member.email}
                </option>
              ))}
              {form.user_id && !members.data.some((m) => String(m.user_id) === form.user_id) && (
                <option value={form.user_id}>user {form.user_id}</option>
              )}
            </select>
          ) : (
            <input
              name="user_id"
              className="input"
              type="number"
              min={1}
              step={1}
              value={form.user_id}
              onChange={(event) => set("user_id")(event.target.value)}
              placeholder="user id"
            />
          )}
        </label>
        <label className="field">
          <span className="field-label">From</span>
          <input
            name="since"
            type="date"
            className="input"
            value={form.since}
            max={form.until || undefined}
            onChange={(event) => set("since")(event.target.value)}
          />
        </label>
        <label className="field">
          <span className="field-label">To</span>
          <input
            name="until"
            type="date"
            className="input"
            value={form.until}
            min={form.since || undefined}
            onChange={(event) => set("until")(event.target.value)}
          />
        </label>
        <div className="filters-actions">
          <button
            type="button"
            className="btn btn-ghost"
            disabled={FIELDS.every((field) => form[field] === "")}
            onClick={() => setForm(EMPTY)}
          >
            Clear filters
          </button>
        </div>
      </form>
      <ErrorAlert error={audit.error} />
      <div className={`card card-table ${audit.isPlaceholderData ? "is-stale" : ""}`}>
        <div className="table-wrap">
          <table className="table table-clickable table-fixed">
            <colgroup>
              <col className="col-when" />
              <col className="col-actor" />
              <col className="col-action" />
              <col className="col-entity" />
              <col />
            </colgroup>
            <thead>
              <tr>
                <th>When</th>
                <th>Actor</th>
                <th>Action</th>
                <th>Entity</th>
                <th>Change</th>
              </tr>
            </thead>
            <tbody>
              <TableState
                colSpan={5}
                loading={audit.isPending}
                empty={rows.length === 0}
                emptyText={filtered ? "No entries match these filters." : "Nothing recorded yet."}
              />
              {rows.map((entry) => (
                <AuditRow key={entry.id} entry={entry} open={expanded.has(entry.id)} onToggle={() => toggle(entry.id)} />
              ))}
            </tbody>
          </table>
        </div>
        {audit.data && (
          <Pagination
            offset={audit.data.offset}
            limit={PAGE_SIZE}
            count={rows.length}
            total={total}
            busy={audit.isFetching}
            onChange={(next) => setPage({ offset: next, key })}
          />
        )}
      </div>
    </>
  );
}

function AuditRow({ entry, open, onToggle }: { entry: AuditEntry; open: boolean; onToggle: () => void }) {
  const change = summarizeChange(entry.before, entry.after);
  return (
    <Fragment>
      <tr
        data-testid="audit-row"
        className={open ? "selected" : undefined}
        tabIndex={0}
        aria-expanded={open}
        onClick={onToggle}
        onKeyDown={(event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            onToggle();
          }
        }}
      >
        <td className="nowrap">
          <span className={`disclosure ${open ? "open" : ""}`} aria-hidden="true">
            ▸
          </span>
          {formatDateTime(entry.created_at)}
        </td>
        <td className="truncate" title={entry.actor}>
          {entry.actor}
          {entry.api_key_id !== null && <span className="tag tag-self">API key</span>}
        </td>
        <td className="truncate">
          <code className="action">{entry.action}</code>
        </td>
        <td className="truncate">
          {entry.entity_type}
          {entry.entity_id !== null && <span className="muted"> #{entry.entity_id}</span>}
        </td>
        <td className="truncate muted" title={change}>
          {change || "—"}
        </td>
      </tr>
      {open && (
        <tr className="audit-detail" data-testid="audit-detail">
          <td colSpan={5}>
            <div className="diff">
              <div>
                <h3 className="section-title">Before</h3>
                <pre className="json">{prettyJson(entry.before)}</pre>
              </div>
              <div>
                <h3 className="section-title">After</h3>
                <pre className="json">{prettyJson(entry.after)}</pre>
              </div>
            </div>
            <dl className="headers detail-meta">
              <dt>IP</dt>
              <dd className="mono">{entry.ip || "—"}</dd>
              <dt>Request</dt>
              <dd className="mono">{entry.request_id || "—"}</dd>
              <dt>User id</dt>
              <dd>{entry.user_id ?? "—"}</dd>
              {entry.api_key_id !== null && (
                <>
                  <dt>API key id</dt>
                  <dd>{entry.api_key_id}</dd>
                </>
              )}
            </dl>
          </td>
        </tr>
      )}
    </Fragment>
  );
}
