import { useState } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, type ImportOut, type ImportPreview } from "../api/client";
import { queryKeys, useImport, useImports } from "../api/queries";
import { postMultipart, uploadErrorText } from "../api/upload";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { FileDrop } from "../components/FileDrop";
import { PageHeader } from "../components/PageHeader";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import { formatDateTime, formatNumber } from "../format";
import { BulkFromFile } from "../imports/BulkFile";
import { ImportRun } from "../imports/ImportRun";
import { MapStep } from "../imports/MapStep";
import { isImportActive } from "../imports/mapping";
import { useSession } from "../session";
import { NotFound } from "./NotFound";

type Tab = "import" | "bulk";

/** `/imports` (upload a file) and `/imports/:id` (map it, follow it, see the outcome); history below. */
export function ImportsPage() {
  const me = useSession();
  const canWrite = can(me, "leads:write");
  const { id } = useParams();
  const [params, setParams] = useSearchParams();
  const importId = id === undefined ? null : Number(id);
  if (importId !== null && (!Number.isInteger(importId) || importId <= 0)) return <NotFound />;
  const tab: Tab = canWrite && importId === null && params.get("tab") === "bulk" ? "bulk" : "import";

  return (
    <>
      <PageHeader
        title="Import"
        subtitle={
          canWrite
            ? "Bring leads in from a CSV or Excel file, or update the leads a file lists."
            : "Past imports of this workspace."
        }
        actions={
          importId !== null && canWrite ? (
            <Link to="/imports" className="btn btn-secondary">
              New import
            </Link>
          ) : undefined
        }
      />
      {canWrite && importId === null && (
        <div className="tabs" role="tablist" aria-label="Import">
          <TabButton selected={tab === "import"} onClick={() => setParams({}, { replace: true })}>
            Import leads
          </TabButton>
          <TabButton selected={tab === "bulk"} onClick={() => setParams({ tab: "bulk" }, { replace: true })}>
            Bulk update from a file
          </TabButton>
        </div>
      )}
      {tab === "bulk" ? (
        <BulkFromFile />
      ) : (
        <>
          {importId !== null ? (
            <ImportView key={importId} importId={importId} />
          ) : canWrite ? (
            <UploadStep />
          ) : (
            <Alert tone="info">
              Importing leads needs the <code>leads:write</code> permission; your role in {me.workspace.name} is{" "}
              <strong>{me.role}</strong>.
            </Alert>
          )}
          <ImportHistory currentId={importId} />
        </>
      )}
    </>
  );
}

function TabButton({ selected, onClick, children }: { selected: boolean; onClick: () => void; children: string }) {
  return (
    <button type="button" role="tab" aria-selected={selected} className={`tab ${selected ? "active" : ""}`} onClick={onClick}>
      {children}
    </button>
  );
}

const STEPS = ["Upload", "Map columns", "Import", "Result"] as const;

/** 1 Upload · 2 Map columns · 3 Import · 4 Result, the current one highlighted. */
export function ImportSteps({ current }: { current: 1 | 2 | 3 | 4 }) {
  return (
    <ol className="steps" aria-label="Import steps">
      {STEPS.map((label, index) => {
        const step = index + 1;
        const state = step < current ? "done" : step === current ? "current" : "todo";
        return (
          <li key={label} className={`step step-${state}`} aria-current={step === current ? "step" : undefined}>
            <span className="step-number">{step}</span>
            {label}
          </li>
        );
      })}
    </ol>
  );
}

