import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, type BulkFileAction, type BulkFileBody, type BulkFileResult } from "../api/client";
import { queryKeys } from "../api/queries";
import { postMultipart } from "../api/upload";
import { Alert, ErrorAlert } from "../components/Alert";
import { FileDrop } from "../components/FileDrop";
import { formatNumber } from "../format";
import { formatBytes } from "./mapping";
import { Options } from "../components/Options";

export const BULK_FILE_ACTIONS: readonly { value: BulkFileAction; label: string; hint: string }[] = [
  { value: "suppress", label: "Suppress", hint: "Never message these addresses on the channel (kept even for addresses no lead has yet)." },
  { value: "unsubscribe", label: "Unsubscribe", hint: "Record that these leads withdrew consent on the channel." },
  { value: "tag", label: "Add a tag", hint: "Tag every lead whose email or phone is in the file." },
  { value: "delete", label: "Delete", hint: "Delete every lead whose email or phone is in the file. This cannot be undone." },
];

const CHANNELS: readonly { value: BulkFileBody["channel"]; label: string }[] = [
  { value: "email", label: "Email" },
  { value: "sms", label: "SMS" },
  { value: "whatsapp", label: "WhatsApp" },
];

const REASONS: readonly { value: BulkFileBody["reason"]; label: string }[] = [
  { value: "unsubscribed", label: "Unsubscribed" },
  { value: "bounced", label: "Bounced" },
  { value: "complained", label: "Complained (spam report)" },
];

export type BulkFileForm = { action: BulkFileAction; channel: BulkFileBody["channel"]; reason: BulkFileBody["reason"]; tag: string };

/**
 * The multipart fields of POST /api/leads/bulk-file: only those the action reads (channel for suppress and
 * unsubscribe, reason for suppress, tag for tag), or a problem with the form.
 */
export function bulkFileFields(form: BulkFileForm): { fields: [string, string][] } | { problem: { field: string; message: string } } {
  const fields: [string, string][] = [["action", form.action]];
  if (form.action === "suppress" || form.action === "unsubscribe") fields.push(["channel", form.channel]);
  if (form.action === "suppress") fields.push(["reason", form.reason]);
  if (form.action === "tag") {
    const tag = form.tag.trim();
    if (!tag) return { problem: { field: "tag", message: "Type the tag to add." } };
    if (tag.length > 64) return { problem: { field: "tag", message: "A tag has at most 64 characters." } };
    fields.push(["tag", tag]);
  }
  return { fields };
}

/** What was done, for the result line: "Tagged “vip”", "Unsubscribed from sms". */
function actionText(form: BulkFileForm): string {
  switch (form.action) {
    case "suppress":
      return `Suppressed on ${form.channel} (${form.reason})`;
    case "unsubscribe":
      return `Unsubscribed from ${form.channel}`;
    case "tag":
      return `Tagged “${form.tag.trim().toLowerCase()}”`;
    case "delete":
      return "Deleted";
  }
}

