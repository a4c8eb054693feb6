import { useMemo, useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { RuleGroupType } from "react-querybuilder";
import {
  ApiError,
  api,
  unwrap,
  type Lead,
  type LeadList,
  type ListKind,
  type ListPreview,
  type PreviewRequest,
} from "../api/client";
import { queryKeys, useLeadFields, useList, useListLeads, useListPreview, type FilterJson } from "../api/queries";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { KindBadge } from "../components/KindBadge";
import { PageHeader } from "../components/PageHeader";
import { SearchBox } from "../components/SearchBox";
import { StatusBadge } from "../components/StatusBadge";
import { FilterBuilder } from "../filters/LazyFilterBuilder";
import { errorTarget, fieldMap, prepareFilter, toQuery } from "../filters/model";
import { formatNumber } from "../format";
import { leadName } from "../leads/columns";
import { ListStatsPanel, ReachStats } from "../lists/ListStatsPanel";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";
import { NotFound } from "./NotFound";
import { Options } from "../components/Options";

export const PREVIEW_DEBOUNCE_MS = 400;

const KINDS: { value: ListKind; label: string; hint: string }[] = [
  { value: "static", label: "Static", hint: "The leads you add, and only those." },
  { value: "dynamic", label: "Dynamic", hint: "Every lead matching a filter, re-evaluated at each use." },
  { value: "hybrid", label: "Hybrid", hint: "A filter, plus leads you add, minus leads you exclude." },
];

/** `/lists/new`: a fresh definition (the leads page's "Save as list" passes its filter along). */
export function NewListPage() {
  const me = useSession();
  const location = useLocation();
  const passed = (location.state as { filter?: unknown } | null)?.filter;
  if (!can(me, "lists:write")) {
    return (
      <>
        <PageHeader title="New list" />
        <Alert tone="info">Creating lists needs the <code>lists:write</code> permission.</Alert>
      </>
    );
  }
  return (
    <>
      <BackLink />
      <PageHeader title="New list" subtitle="Name it, choose its kind, and watch the preview as you build the filter." />
      <ListEditor initialFilter={passed} />
    </>
  );
}

/** `/lists/:id`: statistics, the definition with a live preview, and the members. */
export function ListPage() {
  const { id } = useParams();
  const listId = Number(id);
  if (!Number.isInteger(listId) || listId <= 0) return <NotFound />;
  return <ListView key={listId} listId={listId} />;
}

function BackLink() {
  return (
    <Link to="/lists" className="back-link">
      ← Lists
    </Link>
  );
}

function ListView({ listId }: { listId: number }) {
  const me = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const canWrite = can(me, "lists:write");
  const list = useList(listId);

  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/lists/{list_id}", { params: { path: { list_id: listId } } })),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: queryKeys.list(listId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
      navigate("/lists", { replace: true });
    },
  });

  if (list.error instanceof ApiError && list.error.status === 404) {
    return (
      <>
        <BackLink />
        <Alert tone="info">This list does not exist (any more).</Alert>
      </>
    );
  }
  if (!list.data) {
    return (
      <>
        <BackLink />
        <ErrorAlert error={list.error} />
        {!list.error && <p className="muted">Loading…</p>}
      </>
    );
  }
  const data = list.data;
  return (
    <>
      <BackLink />
      <div className="page-header">
        <div>
          <div className="title-row">
            <h1>{data.name}</h1>
            <KindBadge kind={data.kind} />
          </div>
          <p className="page-subtitle">
            {formatNumber(data.member_count)} lead{data.member_count === 1 ? "" : "s"}
            {data.description && <> · {data.description}</>}
          </p>
        </div>
        {canWrite && (
          <div className="page-actions">
            <button
              type="button"
              className="btn btn-danger"
              disabled={remove.isPending}
              onClick={() => {
                if (window.confirm(`Delete the list “${data.name}”? The leads stay.`)) remove.mutate();
              }}
            >
              Delete list
            </button>
          </div>
        )}
      </div>
      <ErrorAlert error={remove.error} />
      <ListStatsPanel listId={listId} />
      {(canWrite || data.kind !== "static") && <ListEditor key={data.id} list={data} readOnly={!canWrite} />}
      {data.kind !== "dynamic" && <MembersCard list={data} canWrite={canWrite} />}
    </>
  );
}