/** Step 1: drop a file; it is uploaded at once and the preview opens the mapping step. */
function UploadStep() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [uploading, setUploading] = useState<{ name: string; percent: number | null } | null>(null);

  const upload = useMutation({
    mutationFn: (file: File) => {
      const form = new FormData();
      form.append("file", file, file.name);
      return postMultipart<ImportPreview>("/api/imports", form, (p) => setUploading({ name: file.name, percent: p.percent }));
    },
    onMutate: (file) => setUploading({ name: file.name, percent: 0 }),
    onSettled: () => setUploading(null),
    onSuccess: (preview) => {
      queryClient.setQueryData(queryKeys.importPreview(preview.id), preview);
      queryClient.setQueryData<ImportOut>(queryKeys.import(preview.id), preview);
      void queryClient.invalidateQueries({ queryKey: queryKeys.imports, exact: true });
      navigate(`/imports/${preview.id}`);
    },
  });

  return (
    <>
      <ImportSteps current={1} />
      <section className="card" aria-labelledby="upload-title">
        <div className="card-header">
          <h2 id="upload-title">Upload a file</h2>
        </div>
        <FileDrop
          label="File to import"
          testId="import-file"
          onFile={(file) => upload.mutate(file)}
          uploading={uploading}
          hint="CSV, TSV or TXT (any delimiter, UTF-8, UTF-16 or Windows-1252) or an Excel XLSX workbook; the first row holds the column names."
        />
        {upload.error && (
          <Alert onDismiss={() => upload.reset()}>
            <span data-testid="upload-error">{uploadErrorText(upload.error)}</span>
          </Alert>
        )}
      </section>
    </>
  );
}

// The message shown for a refused upload (also used by the media library).
export { uploadErrorText };

/** One import: the mapping step while it waits for one, else its progress or outcome. */
function ImportView({ importId }: { importId: number }) {
  const me = useSession();
  const row = useImport(importId);
  if (row.error instanceof ApiError && row.error.status === 404) {
    return <Alert tone="info">Import #{importId} does not exist in this workspace.</Alert>;
  }
  if (!row.data) {
    return (
      <>
        <ErrorAlert error={row.error} />
        {!row.error && <p className="muted">Loading…</p>}
      </>
    );
  }
  const data = row.data;
  if (data.status === "uploaded") {
    if (!can(me, "leads:write")) {
      return <Alert tone="info">{data.filename} was uploaded but not started yet.</Alert>;
    }
    return (
      <>
        <ImportSteps current={2} />
        <MapStep row={data} />
      </>
    );
  }
  return (
    <>
      <ImportSteps current={isImportActive(data.status) ? 3 : 4} />
      <ImportRun row={data} />
    </>
  );
}

/** Past imports, newest first; a row opens its progress or outcome. */
function ImportHistory({ currentId }: { currentId: number | null }) {
  const imports = useImports();
  const navigate = useNavigate();
  const rows = imports.data ?? [];
  return (
    <section className="card card-table" aria-labelledby="import-history-title">
      <div className="card-header">
        <h2 id="import-history-title">History</h2>
      </div>
      <ErrorAlert error={imports.error} />
      <div className="table-wrap">
        <table className="table table-clickable">
          <thead>
            <tr>
              <th>File</th>
              <th>Status</th>
              <th className="num">Rows</th>
              <th className="num">Imported</th>
              <th className="num">Updated</th>
              <th className="num">Skipped</th>
              <th className="num">Rejected</th>
              <th>Uploaded</th>
            </tr>
          </thead>
          <tbody>
            <TableState colSpan={8} loading={imports.isPending} empty={rows.length === 0} emptyText="No imports yet." />
            {rows.map((row) => (
              <tr
                key={row.id}
                data-testid="import-row"
                className={row.id === currentId ? "selected" : undefined}
                onClick={() => navigate(`/imports/${row.id}`)}
              >
                <td className="truncate strong">
                  <Link to={`/imports/${row.id}`} onClick={(event) => event.stopPropagation()}>
                    {row.filename}
                  </Link>
                  {row.sheet && row.sheets.length > 1 && <span className="muted small"> · {row.sheet}</span>}
                </td>
                <td>
                  <StatusBadge status={row.status} />
                </td>
                <td className="num">{row.counts.total_rows === null || row.counts.total_rows === undefined ? "—" : formatNumber(row.counts.total_rows)}</td>
                <td className="num">{formatNumber(row.counts.imported)}</td>
                <td className="num">{formatNumber(row.counts.updated)}</td>
                <td className="num">{formatNumber(row.counts.skipped)}</td>
                <td className="num">{formatNumber(row.counts.rejected)}</td>
                <td className="nowrap">{formatDateTime(row.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
