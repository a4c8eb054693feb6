import { useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type ImportCounts, type ImportOut, type ImportProgress } from "../api/client";
import { queryKeys, useImportProgress } from "../api/queries";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { formatDateTime, formatNumber, formatPercent } from "../format";
import { useSession } from "../session";
import { hasErrorReport, isImportActive } from "./mapping";

/** What the panel shows: the progress answer, or (until it comes) the import itself. */
function fromImport(row: ImportOut): ImportProgress {
  return {
    id: row.id,
    status: row.status,
    phase: row.status,
    counts: row.counts,
    percent: row.status === "completed" ? 100 : 0,
    error: row.error,
  };
}

/** The address of an import's error report (the session cookie authenticates a plain GET). */
export function errorReportUrl(importId: number): string {
  return `/api/imports/${importId}/errors.csv`;
}

/** Steps 3 and 4: the counts every second while the import runs, then the outcome. */
export function ImportRun({ row }: { row: ImportOut }) {
  const me = useSession();
  const queryClient = useQueryClient();
  const canWrite = can(me, "leads:write");
  const progress = useImportProgress(row.id);
  const view = progress.data ?? fromImport(row);
  const active = isImportActive(view.status);
  const [cancelAsked, setCancelAsked] = useState(false);

  // Once the import stops, the leads, lists, custom fields and the history have changed.
  const previous = useRef<string | null>(null);
  useEffect(() => {
    const status = progress.data?.status ?? null;
    if (status === null) return;
    if (previous.current !== null && previous.current !== status) {
      void queryClient.invalidateQueries({ queryKey: queryKeys.import(row.id), exact: true });
      void queryClient.invalidateQueries({ queryKey: queryKeys.imports, exact: true });
      if (!isImportActive(status)) {
        void queryClient.invalidateQueries({ queryKey: ["leads"] });
        void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
        void queryClient.invalidateQueries({ queryKey: ["lead"] });
      }
    }
    previous.current = status;
  }, [progress.data?.status, row.id, queryClient]);

  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/api/imports/{import_id}/cancel", { params: { path: { import_id: row.id } } })),
    onSuccess: (data) => {
      setCancelAsked(true);
      queryClient.setQueryData(queryKeys.import(row.id), data);
      void queryClient.invalidateQueries({ queryKey: queryKeys.importProgress(row.id) });
    },
    onError: (error) => {
      // 409: it finished in the meantime.
      if (error instanceof ApiError && error.status === 409) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.importProgress(row.id) });
      }
    },
  });

  const counts = view.counts;
  return (
    <section className="card progress-card" aria-label="Import progress" data-testid="import-run">
      <div className="card-header">
        <div className="title-row">
          <h2>{active ? "Importing…" : "Import finished"}</h2>
          <StatusBadge status={view.status} testId="import-status" />
        </div>
        {active && canWrite && (
          <button
            type="button"
            className="btn btn-danger btn-sm"
            disabled={cancel.isPending || cancelAsked}
            onClick={() => cancel.mutate()}
          >
            {cancelAsked ? "Cancelling…" : "Cancel import"}
          </button>
        )}
      </div>
      <p className="muted small">
        {row.filename}
        {row.sheet && <> · sheet {row.sheet}</>}
        {row.started_at && <> · started {formatDateTime(row.started_at)}</>}
        {row.finished_at && !active && <> · finished {formatDateTime(row.finished_at)}</>}
      </p>
      {active && (
        <>
          <div className="progress-headline">
            <span className="progress-percent" data-testid="import-percent">
              {formatPercent(view.percent)}
            </span>
            <span className="muted" data-testid="import-phase">
              {phaseText(view.phase, counts)}
            </span>
          </div>
          <ProgressBar percent={view.percent} status="running" size="lg" label="Import progress" />
          {cancelAsked && (
            <p className="muted small">Stopping after the rows in flight; what is already imported stays.</p>
          )}
        </>
      )}
      <CountStats counts={counts} />
      {!active && <Outcome row={row} view={view} />}
      <ErrorAlert error={progress.error} />
      <ErrorAlert error={cancel.error} onDismiss={() => cancel.reset()} />
    </section>
  );
}

function phaseText(phase: string, counts: ImportCounts): string {
  const total = counts.total_rows;
  const read = `${formatNumber(counts.rows_read)}${total !== null && total !== undefined ? ` of ${formatNumber(total)}` : ""} rows`;
  switch (phase) {
    case "queued":
      return "Waiting for a worker…";
    case "preparing":
      return "Reading the file…";
    default:
      return `${phase.charAt(0).toUpperCase()}${phase.slice(1)} · ${read}`;
  }
}

function CountStats({ counts }: { counts: ImportCounts }) {
  const total = counts.total_rows;
  return (
    <div className="stats stats-5">
      <Stat label={total !== null && total !== undefined ? `Rows read of ${formatNumber(total)}` : "Rows read"} value={counts.rows_read} testId="count-rows-read" />
      <Stat label="Imported" value={counts.imported} testId="count-imported" tone={counts.imported > 0 ? "ok" : undefined} />
      <Stat label="Updated" value={counts.updated} testId="count-updated" />
      <Stat label="Skipped (duplicates)" value={counts.skipped} testId="count-skipped" />
      <Stat label="Rejected" value={counts.rejected} testId="count-rejected" tone={counts.rejected > 0 ? "bad" : undefined} />
    </div>
  );
}

function Stat({ label, value, testId, tone }: { label: string; value: number; testId: string; tone?: "ok" | "bad" }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ""}`}>
      <div className="stat-value" data-testid={testId}>
        {formatNumber(value)}
      </div>
      <div className="stat-label">{label}</div>
    </div>
  );
}

function Outcome({ row, view }: { row: ImportOut; view: ImportProgress }) {
  const counts = view.counts;
  return (
    <>
      {view.status === "failed" && (
        <Alert tone="error">
          The import failed{view.error ? `: ${view.error}` : "."} Rows imported before the failure stay.
        </Alert>
      )}
      {view.status === "cancelled" && (
        <Alert tone="info">The import was cancelled; the rows imported before that stay.</Alert>
      )}
      {view.status === "completed" && (
        <Alert tone="success">
          {formatNumber(counts.imported)} lead{counts.imported === 1 ? "" : "s"} imported, {formatNumber(counts.updated)} updated.
        </Alert>
      )}
      <div className="form-actions">
        {hasErrorReport(counts) && (
          <a className="btn btn-secondary" href={errorReportUrl(row.id)} download>
            Download error report
          </a>
        )}
        <Link className="btn btn-secondary" to="/leads">
          View leads
        </Link>
      </div>
    </>
  );
}
