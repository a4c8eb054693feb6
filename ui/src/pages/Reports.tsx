import { useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { useCampaigns } from "../api/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { SearchBox } from "../components/SearchBox";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import { useDebouncedValue } from "../useDebouncedValue";
import { ReportForm } from "../reports/ReportForm";
import { ReportRuns } from "../reports/ReportRuns";
import {
  describeCadence,
  describeSelection,
  formatInZone,
  periodLabel,
  type ReportDefinition,
  type ReportOptions,
} from "../reports/model";
import {
  REPORTS_PAGE,
  useDeleteReport,
  usePauseReport,
  useReportOptions,
  useReportPage,
  useRunReport,
} from "../reports/queries";

/** `?report=<id>` opens that report's history under the list. */
const HISTORY_PARAM = "report";

/** Scheduled reports: the definitions with their schedule, next and last run; create, edit, pause, run, delete;
 * a report's history with its files. */
export function Reports() {
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<"new" | ReportDefinition | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const debounced = useDebouncedValue(search.trim(), 300);
  const options = useReportOptions();
  const page = useReportPage(offset, debounced);
  const campaigns = useCampaigns();
  const pause = usePauseReport();
  const remove = useDeleteReport();
  const run = useRunReport();
  const rows = page.data?.items ?? [];
  const names = useMemo(() => new Map((campaigns.data ?? []).map((c) => [c.id, c.name])), [campaigns.data]);

  const historyId = Number(params.get(HISTORY_PARAM)) || null;
  const history = rows.find((d) => d.id === historyId) ?? null;
  const showHistory = (id: number | null) =>
    setParams(
      (old) => {
        const next = new URLSearchParams(old);
        if (id === null) next.delete(HISTORY_PARAM);
        else next.set(HISTORY_PARAM, String(id));
        return next;
      },
      { replace: true },
    );

  const clearFeedback = () => {
    setNotice(null);
    pause.reset();
    remove.reset();
    run.reset();
  };

  const onRun = (definition: ReportDefinition) => {
    clearFeedback();
    run.mutate(definition.id, {
      onSuccess: () => {
        setNotice(`“${definition.name}” is running: its history below follows the run until the files are ready.`);
        showHistory(definition.id);
      },
    });
  };

  const onDelete = (definition: ReportDefinition) => {
    if (!window.confirm(`Delete the report “${definition.name}”, its schedule and its history (the files go too)?`)) return;
    clearFeedback();
    remove.mutate(definition.id, {
      onSuccess: () => {
        setNotice(`Report “${definition.name}” deleted.`);
        if (historyId === definition.id) showHistory(null);
        if (editing !== null && editing !== "new" && editing.id === definition.id) setEditing(null);
      },
    });
  };

  return (
    <>
      <PageHeader
        title="Reports"
        subtitle={
          <>
            Scheduled reports: a CSV and an HTML summary of the chosen campaigns, mailed on a schedule
            {options.data && (
              <>
                {" "}
                in <strong>{options.data.timezone}</strong>
              </>
            )}
            .
          </>
        }
        actions={
          editing === null && (
            <button
              type="button"
              className="btn btn-primary"
              disabled={!options.data}
              onClick={() => {
                clearFeedback();
                setEditing("new");
              }}
            >
              New report
            </button>
          )
        }
      />
      <ErrorAlert error={options.error} />
      {editing !== null && options.data && (
        <ReportForm
          key={editing === "new" ? "new" : editing.id}
          definition={editing === "new" ? undefined : editing}
          options={options.data}
          onCancel={() => setEditing(null)}
          onSaved={(saved, created) => {
            setEditing(null);
            setNotice(
              `Report “${saved.name}” ${created ? "created" : "saved"}. ${describeCadence(saved, saved.timezone)}${
                saved.enabled ? "" : " (paused)"
              }.`,
            );
          }}
        />
      )}
      {notice && (
        <Alert tone="success" onDismiss={() => setNotice(null)}>
          {notice}
        </Alert>
      )}
      <ErrorAlert error={page.error} />
      <ErrorAlert error={pause.error} onDismiss={() => pause.reset()} />
      <ErrorAlert error={remove.error} onDismiss={() => remove.reset()} />
      <ErrorAlert error={run.error} onDismiss={() => run.reset()} />
      <div className="card card-table">
        <div className="card-header">
          <SearchBox
            value={search}
            onChange={(value) => {
              setSearch(value);
              setOffset(0);
            }}
            placeholder="Find a report"
            label="Find a report"
          />
        </div>
        <div className="table-wrap">
          <table className="table" data-testid="reports">
            <thead>
              <tr>
                <th>Name</th>
                <th>Covers</th>
                <th>Schedule</th>
                <th>Last run</th>
                <th>Active</th>
                <th />
              </tr>
            </thead>
            <tbody>
              <TableState
                colSpan={6}
                loading={page.isPending}
                empty={rows.length === 0}
                emptyText={debounced ? "No report matches." : "No scheduled reports yet. Create one with “New report”."}
              />
              {rows.map((definition) => (
                <ReportRow
                  key={definition.id}
                  definition={definition}
                  options={options.data}
                  names={names}
                  open={historyId === definition.id}
                  busy={
                    (pause.isPending && pause.variables?.id === definition.id) ||
                    (remove.isPending && remove.variables === definition.id) ||
                    (run.isPending && run.variables === definition.id)
                  }
                  onToggle={() => {
                    clearFeedback();
                    pause.mutate({ id: definition.id, enabled: !definition.enabled });
                  }}
                  onRun={() => onRun(definition)}
                  onHistory={() => showHistory(historyId === definition.id ? null : definition.id)}
                  onEdit={() => {
                    clearFeedback();
                    setEditing(definition);
                  }}
                  onDelete={() => onDelete(definition)}
                />
              ))}
            </tbody>
          </table>
        </div>
        {(page.data?.total ?? 0) > REPORTS_PAGE && (
          <Pagination
            offset={offset}
            limit={REPORTS_PAGE}
            count={rows.length}
            total={page.data?.total ?? 0}
            onChange={setOffset}
            busy={page.isFetching}
          />
        )}
      </div>
      {history && <ReportRuns key={history.id} definition={history} options={options.data} onClose={() => showHistory(null)} />}
    </>
  );
}

type RowProps = {
  definition: ReportDefinition;
  options: ReportOptions | undefined;
  names: ReadonlyMap<number, string>;
  open: boolean;
  busy: boolean;
  onToggle: () => void;
  onRun: () => void;
  onHistory: () => void;
  onEdit: () => void;
  onDelete: () => void;
};

function ReportRow({ definition, options, names, open, busy, onToggle, onRun, onHistory, onEdit, onDelete }: RowProps) {
  const last = definition.last_run;
  const count = definition.recipients.length;
  return (
    <tr data-testid="report-row" className={open ? "row-selected" : undefined}>
      <td>
        <div className="strong">{definition.name}</div>
        <div className="muted small" title={definition.recipients.join(", ")}>
          {periodLabel(definition.period, options?.periods ?? [])} · to {count === 1 ? definition.recipients[0] : `${count} recipients`}
        </div>
      </td>
      <td data-testid="report-covers">{describeSelection(definition, names)}</td>
      <td>
        <div data-testid="report-schedule">{describeCadence(definition, definition.timezone)}</div>
        <div className="muted small" data-testid="report-next-run">
          {definition.enabled ? `Next: ${formatInZone(definition.next_run_at, definition.timezone)}` : "Paused"}
        </div>
      </td>
      <td className="nowrap" data-testid="report-last-run">
        {last ? (
          <>
            <StatusBadge status={last.status} />
            <div className="muted small">{formatInZone(last.run_at, definition.timezone)}</div>
          </>
        ) : (
          <span className="muted">never</span>
        )}
      </td>
      <td>
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            checked={definition.enabled}
            disabled={busy}
            onChange={onToggle}
            aria-label={`Active: ${definition.name}`}
          />
          <span className="switch-track" aria-hidden="true" />
          <span className="small">{definition.enabled ? "Active" : "Paused"}</span>
        </label>
      </td>
      <td className="num">
        <div className="row-actions">
          <button type="button" className="btn btn-secondary btn-sm" disabled={busy} onClick={onRun}>
            Run now
          </button>
          <button type="button" className="btn btn-ghost btn-sm" aria-pressed={open} onClick={onHistory}>
            History
          </button>
          <button type="button" className="btn btn-ghost btn-sm" onClick={onEdit}>
            Edit
          </button>
          <button type="button" className="btn btn-danger btn-sm" disabled={busy} onClick={onDelete}>
            Delete
          </button>
        </div>
      </td>
    </tr>
  );
}