/** Suppress, unsubscribe, tag or delete every lead whose email or phone is listed in a file. */
export function BulkFromFile() {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [form, setForm] = useState<BulkFileForm>({ action: "suppress", channel: "email", reason: "unsubscribed", tag: "" });
  const [problem, setProblem] = useState<{ field: string; message: string } | null>(null);
  const [uploadPercent, setUploadPercent] = useState<number | null>(null);
  const [result, setResult] = useState<{ result: BulkFileResult; file: string; what: string } | null>(null);

  const run = useMutation({
    mutationFn: ({ file, fields }: { file: File; fields: [string, string][]; what: string }) => {
      const body = new FormData();
      body.append("file", file, file.name);
      for (const [name, value] of fields) body.append(name, value);
      return postMultipart<BulkFileResult>("/api/leads/bulk-file", body, (p) => setUploadPercent(p.percent));
    },
    onMutate: () => {
      setResult(null);
      setUploadPercent(0);
    },
    onSettled: () => setUploadPercent(null),
    onSuccess: (data, variables) => {
      setResult({ result: data, file: variables.file.name, what: variables.what });
      setFile(null);
      void queryClient.invalidateQueries({ queryKey: ["leads"] });
      void queryClient.invalidateQueries({ queryKey: ["lead"] });
      void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
    },
    onError: (error) => {
      if (error instanceof ApiError && error.field) setProblem({ field: error.field, message: error.message });
    },
  });

  const set = <K extends keyof BulkFileForm>(name: K, value: BulkFileForm[K]) => {
    setForm((old) => ({ ...old, [name]: value }));
    setProblem(null);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    run.reset();
    if (!file) {
      setProblem({ field: "file", message: "Choose a file first." });
      return;
    }
    const built = bulkFileFields(form);
    if ("problem" in built) {
      setProblem(built.problem);
      return;
    }
    if (form.action === "delete" && !window.confirm(`Delete every lead whose email or phone is in “${file.name}”? This cannot be undone.`)) {
      return;
    }
    run.mutate({ file, fields: built.fields, what: actionText(form) });
  };

  const hint = BULK_FILE_ACTIONS.find((a) => a.value === form.action)?.hint;
  const fieldProblem = (field: string) => (problem?.field === field ? problem.message : null);
  const busy = run.isPending;

  return (
    <section className="card" aria-labelledby="bulk-file-title">
      <div className="card-header">
        <h2 id="bulk-file-title">Bulk update from a file</h2>
      </div>
      <form className="form" onSubmit={submit} aria-label="Bulk update from a file" noValidate>
        <p className="muted">
          A CSV, XLSX or plain-text file with one email address or phone number per row (a column headed “email” or
          “phone” is used when there is one, else the first column).
        </p>
        <FileDrop
          label="File of emails or phone numbers"
          testId="bulk-file"
          onFile={(chosen) => {
            setFile(chosen);
            setProblem(null);
          }}
          disabled={busy}
          uploading={busy && file ? { name: file.name, percent: uploadPercent } : null}
          hint="CSV, TSV, TXT or XLSX"
        />
        {file && !busy && (
          <p className="chosen-file" data-testid="bulk-file-name">
            <strong>{file.name}</strong> <span className="muted">({formatBytes(file.size)})</span>{" "}
            <button type="button" className="link-button" onClick={() => setFile(null)}>
              Remove
            </button>
          </p>
        )}
        {fieldProblem("file") && (
          <p className="field-error" role="alert">
            {fieldProblem("file")}
          </p>
        )}
        <div className="form-grid">
          <label className="field">
            <span className="field-label">Action</span>
            <select
              name="action"
              className="input"
              value={form.action}
              disabled={busy}
              onChange={(event) => set("action", event.target.value as BulkFileAction)}
            >
              <Options items={BULK_FILE_ACTIONS} />
            </select>
            {hint && <span className="field-hint">{hint}</span>}
          </label>
          {(form.action === "suppress" || form.action === "unsubscribe") && (
            <label className="field">
              <span className="field-label">Channel</span>
              <select
                name="channel"
                className={fieldProblem("channel") ? "input invalid" : "input"}
                value={form.channel}
                disabled={busy}
                onChange={(event) => set("channel", event.target.value as BulkFileForm["channel"])}
              >
                <Options items={CHANNELS} />
              </select>
              {fieldProblem("channel") && <span className="field-error">{fieldProblem("channel")}</span>}
            </label>
          )}
          {form.action === "suppress" && (
            <label className="field">
              <span className="field-label">Reason</span>
              <select
                name="reason"
                className={fieldProblem("reason") ? "input invalid" : "input"}
                value={form.reason}
                disabled={busy}
                onChange={(event) => set("reason", event.target.value as BulkFileForm["reason"])}
              >
                <Options items={REASONS} />
              </select>
              {fieldProblem("reason") && <span className="field-error">{fieldProblem("reason")}</span>}
            </label>
          )}
          {form.action === "tag" && (
            <label className="field">
              <span className="field-label">Tag</span>
              <input
                name="tag"
                className={fieldProblem("tag") ? "input invalid" : "input"}
                value={form.tag}
                maxLength={64}
                placeholder="vip"
                disabled={busy}
                onChange={(event) => set("tag", event.target.value)}
              />
              {fieldProblem("tag") && (
                <span className="field-error" role="alert">
                  {fieldProblem("tag")}
                </span>
              )}
            </label>
          )}
        </div>
        {problem && !["file", "tag", "channel", "reason"].includes(problem.field) && (
          <Alert onDismiss={() => setProblem(null)}>{problem.message}</Alert>
        )}
        <ErrorAlert error={run.error && !(run.error instanceof ApiError && run.error.field) ? run.error : null} onDismiss={() => run.reset()} />
        <div className="form-actions">
          <button type="submit" className={`btn ${form.action === "delete" ? "btn-danger" : "btn-primary"}`} disabled={busy}>
            {busy ? "Working…" : form.action === "delete" ? "Delete listed leads" : "Apply to listed leads"}
          </button>
        </div>
      </form>
      {result && (
        <div className="bulk-file-result" data-testid="bulk-file-result">
          <Alert tone="success" onDismiss={() => setResult(null)}>
            {result.what}: the leads listed in <strong>{result.file}</strong>.
          </Alert>
          <div className="stats stats-5">
            <ResultStat label="Rows read" value={result.result.rows} testId="bulk-rows" />
            <ResultStat label="Matched a lead" value={result.result.matched} testId="bulk-matched" />
            <ResultStat label="No lead found" value={result.result.not_found} testId="bulk-not-found" />
            <ResultStat label="Invalid addresses" value={result.result.invalid} testId="bulk-invalid" bad={result.result.invalid > 0} />
            <ResultStat
              label={result.result.action === "delete" ? "Leads deleted" : "Leads changed"}
              value={result.result.affected}
              testId="bulk-affected"
            />
          </div>
        </div>
      )}
    </section>
  );
}

function ResultStat({ label, value, testId, bad }: { label: string; value: number; testId: string; bad?: boolean }) {
  return (
    <div className={`stat ${bad ? "stat-bad" : ""}`}>
      <div className="stat-value" data-testid={testId}>
        {formatNumber(value)}
      </div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