/**
 * The preview request for what the form holds. A saved hybrid list's own members are not in the form, so its
 * preview ORs in "is in this list" (explicit members; exclusions are not previewed).
 */
export function previewBody(
  kind: ListKind,
  filter: FilterJson,
  picked: number[],
  savedListId: number | null,
): PreviewRequest {
  if (savedListId !== null && kind === "hybrid") {
    return {
      kind: "dynamic",
      filter: { combinator: "or", rules: [filter, { field: "list", operator: "inList", value: savedListId }] },
    };
  }
  if (kind === "static") return { kind, lead_ids: picked };
  if (kind === "dynamic") return { kind, filter };
  return { kind, filter, lead_ids: picked };
}

/** Name, description, kind, the filter (dynamic and hybrid) and, for a new list, its first members. */
function ListEditor({ list, initialFilter, readOnly = false }: { list?: LeadList; initialFilter?: unknown; readOnly?: boolean }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const fields = useLeadFields();
  const [name, setName] = useState(list?.name ?? "");
  const [description, setDescription] = useState(list?.description ?? "");
  const [kind, setKind] = useState<ListKind>((list?.kind as ListKind | undefined) ?? "dynamic");
  const [query, setQuery] = useState<RuleGroupType>(() => toQuery(list ? list.filter : initialFilter));
  const [picked, setPicked] = useState<Lead[]>([]);
  const [saved, setSaved] = useState(false);

  const byName = useMemo(() => fieldMap(fields.data), [fields.data]);
  const hasFilter = kind !== "static";
  const live = useMemo(() => prepareFilter(query, byName, { dropIncomplete: true }), [query, byName]);
  const full = useMemo(() => prepareFilter(query, byName), [query, byName]);
  const savedFilter = useMemo(() => JSON.stringify(prepareFilter(toQuery(list?.filter), byName).filter), [list?.filter, byName]);
  const filterChanged = hasFilter && JSON.stringify(full.filter) !== savedFilter;

  const body = previewBody(kind, live.filter, picked.map((lead) => lead.id), list ? list.id : null);
  // A saved static list has nothing to preview: its members are below.
  const wantsPreview = !(list && kind === "static") && Boolean(fields.data);
  const previewKey = useDebouncedValue(wantsPreview ? JSON.stringify(body) : "", PREVIEW_DEBOUNCE_MS);
  const preview = useListPreview(previewKey ? (JSON.parse(previewKey) as PreviewRequest) : null);
  const wrapped = Boolean(list && kind === "hybrid");

  const save = useMutation({
    mutationFn: async (): Promise<LeadList> => {
      const filter = hasFilter ? full.filter : null;
      if (!list) {
        return unwrap(
          api.POST("/api/lists", {
            body: {
              name: name.trim(),
              description: description.trim(),
              kind,
              filter,
              lead_ids: kind === "dynamic" ? [] : picked.map((lead) => lead.id),
              exclude_lead_ids: [],
            },
          }),
        );
      }
      return unwrap(
        api.PATCH("/api/lists/{list_id}", {
          params: { path: { list_id: list.id } },
          body: {
            ...(name.trim() !== list.name ? { name: name.trim() } : {}),
            ...(description.trim() !== list.description ? { description: description.trim() } : {}),
            ...(filterChanged ? { filter } : {}),
          },
        }),
      );
    },
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
      void queryClient.invalidateQueries({ queryKey: ["lead"] });
      if (!list) {
        navigate(`/lists/${result.id}`);
      } else {
        queryClient.setQueryData(queryKeys.list(list.id), result);
        setSaved(true);
      }
    },
  });

  // Where the last error points: the name, a rule of the filter (saving or previewing), or elsewhere.
  const saveError = save.error instanceof ApiError ? save.error : null;
  const previewError = preview.error instanceof ApiError ? preview.error : null;
  const filterError = [saveError, previewError].find((e) => e?.field?.startsWith("filter")) ?? null;
  const filterField = filterError?.field && wrapped ? filterError.field.replace(/^filter\.rules\[0\]/, "filter") : filterError?.field;
  const errorId = filterError
    ? errorTarget(filterField, filterError === saveError ? full.ids : live.ids)
    : null;
  const otherSaveError = save.error && save.error !== filterError ? save.error : null;
  const dirty = list
    ? name.trim() !== list.name || description.trim() !== list.description || filterChanged
    : true;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    save.mutate();
  };

  return (
    <div className={wantsPreview ? "editor-grid" : undefined}>
      <form className="card form" onSubmit={submit} aria-label="List definition">
        <div className="card-header">
          <h2>Definition</h2>
        </div>
        <div className="form-grid form-grid-2">
          <label className="field">
            <span className="field-label">Name</span>
            <input
              name="name"
              className={saveError?.field === "name" ? "input invalid" : "input"}
              value={name}
              onChange={(event) => setName(event.target.value)}
              maxLength={200}
              required
              disabled={readOnly}
              autoFocus={!list}
            />
          </label>
          <label className="field">
            <span className="field-label">Kind</span>
            <select
              name="kind"
              className="input"
              value={kind}
              disabled={Boolean(list) || readOnly}
              title={list ? "The kind of a saved list does not change" : undefined}
              onChange={(event) => setKind(event.target.value as ListKind)}
            >
              <Options items={KINDS} />
            </select>
            <span className="field-hint">{KINDS.find((k) => k.value === kind)?.hint}</span>
          </label>
        </div>
        <label className="field">
          <span className="field-label">Description</span>
          <textarea
            name="description"
            className="input textarea"
            rows={2}
            value={description}
            onChange={(event) => setDescription(event.target.value)}
            maxLength={2000}
            disabled={readOnly}
          />
        </label>
        {hasFilter && (
          <div className="field">
            <span className="field-label">Filter {kind === "hybrid" && <span className="muted">(plus the leads you add)</span>}</span>
            <ErrorAlert error={fields.error} />
            {fields.data ? (
              <FilterBuilder
                fields={fields.data}
                query={query}
                onQueryChange={setQuery}
                error={filterError}
                errorId={errorId}
                disabled={readOnly}
                note={
                  live.skipped > 0
                    ? `${live.skipped} incomplete rule${live.skipped === 1 ? " is" : "s are"} left out of the preview.`
                    : full.rules === 0
                      ? "No rules: every lead matches."
                      : null
                }
              />
            ) : (
              !fields.error && <p className="muted">Loading fields…</p>
            )}
          </div>
        )}
        {!list && kind !== "dynamic" && (
          <div className="field">
            <span className="field-label">Members to add</span>
            <LeadPicker
              excluded={new Set(picked.map((lead) => lead.id))}
              onPick={(lead) => setPicked((old) => (old.some((l) => l.id === lead.id) ? old : [...old, lead]))}
            />
            {picked.length > 0 && (
              <ul className="picked">
                {picked.map((lead) => (
                  <li key={lead.id} className="picked-item">
                    {leadName(lead)}
                    <button
                      type="button"
                      className="alert-dismiss"
                      aria-label={`Remove ${leadName(lead)}`}
                      onClick={() => setPicked((old) => old.filter((l) => l.id !== lead.id))}
                    >
                      ×
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <ErrorAlert error={otherSaveError} />
        {saved && !dirty && (
          <Alert tone="success" onDismiss={() => setSaved(false)}>
            List saved.
          </Alert>
        )}
        {!readOnly && (
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={save.isPending || !name.trim() || !dirty}>
              Save list
            </button>
            {list && dirty && (
              <button
                type="button"
                className="btn btn-ghost"
                onClick={() => {
                  setName(list.name);
                  setDescription(list.description);
                  setQuery(toQuery(list.filter));
                  save.reset();
                }}
              >
                Discard changes
              </button>
            )}
          </div>
        )}
      </form>
      {wantsPreview && (
        <PreviewPanel
          preview={preview.data}
          loading={preview.isPending && preview.fetchStatus !== "idle"}
          stale={preview.isFetching || previewKey !== JSON.stringify(body)}
          error={previewError && previewError === filterError ? null : preview.error}
          note={wrapped ? "Explicit members included; exclusions apply to the saved list only." : null}
        />
      )}
    </div>
  );
}

/** The live preview: how many leads, how many reachable per channel, and 20 of them. */
function PreviewPanel({
  preview,
  loading,
  stale,
  error,
  note,
}: {
  preview: ListPreview | undefined;
  loading: boolean;
  stale: boolean;
  error: unknown;
  note: string | null;
}) {
  return (
    <section className={`card preview-panel ${stale ? "is-stale" : ""}`} aria-label="Live preview" aria-busy={stale}>
      <div className="card-header">
        <h2>Live preview</h2>
        {stale && <span className="muted small">Updating…</span>}
      </div>
      <ErrorAlert error={error} />
      {loading && !preview && <p className="muted">Counting…</p>}
      {preview && (
        <>
          <ReachStats size={preview.total} reachable={preview.reachable} testIdPrefix="preview" sizeLabel="Leads match" />
          {note && <p className="muted small">{note}</p>}
          <h3 className="section-title">Sample</h3>
          {preview.sample.length === 0 ? (
            <p className="muted">No lead matches.</p>
          ) : (
            <div className="table-wrap">
              <table className="table table-compact">
                <thead>
                  <tr>
                    <th>Lead</th>
                    <th>Status</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.sample.map((lead) => (
                    <tr key={lead.id} data-testid="preview-row">
                      <td className="sample-lead">
                        <Link to={`/leads/${lead.id}`}>{leadName(lead)}</Link>
                        {lead.email && <div className="muted small truncate">{lead.email}</div>}
                      </td>
                      <td>
                        <StatusBadge status={lead.status} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {preview.total > preview.sample.length && (
            <p className="muted small">
              Showing {formatNumber(preview.sample.length)} of {formatNumber(preview.total)}.
            </p>
          )}
        </>
      )}
    </section>
  );
}

/** Search leads by name, email or company and pick them one by one. */
function LeadPicker({ excluded, onPick, busy }: { excluded: ReadonlySet<number>; onPick: (lead: Lead) => void; busy?: boolean }) {
  const [search, setSearch] = useState("");
  const debounced = useDebouncedValue(search.trim(), 300);
  const results = useQuery({
    queryKey: ["leads", "picker", debounced],
    queryFn: () => unwrap(api.GET("/api/leads", { params: { query: { search: debounced, limit: 8 } } })),
    enabled: debounced !== "",
  });
  const rows = (results.data?.items ?? []).filter((lead) => !excluded.has(lead.id));
  return (
    <div className="lead-picker">
      <SearchBox value={search} onChange={setSearch} placeholder="Find leads to add…" label="Find leads to add" />
      <ErrorAlert error={results.error} />
      {debounced && results.data && (
        <ul className="picker-results">
          {rows.length === 0 && <li className="muted">No other lead matches “{debounced}”.</li>}
          {rows.map((lead) => (
            <li key={lead.id} data-testid="picker-row">
              <span>
                <span className="strong">{leadName(lead)}</span>
                {lead.email && <span className="muted"> · {lead.email}</span>}
              </span>
              <button type="button" className="btn btn-secondary btn-sm" disabled={busy} onClick={() => onPick(lead)}>
                Add
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The leads of a static or hybrid list: add by searching, remove (static) or exclude (hybrid). */
function MembersCard({ list, canWrite }: { list: LeadList; canWrite: boolean }) {
  const queryClient = useQueryClient();
  const leads = useListLeads(list.id);
  const rows = leads.data?.pages.flatMap((page) => page.items) ?? [];
  const total = leads.data?.pages[0]?.total ?? 0;
  const [notice, setNotice] = useState<string | null>(null);
  const hybrid = list.kind === "hybrid";

  const refresh = (leadIds: number[]) => {
    void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
    void queryClient.invalidateQueries({ queryKey: ["leads"] });
    void queryClient.invalidateQueries({ queryKey: ["list-preview"] });
    for (const id of leadIds) void queryClient.invalidateQueries({ queryKey: ["lead", id] });
  };

  const add = useMutation({
    mutationFn: (lead: Lead) =>
      unwrap(
        api.POST("/api/lists/{list_id}/members", {
          params: { path: { list_id: list.id } },
          body: { lead_ids: [lead.id], mode: "include" },
        }),
      ),
    onMutate: () => setNotice(null),
    onSuccess: (_data, lead) => {
      setNotice(`${leadName(lead)} added.`);
      refresh([lead.id]);
    },
  });

  // A static list forgets the lead; a hybrid one excludes it (it may match the filter otherwise).
  const drop = useMutation({
    mutationFn: (lead: Lead) =>
      hybrid
        ? unwrap(
            api.POST("/api/lists/{list_id}/members", {
              params: { path: { list_id: list.id } },
              body: { lead_ids: [lead.id], mode: "exclude" },
            }),
          )
        : unwrap(
            api.POST("/api/lists/{list_id}/members/remove", {
              params: { path: { list_id: list.id } },
              body: { lead_ids: [lead.id], mode: "include" },
            }),
          ),
    onMutate: () => setNotice(null),
    onSuccess: (_data, lead) => {
      setNotice(`${leadName(lead)} ${hybrid ? "excluded" : "removed"}.`);
      refresh([lead.id]);
    },
  });

  const busy = add.isPending || drop.isPending;
  return (
    <section className="card card-table" aria-label="Members">
      <div className="card-header">
        <h2>Members</h2>
        {leads.data && <span className="muted small">{formatNumber(total)}</span>}
      </div>
      {canWrite && (
        <div className="members-add">
          <LeadPicker excluded={new Set(rows.map((lead) => lead.id))} onPick={(lead) => add.mutate(lead)} busy={busy} />
          {hybrid && (
            <p className="muted small">
              Added leads stay in the list whatever the filter says; “Exclude” keeps a lead out even when it matches.
            </p>
          )}
        </div>
      )}
      <div className="card-alerts">
        <ErrorAlert error={leads.error ?? add.error ?? drop.error} />
        {notice && (
          <Alert tone="success" onDismiss={() => setNotice(null)}>
            {notice}
          </Alert>
        )}
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Status</th>
              <th>Country</th>
              {canWrite && <th />}
            </tr>
          </thead>
          <tbody>
            {(leads.isPending || rows.length === 0) && (
              <tr className="table-state">
                <td colSpan={canWrite ? 5 : 4}>{leads.isPending ? "Loading…" : "No members yet."}</td>
              </tr>
            )}
            {rows.map((lead) => (
              <tr key={lead.id} data-testid="member-lead-row">
                <td className="strong nowrap">
                  <Link to={`/leads/${lead.id}`}>{leadName(lead)}</Link>
                </td>
                <td className="truncate">{lead.email ?? <span className="muted">—</span>}</td>
                <td>
                  <StatusBadge status={lead.status} />
                </td>
                <td>{lead.country || <span className="muted">—</span>}</td>
                {canWrite && (
                  <td className="num">
                    <button type="button" className="btn btn-ghost btn-sm" disabled={busy} onClick={() => drop.mutate(lead)}>
                      {hybrid ? "Exclude" : "Remove"}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {leads.hasNextPage && (
        <div className="pagination">
          <span className="pagination-label">
            {formatNumber(rows.length)} of {formatNumber(total)} shown
          </span>
          <button
            type="button"
            className="btn btn-secondary btn-sm"
            disabled={leads.isFetchingNextPage}
            onClick={() => void leads.fetchNextPage()}
          >
            {leads.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        </div>
      )}
    </section>
  );
}
