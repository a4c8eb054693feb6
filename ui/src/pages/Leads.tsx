import { Fragment, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { RuleGroupType } from "react-querybuilder";
import {
  ApiError,
  api,
  unwrap,
  type BulkAction,
  type BulkRequest,
  type BulkResult,
  type Lead,
  type LeadCreate,
  type LeadSort,
  type Member,
  type SortOrder,
} from "../api/client";
import {
  PAGE_SIZE,
  queryKeys,
  useCustomFields,
  useLeadFields,
  useLeadPages,
  useLists,
  useMembers,
  type FilterJson,
  type LeadParams,
} from "../api/queries";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { SearchBox } from "../components/SearchBox";
import { StatusBadge } from "../components/StatusBadge";
import { FilterBuilder } from "../filters/LazyFilterBuilder";
import { countRules, emptyQuery, errorTarget, fieldMap, prepareFilter } from "../filters/model";
import { formatDate, formatNumber } from "../format";
import { BULK_ACTIONS, bulkResultText, bulkValue, selectionBody, type Selection } from "../leads/bulk";
import { ExportDialog } from "../leads/ExportDialog";
import {
  availableColumns,
  customText,
  leadName,
  loadColumns,
  saveColumns,
  toggleColumn,
  visibleColumns,
  type Column,
} from "../leads/columns";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";
import { Options } from "../components/Options";
import { Dropdown } from "../components/Dropdown";

const ROW_HEIGHT = 45;
/** Rows rendered beyond the visible ones: enough that a first page is all in the page, bounded however many load. */
const OVERSCAN = 40;
/** Start loading the next page this many rows before the end. */
const PREFETCH_ROWS = 20;

const NO_SELECTION: Selection = { kind: "ids", ids: new Set() };

export function Leads() {
  const me = useSession();
  const navigate = useNavigate();
  const canWrite = can(me, "leads:write");
  const fields = useLeadFields();
  const customFields = useCustomFields();
  const members = useMembers(can(me, "members:manage"));

  const [search, setSearch] = useState("");
  const [sort, setSort] = useState<{ sort: LeadSort; order: SortOrder }>({ sort: "created_at", order: "desc" });
  const [query, setQuery] = useState<RuleGroupType>(emptyQuery);
  const [filterOpen, setFilterOpen] = useState(false);
  const [chosenColumns, setChosenColumns] = useState<string[]>(() =>
    loadColumns(typeof window === "undefined" ? null : window.localStorage),
  );
  const [newOpen, setNewOpen] = useState(false);
  const [exportOpen, setExportOpen] = useState(false);

  const byName = useMemo(() => fieldMap(fields.data), [fields.data]);
  const prepared = useMemo(() => prepareFilter(query, byName, { dropIncomplete: true }), [query, byName]);
  const debouncedSearch = useDebouncedValue(search.trim(), 300);
  const filterKey = useDebouncedValue(prepared.rules > 0 ? JSON.stringify(prepared.filter) : "", 400);
  const filter = useMemo(() => (filterKey ? (JSON.parse(filterKey) as FilterJson) : null), [filterKey]);

  const params: LeadParams = { search: debouncedSearch, filter, sort: sort.sort, order: sort.order, limit: PAGE_SIZE };
  const paramsKey = JSON.stringify(params);
  const leads = useLeadPages(params);
  const rows = useMemo(() => leads.data?.pages.flatMap((page) => page.items) ?? [], [leads.data]);
  const total = leads.data?.pages[0]?.total ?? 0;

  // A 422 about the filter belongs next to the builder, anything else above the table.
  const filterError = leads.error instanceof ApiError && leads.error.field?.startsWith("filter") ? leads.error : null;
  const errorId = filterError ? errorTarget(filterError.field, prepared.ids) : null;
  useEffect(() => {
    if (filterError) setFilterOpen(true);
  }, [filterError]);

  // The selection belongs to one search/filter: a new one starts empty.
  const [selectionState, setSelectionState] = useState<{ key: string; selection: Selection }>({
    key: paramsKey,
    selection: NO_SELECTION,
  });
  const selection = selectionState.key === paramsKey ? selectionState.selection : NO_SELECTION;
  const setSelection = (next: Selection) => setSelectionState({ key: paramsKey, selection: next });
  const selectedCount = selection.kind === "all" ? total : selection.ids.size;

  const columns = visibleColumns(availableColumns(customFields.data), chosenColumns);
  const chooseColumns = (next: string[]) => {
    setChosenColumns(next);
    saveColumns(typeof window === "undefined" ? null : window.localStorage, next);
  };

  const ruleCount = countRules(query);
  const filtered = Boolean(debouncedSearch) || prepared.rules > 0;

  return (
    <>
      <PageHeader
        title="Leads"
        subtitle={leads.data ? `${formatNumber(total)} ${filtered ? "matching" : "in total"}` : undefined}
        actions={
          <>
            <SearchBox value={search} onChange={setSearch} placeholder="Search name, email, company…" label="Search leads" />
            <button
              type="button"
              className={`btn btn-secondary ${filterOpen ? "active" : ""}`}
              aria-expanded={filterOpen}
              aria-controls="lead-filter"
              onClick={() => setFilterOpen((open) => !open)}
            >
              Filter{ruleCount > 0 ? ` (${ruleCount})` : ""}
            </button>
            <ColumnPicker available={availableColumns(customFields.data)} chosen={chosenColumns} onChange={chooseColumns} />
            <button type="button" className="btn btn-secondary" aria-haspopup="dialog" onClick={() => setExportOpen(true)}>
              Export
            </button>
            {canWrite && !newOpen && (
              <button type="button" className="btn btn-primary" onClick={() => setNewOpen(true)}>
                New lead
              </button>
            )}
          </>
        }
      />
      {exportOpen && (
        <ExportDialog
          onClose={() => setExportOpen(false)}
          selection={selection}
          selectedCount={selection.kind === "ids" ? selection.ids.size : 0}
          total={total}
          filtered={filtered}
          filter={filter}
          search={debouncedSearch}
        />
      )}
      {canWrite && newOpen && <NewLeadForm onCancel={() => setNewOpen(false)} onCreated={(lead) => navigate(`/leads/${lead.id}`)} />}
      {filterOpen && (
        <section className="card filter-card" id="lead-filter" aria-label="Filter">
          <div className="card-header">
            <h2>Filter</h2>
            <div className="page-actions">
              {can(me, "lists:write") && prepared.rules > 0 && (
                <button
                  type="button"
                  className="btn btn-secondary btn-sm"
                  onClick={() => navigate("/lists/new", { state: { filter: prepareFilter(query, byName).filter } })}
                >
                  Save as list
                </button>
              )}
              {ruleCount > 0 && (
                <button type="button" className="btn btn-ghost btn-sm" onClick={() => setQuery(emptyQuery())}>
                  Clear filter
                </button>
              )}
            </div>
          </div>
          <ErrorAlert error={fields.error} />
          {fields.data ? (
            <FilterBuilder
              fields={fields.data}
              query={query}
              onQueryChange={setQuery}
              error={filterError}
              errorId={errorId}
              note={
                prepared.skipped > 0
                  ? `${prepared.skipped} incomplete rule${prepared.skipped === 1 ? " is" : "s are"} not applied yet.`
                  : null
              }
            />
          ) : (
            !fields.error && <p className="muted">Loading fields…</p>
          )}
        </section>
      )}
      {!filterError && <ErrorAlert error={leads.error} />}
      {canWrite && (
        <BulkBar
          selection={selection}
          count={selectedCount}
          filter={filter}
          search={debouncedSearch}
          members={members.data}
          onDone={(result) => {
            if (result.action === "delete") setSelection(NO_SELECTION);
          }}
          onClear={() => setSelection(NO_SELECTION)}
        />
      )}
      <LeadTable
        rows={rows}
        total={total}
        columns={columns}
        sort={sort}
        onSort={(column) =>
          setSort((old) =>
            old.sort === column ? { sort: column, order: old.order === "asc" ? "desc" : "asc" } : { sort: column, order: column === "created_at" || column === "updated_at" || column === "score" ? "desc" : "asc" },
          )
        }
        selectable={canWrite}
        selection={selection}
        onSelectionChange={setSelection}
        members={members.data}
        loading={leads.isPending}
        stale={leads.isPlaceholderData}
        emptyText={filterError ? "Fix the filter to see leads." : filtered ? "No leads match." : "No leads yet."}
        resetKey={paramsKey}
        hasMore={Boolean(leads.hasNextPage)}
        loadingMore={leads.isFetchingNextPage}
        onLoadMore={() => void leads.fetchNextPage()}
      />
    </>
  );
}

type TableProps = {
  rows: Lead[];
  total: number;
  columns: Column[];
  sort: { sort: LeadSort; order: SortOrder };
  onSort: (column: LeadSort) => void;
  selectable: boolean;
  selection: Selection;
  onSelectionChange: (selection: Selection) => void;
  members: Member[] | undefined;
  loading: boolean;
  stale: boolean;
  emptyText: string;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
  /** Back to the top whenever this changes (a new search, filter or sort). */
  resetKey: string;
};

/** The leads, virtualised: only the rows near the visible ones are in the page; scrolling near the end loads more. */
function LeadTable(props: TableProps) {
  const { rows, total, columns, sort, selection, selectable, hasMore, loadingMore, onLoadMore } = props;
  const navigate = useNavigate();
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN,
    getItemKey: (index) => rows[index]?.id ?? index,
  });
  useEffect(() => {
    scrollRef.current?.scrollTo({ top: 0 });
  }, [props.resetKey]);

  const items = virtualizer.getVirtualItems();
  // The last row actually in view (overscan aside).
  const visibleEnd = virtualizer.range?.endIndex ?? -1;

  useEffect(() => {
    if (hasMore && !loadingMore && rows.length > 0 && visibleEnd >= rows.length - PREFETCH_ROWS) onLoadMore();
  }, [hasMore, loadingMore, visibleEnd, rows.length, onLoadMore]);

  const owners = useMemo(() => new Map((props.members ?? []).map((m) => [m.user_id, m.name || m.email])), [props.members]);
  const isSelected = (id: number) => selection.kind === "all" || selection.ids.has(id);
  const loadedIds = rows.map((lead) => lead.id);
  const allLoadedSelected = selection.kind === "all" || (rows.length > 0 && loadedIds.every((id) => selection.ids.has(id)));
  const someSelected = selection.kind === "all" || selection.ids.size > 0;

  const toggleRow = (id: number) => {
    const ids = new Set(selection.kind === "all" ? loadedIds : selection.ids);
    if (ids.has(id)) ids.delete(id);
    else ids.add(id);
    props.onSelectionChange({ kind: "ids", ids });
  };
  const toggleAll = () =>
    props.onSelectionChange(allLoadedSelected ? NO_SELECTION : { kind: "ids", ids: new Set(loadedIds) });

  const colSpan = columns.length + 1 + (selectable ? 1 : 0);
  const paddingTop = items[0]?.start ?? 0;
  const paddingBottom = items.length > 0 ? virtualizer.getTotalSize() - (items[items.length - 1]?.end ?? 0) : 0;

  const header = (label: string, column?: LeadSort, numeric?: boolean) => {
    if (!column) return <th className={numeric ? "num" : undefined}>{label}</th>;
    const active = sort.sort === column;
    return (
      <th className={numeric ? "num" : undefined} aria-sort={active ? (sort.order === "asc" ? "ascending" : "descending") : "none"}>
        <button type="button" className={`sort-button ${active ? "active" : ""}`} onClick={() => props.onSort(column)}>
          {label}
          <span className="sort-arrow" aria-hidden="true">
            {active ? (sort.order === "asc" ? "▲" : "▼") : "↕"}
          </span>
        </button>
      </th>
    );
  };

  return (
    <div className={`card card-table ${props.stale ? "is-stale" : ""}`}>
      {selectable && selection.kind === "ids" && allLoadedSelected && total > rows.length && (
        <div className="select-all-banner">
          All {formatNumber(rows.length)} loaded leads are selected.{" "}
          <button type="button" className="link-button" onClick={() => props.onSelectionChange({ kind: "all" })}>
            Select all {formatNumber(total)} matching leads
          </button>
        </div>
      )}
      {selectable && selection.kind === "all" && (
        <div className="select-all-banner">
          All {formatNumber(total)} matching leads are selected.{" "}
          <button type="button" className="link-button" onClick={() => props.onSelectionChange(NO_SELECTION)}>
            Clear selection
          </button>
        </div>
      )}
      <div className="table-wrap lead-scroll" ref={scrollRef} data-testid="lead-scroll">
        <table className="table table-clickable lead-table">
          <thead>
            <tr>
              {selectable && (
                <th className="col-check">
                  <input
                    type="checkbox"
                    aria-label="Select all loaded leads"
                    checked={allLoadedSelected && rows.length > 0}
                    ref={(el) => {
                      if (el) el.indeterminate = someSelected && !allLoadedSelected;
                    }}
                    disabled={rows.length === 0}
                    onChange={toggleAll}
                  />
                </th>
              )}
              {header("Name", "last_name")}
              {columns.map((column) => (
                <Fragment key={column.id}>{header(column.label, column.sort, column.numeric)}</Fragment>
              ))}
            </tr>
          </thead>
          <tbody>
            {(props.loading || rows.length === 0) && (
              <tr className="table-state">
                <td colSpan={colSpan}>{props.loading ? "Loading…" : props.emptyText}</td>
              </tr>
            )}
            {paddingTop > 0 && (
              <tr aria-hidden="true" className="spacer">
                <td colSpan={colSpan} style={{ height: paddingTop }} />
              </tr>
            )}
            {items.map((item) => {
              const lead = rows[item.index];
              if (!lead) return null;
              const selected = isSelected(lead.id);
              return (
                <tr
                  key={lead.id}
                  data-testid="lead-row"
                  data-index={item.index}
                  ref={virtualizer.measureElement}
                  className={selected ? "selected" : undefined}
                  onClick={(event) => {
                    // Clicks on the checkbox, links and buttons do their own thing.
                    if ((event.target as HTMLElement).closest("input, a, button, label")) return;
                    navigate(`/leads/${lead.id}`);
                  }}
                >
                  {selectable && (
                    <td className="col-check">
                      <input
                        type="checkbox"
                        aria-label={`Select ${leadName(lead)}`}
                        checked={selected}
                        onChange={() => toggleRow(lead.id)}
                      />
                    </td>
                  )}
                  <td className="strong nowrap">
                    <Link to={`/leads/${lead.id}`}>{leadName(lead)}</Link>
                  </td>
                  {columns.map((column) => (
                    <td key={column.id} className={cellClass(column)}>
                      {cell(lead, column, owners)}
                    </td>
                  ))}
                </tr>
              );
            })}
            {paddingBottom > 0 && (
              <tr aria-hidden="true" className="spacer">
                <td colSpan={colSpan} style={{ height: paddingBottom }} />
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <div className="pagination">
        <span className="pagination-label" aria-live="polite">
          {rows.length > 0 ? `${formatNumber(rows.length)} of ${formatNumber(total)} loaded` : `Showing 0 of ${formatNumber(total)}`}
        </span>
        {hasMore && (
          <button type="button" className="btn btn-secondary btn-sm" disabled={loadingMore} onClick={onLoadMore}>
            {loadingMore ? "Loading…" : "Load more"}
          </button>
        )}
      </div>
    </div>
  );
}

function cellClass(column: Column): string | undefined {
  if (column.numeric) return "num";
  if (column.id === "email" || column.id === "company" || column.id === "job_title") return "truncate";
  if (column.id === "tags") return "truncate col-tags";
  return "nowrap";
}

const DASH = <span className="muted">—</span>;

function cell(lead: Lead, column: Column, owners: Map<number, string>): ReactNode {
  if (column.id.startsWith("custom.")) {
    const text = customText(lead.custom_fields?.[column.id.slice("custom.".length)]);
    return text || DASH;
  }
  switch (column.id) {
    case "status":
    case "consent_email":
    case "consent_sms":
    case "consent_whatsapp":
      return <StatusBadge status={String(lead[column.id])} />;
    case "score":
      return formatNumber(lead.score);
    case "owner_id":
      return lead.owner_id === null ? DASH : (owners.get(lead.owner_id) ?? `#${lead.owner_id}`);
    case "tags":
      return lead.tags.length === 0 ? DASH : (
        <span className="tag-list">
          {lead.tags.map((tag) => (
            <span key={tag} className="tag">
              {tag}
            </span>
          ))}
        </span>
      );
    case "created_at":
    case "updated_at":
      return formatDate(lead[column.id]);
    default: {
      const value = lead[column.id as keyof Lead];
      return value === null || value === undefined || value === "" ? DASH : String(value);
    }
  }
}

/** A "Columns" menu of checkboxes; the choice is kept in localStorage. */
function ColumnPicker({
  available,
  chosen,
  onChange,
}: {
  available: Column[];
  chosen: string[];
  onChange: (ids: string[]) => void;
}) {
  return (
    <Dropdown text="Columns" className="btn btn-secondary" panelLabel="Columns">
      {() =>
        available.map((column) => (
          <label key={column.id} className="menu-check">
            <input type="checkbox" checked={chosen.includes(column.id)} onChange={() => onChange(toggleColumn(chosen, column.id))} />
            {column.label}
          </label>
        ))
      }
    </Dropdown>
  );
}

/** Tag, untag, set status or owner, add to or remove from a list, or delete the selected leads. */
function BulkBar({
  selection,
  count,
  filter,
  search,
  members,
  onDone,
  onClear,
}: {
  selection: Selection;
  count: number;
  filter: FilterJson | null;
  search: string;
  members: Member[] | undefined;
  onDone: (result: BulkResult) => void;
  onClear: () => void;
}) {
  const me = useSession();
  const queryClient = useQueryClient();
  const lists = useLists();
  const [action, setAction] = useState<BulkAction>("tag");
  const [raw, setRaw] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [result, setResult] = useState<BulkResult | null>(null);
  const statuses = me.workspace.lead_statuses ?? [];
  const memberLists = (lists.data ?? []).filter((list) => list.kind !== "dynamic");

  const apply = useMutation({
    mutationFn: (body: BulkRequest) =>
      unwrap(api.POST("/api/leads/bulk", { body })),
    onMutate: () => setResult(null),
    onSuccess: (data) => {
      setResult(data);
      onDone(data);
      void queryClient.invalidateQueries({ queryKey: ["leads"] });
      void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
      void queryClient.invalidateQueries({ queryKey: ["lead"] });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    const parsed = bulkValue(action, raw);
    if ("error" in parsed) {
      setProblem(parsed.error);
      return;
    }
    if (action === "delete" && !window.confirm(`Delete ${formatNumber(count)} lead${count === 1 ? "" : "s"}? This cannot be undone.`)) {
      return;
    }
    apply.mutate({ selection: selectionBody(selection, filter, search), action, value: parsed.value });
  };

  const changeAction = (next: BulkAction) => {
    setAction(next);
    setProblem(null);
    if (next === "set_status") setRaw(statuses[0] ?? "");
    else if (next === "add_to_list" || next === "remove_from_list") setRaw(memberLists[0] ? String(memberLists[0].id) : "");
    else setRaw("");
  };

  return (
    <>
      {count > 0 && (
        <form className="card bulk-bar" onSubmit={submit} aria-label="Bulk actions">
          <span className="strong" data-testid="selected-count">
            {formatNumber(count)} selected
          </span>
          <select
            name="action"
            className="input input-sm"
            aria-label="Action"
            value={action}
            onChange={(event) => changeAction(event.target.value as BulkAction)}
          >
            <Options items={BULK_ACTIONS} />
          </select>
          {(action === "tag" || action === "untag") && (
            <input
              name="value"
              className="input input-sm bulk-value"
              aria-label="Tags"
              placeholder="tags, comma separated"
              value={raw}
              onChange={(event) => setRaw(event.target.value)}
            />
          )}
          {action === "set_status" && (
            <select name="value" className="input input-sm" aria-label="Status" value={raw} onChange={(event) => setRaw(event.target.value)}>
              {statuses.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          )}
          {action === "set_owner" &&
            (members ? (
              <select name="value" className="input input-sm" aria-label="Owner" value={raw} onChange={(event) => setRaw(event.target.value)}>
                <option value="">Nobody</option>
                {members.map((m) => (
                  <option key={m.user_id} value={m.user_id}>
                    {m.name || m.email}
                  </option>
                ))}
              </select>
            ) : (
              <input
                name="value"
                type="number"
                min={1}
                className="input input-sm bulk-value"
                aria-label="Owner user id"
                placeholder="user id (empty: nobody)"
                value={raw}
                onChange={(event) => setRaw(event.target.value)}
              />
            ))}
          {(action === "add_to_list" || action === "remove_from_list") && (
            <select name="value" className="input input-sm" aria-label="List" value={raw} onChange={(event) => setRaw(event.target.value)}>
              {memberLists.length === 0 && <option value="">No static or hybrid list</option>}
              {memberLists.map((list) => (
                <option key={list.id} value={list.id}>
                  {list.name}
                </option>
              ))}
            </select>
          )}
          <button type="submit" className={`btn btn-sm ${action === "delete" ? "btn-danger" : "btn-primary"}`} disabled={apply.isPending}>
            Apply
          </button>
          <button type="button" className="btn btn-ghost btn-sm" onClick={onClear}>
            Clear selection
          </button>
          {problem && (
            <span className="bulk-problem" role="alert">
              {problem}
            </span>
          )}
        </form>
      )}
      <ErrorAlert error={apply.error} onDismiss={() => apply.reset()} />
      {result && (
        <Alert tone="success" onDismiss={() => setResult(null)}>
          <span data-testid="bulk-result">{bulkResultText(result.action, result.affected)}</span>
        </Alert>
      )}
    </>
  );
}

/** Email, phone and name are enough to start; the profile has every other field. */
function NewLeadForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (lead: Lead) => void }) {
  const queryClient = useQueryClient();
  const [form, setForm] = useState({ email: "", phone: "", first_name: "", last_name: "" });
  const create = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/leads", {
          body: {
            email: form.email.trim() || null,
            phone: form.phone.trim() || null,
            first_name: form.first_name.trim(),
            last_name: form.last_name.trim(),
          } satisfies LeadCreate as Required<LeadCreate>,
        }),
      ),
    onSuccess: (lead) => {
      void queryClient.invalidateQueries({ queryKey: ["leads"] });
      onCreated(lead);
    },
  });
  const badField = create.error instanceof ApiError ? create.error.field : null;
  const set = (key: keyof typeof form) => (event: { target: { value: string } }) =>
    setForm((old) => ({ ...old, [key]: event.target.value }));
  return (
    <form
      className="card form"
      aria-label="New lead"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate();
      }}
    >
      <div className="card-header">
        <h2>New lead</h2>
      </div>
      <div className="form-grid form-grid-4">
        <label className="field">
          <span className="field-label">Email</span>
          <input name="email" type="email" className={badField === "email" ? "input invalid" : "input"} value={form.email} onChange={set("email")} autoFocus />
        </label>
        <label className="field">
          <span className="field-label">Phone</span>
          <input name="phone" className={badField === "phone" ? "input invalid" : "input"} value={form.phone} onChange={set("phone")} placeholder="+14155550100" />
        </label>
        <label className="field">
          <span className="field-label">First name</span>
          <input name="first_name" className="input" value={form.first_name} onChange={set("first_name")} maxLength={200} />
        </label>
        <label className="field">
          <span className="field-label">Last name</span>
          <input name="last_name" className="input" value={form.last_name} onChange={set("last_name")} maxLength={200} />
        </label>
      </div>
      <ErrorAlert error={create.error} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending || (!form.email.trim() && !form.phone.trim())}>
          Create lead
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={create.isPending}>
          Discard
        </button>
      </div>
    </form>
  );
}
