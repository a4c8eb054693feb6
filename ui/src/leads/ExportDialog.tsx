import { useEffect, useRef, useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrapResponse, type ExportFormat, type ExportJob, type ExportRequest } from "../api/client";
import { filenameFromDisposition, saveBlob } from "../api/download";
import { queryKeys, useExportColumns, useExportJob, type FilterJson } from "../api/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { Icon } from "../components/Icon";
import { ProgressBar } from "../components/ProgressBar";
import { formatNumber } from "../format";
import type { Selection } from "./bulk";
import {
  EXPORT_FORMATS,
  defaultColumns,
  exportBody,
  fallbackExportName,
  isExportDone,
  toggleExportColumn,
  type ExportScope,
} from "./export";

type Props = {
  onClose: () => void;
  selection: Selection;
  /** Rows ticked in the table (0: none). */
  selectedCount: number;
  /** Leads the current search and filter match. */
  total: number;
  filtered: boolean;
  filter: FilterJson | null;
  search: string;
};

type Outcome = { kind: "file"; name: string; size: number } | { kind: "job"; job: ExportJob };

/** Format, columns and which leads; small exports download at once, large ones run in the background. */
export function ExportDialog({ onClose, selection, selectedCount, total, filtered, filter, search }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const queryClient = useQueryClient();
  const columns = useExportColumns();
  const catalogue = columns.data ?? [];
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [chosen, setChosen] = useState<string[] | null>(null);
  const hasSelection = selection.kind === "ids" && selection.ids.size > 0;
  const [scope, setScope] = useState<ExportScope>(hasSelection ? "selected" : "matching");
  const picked = chosen ?? defaultColumns(catalogue);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  const run = useMutation({
    mutationFn: async (body: ExportRequest): Promise<Outcome> => {
      const { data, response } = await unwrapResponse(api.POST("/api/leads/export", { body, parseAs: "blob" }));
      if (response.status === 202) {
        const job = JSON.parse(await data.text()) as ExportJob;
        return { kind: "job", job };
      }
      const name = filenameFromDisposition(response.headers.get("Content-Disposition"), fallbackExportName(body.format));
      saveBlob(data, name);
      return { kind: "file", name, size: data.size };
    },
    onSuccess: (outcome) => {
      if (outcome.kind === "job") queryClient.setQueryData(queryKeys.exportJob(outcome.job.id), outcome.job);
    },
  });
  const jobId = run.data?.kind === "job" ? run.data.job.id : null;
  const job = useExportJob(jobId);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    run.mutate(exportBody(format, picked, scope, selection, filter, search));
  };

  const matchingText = filtered ? `All ${formatNumber(total)} leads matching the search and filter` : `All ${formatNumber(total)} leads`;

  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="export-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <form className="form" onSubmit={submit} aria-label="Export leads">
        <div className="card-header">
          <h2 id="export-title">Export leads</h2>
          <button type="button" className="alert-dismiss" aria-label="Close" onClick={onClose}>
            <Icon name="close" size={16} />
          </button>
        </div>

        <fieldset className="fieldset">
          <legend className="field-label">Leads</legend>
          {hasSelection && (
            <label className="check">
              <input type="radio" name="scope" checked={scope === "selected"} onChange={() => setScope("selected")} />
              The {formatNumber(selectedCount)} selected lead{selectedCount === 1 ? "" : "s"}
            </label>
          )}
          <label className="check">
            <input type="radio" name="scope" checked={scope === "matching"} onChange={() => setScope("matching")} />
            {matchingText}
          </label>
        </fieldset>

        <fieldset className="fieldset">
          <legend className="field-label">Format</legend>
          <div className="check-row">
            {EXPORT_FORMATS.map((f) => (
              <label key={f.value} className="check">
                <input type="radio" name="format" value={f.value} checked={format === f.value} onChange={() => setFormat(f.value)} />
                {f.label}
              </label>
            ))}
          </div>
        </fieldset>

        <fieldset className="fieldset">
          <legend className="field-label">
            Columns{" "}
            <span className="muted small">
              ({picked.length} of {catalogue.length})
            </span>
          </legend>
          <div className="check-row">
            <button type="button" className="link-button" onClick={() => setChosen(catalogue.map((c) => c.id))}>
              All
            </button>
            <button type="button" className="link-button" onClick={() => setChosen([])}>
              None
            </button>
            <button type="button" className="link-button" onClick={() => setChosen(null)}>
              Defaults
            </button>
          </div>
          <ErrorAlert error={columns.error} />
          {columns.isPending && <p className="muted">Loading columns…</p>}
          <div className="column-checks">
            {catalogue.map((column) => (
              <label key={column.id} className="check">
                <input
                  type="checkbox"
                  name="columns"
                  value={column.id}
                  checked={picked.includes(column.id)}
                  onChange={() => setChosen(toggleExportColumn(catalogue, picked, column.id))}
                />
                {column.label}
              </label>
            ))}
          </div>
        </fieldset>

        <ErrorAlert error={run.error} onDismiss={() => run.reset()} />
        {run.data?.kind === "file" && (
          <Alert tone="success">
            Downloaded <strong data-testid="export-filename">{run.data.name}</strong>.
          </Alert>
        )}
        {jobId !== null && <ExportJobPanel job={job.data} error={job.error} />}

        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={run.isPending || picked.length === 0 || columns.isPending}>
            {run.isPending ? "Preparing…" : "Download"}
          </button>
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A background export: its state until the file is ready, then the link to it. */
function ExportJobPanel({ job, error }: { job: ExportJob | undefined; error: unknown }) {
  if (!job) return <ErrorAlert error={error} />;
  if (job.status === "failed") {
    return <Alert>The export failed{job.error ? `: ${job.error}` : "."}</Alert>;
  }
  if (job.status === "ready") {
    return (
      <Alert tone="success">
        The export is ready{job.row_count !== null ? ` (${formatNumber(job.row_count)} leads)` : ""}.{" "}
        <a href={job.download_url ?? `/api/exports/${job.id}/download`} download data-testid="export-download">
          Download the file
        </a>
      </Alert>
    );
  }
  return (
    <div className="export-job" role="status" data-testid="export-job">
      <p className="muted">
        This export is large, so it is being written in the background ({job.status}). Keep this open: the link
        appears when it is ready.
      </p>
      <ProgressBar percent={100} status={isExportDone(job) ? undefined : "running"} label="Export in progress" />
      <ErrorAlert error={error} />
    </div>
  );
}
