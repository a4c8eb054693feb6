import { useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type ImportOut, type ImportPreview, type ImportStart, type TargetOption } from "../api/client";
import { queryKeys, useImportPreview, useLists } from "../api/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { useSession } from "../session";
import {
  CHANNELS,
  DATE_ORDERS,
  DEDUPE_KEYS,
  FIELD_TYPES,
  IGNORE,
  NEW_FIELD,
  ON_DUPLICATE,
  applySavedMapping,
  buildStartPayload,
  defaultOptions,
  formatBytes,
  initialMapping,
  optionsFromSaved,
  placeProblem,
  sampleValues,
  type Channel,
  type ColumnMapping,
  type FieldProblem,
  type NewFieldDraft,
  type OptionsForm,
  type ProblemPlace,
} from "./mapping";
import { Options } from "../components/Options";

/** Step 2: where each column goes, and how the rows are imported; "Start import" hands it to the workflow. */
export function MapStep({ row }: { row: ImportOut }) {
  const preview = useImportPreview(row.id);
  if (preview.data) return <MapForm preview={preview.data} />;
  return (
    <section className="card" aria-label="Map columns">
      <div className="card-header">
        <h2>Map columns</h2>
      </div>
      <ErrorAlert error={preview.error} />
      {!preview.error && <p className="muted">Reading the file…</p>}
    </section>
  );
}

/** A key for the columns the mapping belongs to: another sheet starts a new mapping. */
function columnsKey(preview: ImportPreview): string {
  return JSON.stringify([preview.sheet, preview.headers]);
}

function MapForm({ preview }: { preview: ImportPreview }) {
  const me = useSession();
  const queryClient = useQueryClient();
  const lists = useLists();
  const importId = preview.id;
  const key = columnsKey(preview);

  const [mappingState, setMappingState] = useState<{ key: string; mapping: ColumnMapping[] }>(() => ({
    key,
    mapping: initialMapping(preview),
  }));
  const mapping = mappingState.key === key ? mappingState.mapping : initialMapping(preview);
  const setMapping = (next: ColumnMapping[]) => setMappingState({ key, mapping: next });
  const [options, setOptions] = useState<OptionsForm>(defaultOptions);
  const [problem, setProblem] = useState<FieldProblem | null>(null);
  const [newFieldColumns, setNewFieldColumns] = useState<number[]>([]);
  const [applied, setApplied] = useState<{ id: string; note: string; warning: string | null } | null>(null);

  const sheet = useMutation({
    mutationFn: (name: string) =>
      unwrap(
        api.GET("/api/imports/{import_id}/preview", { params: { path: { import_id: importId }, query: { sheet: name } } }),
      ),
    onMutate: () => setProblem(null),
    onSuccess: (data) => {
      queryClient.setQueryData(queryKeys.importPreview(importId), data);
      queryClient.setQueryData<ImportOut>(queryKeys.import(importId), (old) => (old ? { ...old, sheet: data.sheet, headers: data.headers } : old));
      setApplied(null);
    },
  });

  const start = useMutation({
    mutationFn: (body: ImportStart) =>
      unwrap(api.POST("/api/imports/{import_id}/start", { params: { path: { import_id: importId } }, body })),
    onSuccess: (data, body) => {
      queryClient.setQueryData(queryKeys.import(importId), data);
      queryClient.removeQueries({ queryKey: queryKeys.importProgress(importId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.imports, exact: true });
      if ((body.new_custom_fields ?? []).length > 0) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.customFields });
        void queryClient.invalidateQueries({ queryKey: queryKeys.leadFields });
        void queryClient.invalidateQueries({ queryKey: queryKeys.exportColumns });
      }
    },
    onError: (error) => {
      if (error instanceof ApiError && error.field) setProblem({ field: error.field, message: error.message });
      // Already started elsewhere (another tab): show what it is doing.
      if (error instanceof ApiError && error.status === 409) {
        void queryClient.invalidateQueries({ queryKey: queryKeys.import(importId) });
      }
    },
  });

  const place: ProblemPlace = problem ? placeProblem(problem.field, newFieldColumns, preview.headers.length) : { kind: "general" };
  const columnProblem = (column: number, part: string): string | null =>
    problem && place.kind === "column" && place.column === column && place.part === part ? problem.message : null;
  const optionProblem = (name: string): string | null =>
    problem && place.kind === "option" && place.name === name ? problem.message : null;

  const statuses = me.workspace.lead_statuses ?? [];
  const memberLists = (lists.data ?? []).filter((list) => list.kind === "static" || list.kind === "hybrid");
  const standard = preview.targets.filter((t) => t.type === "standard");
  const custom = preview.targets.filter((t) => t.type !== "standard" && t.value !== IGNORE);
  const ignore = preview.targets.find((t) => t.value === IGNORE);

  const setColumn = (column: number, change: Partial<ColumnMapping>) => {
    setMapping(mapping.map((entry, index) => (index === column ? { ...entry, ...change } : entry)));
    setProblem(null);
  };
  const setField = (column: number, change: Partial<NewFieldDraft>) => {
    const entry = mapping[column];
    if (entry) setColumn(column, { field: { ...entry.field, ...change } });
  };
  const setOption = <K extends keyof OptionsForm>(name: K, value: OptionsForm[K]) => {
    setOptions((old) => ({ ...old, [name]: value }));
    setProblem(null);
  };

  const applySaved = (id: string) => {
    const saved = preview.saved_mappings?.find((m) => String(m.id) === id);
    if (!saved) {
      setApplied(null);
      return;
    }
    const result = applySavedMapping(preview.headers, mapping, saved, preview.targets);
    setMapping(result.mapping);
    setOptions((old) => optionsFromSaved(saved.options, old));
    setProblem(null);
    setApplied({
      id,
      note: `Applied “${saved.name}”: ${result.matched} of ${preview.headers.length} columns matched by header.`,
      warning:
        result.unknownTargets.length > 0
          ? `These targets no longer exist and were ignored: ${result.unknownTargets.join(", ")}.`
          : null,
    });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    start.reset();
    const built = buildStartPayload(mapping, options);
    if ("problem" in built) {
      setNewFieldColumns(newColumnsOf(mapping));
      setProblem(built.problem);
      return;
    }
    setNewFieldColumns(built.newFieldColumns);
    setProblem(null);
    start.mutate(built.body);
  };

  const busy = start.isPending || sheet.isPending;
  const generalError = start.error && !(problem && place.kind !== "general") ? start.error : null;

  return (
    <form className="stack" onSubmit={submit} aria-label="Map columns" noValidate>
      <section className="card card-table">
        <div className="card-header">
          <div>
            <h2>Map columns</h2>
            <p className="muted small">
              {preview.filename} · {formatBytes(preview.size_bytes)}
              {preview.encoding && <> · {preview.encoding}</>}
              {preview.delimiter && <> · delimiter {describeDelimiter(preview.delimiter)}</>} · {preview.headers.length}{" "}
              column{preview.headers.length === 1 ? "" : "s"}
            </p>
          </div>
          <div className="page-actions">
            {preview.sheets.length > 1 && (
              <label className="inline-field">
                <span className="field-label">Sheet</span>
                <select
                  name="sheet"
                  className="input input-sm"
                  value={preview.sheet ?? ""}
                  disabled={busy}
                  onChange={(event) => sheet.mutate(event.target.value)}
                >
                  {preview.sheets.map((name) => (
                    <option key={name} value={name}>
                      {name}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {(preview.saved_mappings ?? []).length > 0 && (
              <label className="inline-field">
                <span className="field-label">Apply saved mapping</span>
                <select
                  name="saved_mapping"
                  className="input input-sm"
                  value={applied?.id ?? ""}
                  disabled={busy}
                  onChange={(event) => applySaved(event.target.value)}
                >
                  <option value="">Choose…</option>
                  {(preview.saved_mappings ?? []).map((saved) => (
                    <option key={saved.id} value={saved.id}>
                      {saved.name}
                    </option>
                  ))}
                </select>
              </label>
            )}
          </div>
        </div>
        <ErrorAlert error={sheet.error} onDismiss={() => sheet.reset()} />
        {applied && (
          <Alert tone="info" onDismiss={() => setApplied(null)}>
            {applied.note}
            {applied.warning && <> {applied.warning}</>}
          </Alert>
        )}
        <div className={`table-wrap ${sheet.isPending ? "is-stale" : ""}`}>
          <table className="table mapping-table">
            <thead>
              <tr>
                <th>Column</th>
                <th>Sample values</th>
                <th>Import as</th>
              </tr>
            </thead>
            <tbody>
              {preview.headers.length === 0 && (
                <tr className="table-state">
                  <td colSpan={3}>This sheet has no columns.</td>
                </tr>
              )}
              {preview.headers.map((header, column) => {
                const entry = mapping[column];
                if (!entry) return null;
                const name = header || `Column ${column + 1}`;
                const suggestion = preview.suggestions.find((s) => s.column === column);
                const targetProblem = columnProblem(column, "target");
                return (
                  <tr key={column} data-testid="mapping-row">
                    <td className="mapping-header">
                      <span className="strong">{name}</span>
                      <span className="muted small"> #{column + 1}</span>
                    </td>
                    <td className="mapping-samples">
                      <SampleList values={sampleValues(preview.rows, column)} />
                    </td>
                    <td className="mapping-target">
                      <div className="mapping-cell">
                        <select
                          name={`mapping[${column}]`}
                          className={targetProblem ? "input invalid" : "input"}
                          aria-label={`Target for ${name}`}
                          aria-invalid={targetProblem ? true : undefined}
                          value={entry.target}
                          disabled={busy}
                          onChange={(event) => setColumn(column, { target: event.target.value })}
                        >
                          <option value={IGNORE}>{ignore?.label ?? "Do not import"}</option>
                          <TargetGroup label="Lead fields" targets={standard} />
                          <TargetGroup label="Custom fields" targets={custom} />
                          <option value={NEW_FIELD}>New custom field…</option>
                        </select>
                        {suggestion && suggestion.target === entry.target && suggestion.target !== IGNORE && (
                          <span className="field-hint">Suggested: {suggestion.reason}</span>
                        )}
                        <FieldError message={targetProblem} />
                        {entry.target === NEW_FIELD && (
                          <NewFieldInputs
                            name={name}
                            field={entry.field}
                            disabled={busy}
                            onChange={(change) => setField(column, change)}
                            problem={(part) => columnProblem(column, part)}
                          />
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card" aria-labelledby="import-options-title">
        <div className="card-header">
          <h2 id="import-options-title">Options</h2>
        </div>
        <div className="form-grid">
          <Field label="Find duplicates by" problem={optionProblem("dedupe_key")}>
            <select
              name="dedupe_key"
              className={optionProblem("dedupe_key") ? "input invalid" : "input"}
              value={options.dedupeKey}
              onChange={(event) => setOption("dedupeKey", event.target.value as OptionsForm["dedupeKey"])}
            >
              <Options items={DEDUPE_KEYS} />
            </select>
          </Field>
          <Field label="When a lead already exists" problem={optionProblem("on_duplicate")}>
            <select
              name="on_duplicate"
              className="input"
              value={options.onDuplicate}
              onChange={(event) => setOption("onDuplicate", event.target.value as OptionsForm["onDuplicate"])}
            >
              <Options items={ON_DUPLICATE} />
            </select>
          </Field>
          <Field label="Add to list" problem={optionProblem("list_id")}>
            <select
              name="list_id"
              className={optionProblem("list_id") ? "input invalid" : "input"}
              value={options.listId}
              onChange={(event) => setOption("listId", event.target.value)}
            >
              <option value="">No list</option>
              {memberLists.map((list) => (
                <option key={list.id} value={list.id}>
                  {list.name} ({list.kind})
                </option>
              ))}
              {options.listId && !memberLists.some((l) => String(l.id) === options.listId) && (
                <option value={options.listId}>List #{options.listId}</option>
              )}
            </select>
          </Field>
          <Field label="Tags" hint="Comma separated; added to every imported lead." problem={optionProblem("tags")}>
            <input
              name="tags"
              className={optionProblem("tags") ? "input invalid" : "input"}
              value={options.tags}
              placeholder="fair-2025, newsletter"
              onChange={(event) => setOption("tags", event.target.value)}
            />
          </Field>
          <Field label="Default status" hint="For rows without a status." problem={optionProblem("default_status")}>
            {statuses.length > 0 ? (
              <select
                name="default_status"
                className={optionProblem("default_status") ? "input invalid" : "input"}
                value={options.defaultStatus}
                onChange={(event) => setOption("defaultStatus", event.target.value)}
              >
                <option value="">Workspace default</option>
                {statuses.map((status) => (
                  <option key={status} value={status}>
                    {status}
                  </option>
                ))}
                {options.defaultStatus && !statuses.includes(options.defaultStatus) && (
                  <option value={options.defaultStatus}>{options.defaultStatus}</option>
                )}
              </select>
            ) : (
              <input
                name="default_status"
                className={optionProblem("default_status") ? "input invalid" : "input"}
                value={options.defaultStatus}
                placeholder="new"
                onChange={(event) => setOption("defaultStatus", event.target.value)}
              />
            )}
          </Field>
          <Field label="Default region" hint="For phone numbers without a country code." problem={optionProblem("default_region")}>
            <input
              name="default_region"
              className={optionProblem("default_region") ? "input invalid" : "input"}
              value={options.defaultRegion}
              maxLength={2}
              placeholder={me.workspace.default_region ?? "US"}
              autoComplete="off"
              onChange={(event) => setOption("defaultRegion", event.target.value.toUpperCase())}
            />
          </Field>
          <Field label="Date order" problem={optionProblem("date_order")}>
            <select
              name="date_order"
              className="input"
              value={options.dateOrder}
              onChange={(event) => setOption("dateOrder", event.target.value as OptionsForm["dateOrder"])}
            >
              <Options items={DATE_ORDERS} />
            </select>
          </Field>
          <Field label="Lead source" hint="Recorded on new leads." problem={optionProblem("source")}>
            <input
              name="source"
              className={optionProblem("source") ? "input invalid" : "input"}
              value={options.source}
              maxLength={100}
              onChange={(event) => setOption("source", event.target.value)}
            />
          </Field>
          <Field label="Save this mapping as" hint="Optional: reuse it for the next file." problem={optionProblem("save_mapping_as")}>
            <input
              name="save_mapping_as"
              className={optionProblem("save_mapping_as") ? "input invalid" : "input"}
              value={options.saveAs}
              maxLength={200}
              placeholder="Trade fair export"
              onChange={(event) => setOption("saveAs", event.target.value)}
            />
          </Field>
        </div>
        <ConsentFields options={options} setOption={setOption} problem={optionProblem("consent")} />
      </section>

      {problem && place.kind === "general" && !start.error && (
        <Alert tone="error" onDismiss={() => setProblem(null)}>
          {problem.message}
        </Alert>
      )}
      {problem && place.kind !== "general" && (
        <p className="field-error" role="alert">
          Fix the highlighted field: {problem.message}
        </p>
      )}
      <ErrorAlert error={generalError} onDismiss={() => start.reset()} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy || preview.headers.length === 0}>
          {start.isPending ? "Starting…" : "Start import"}
        </button>
      </div>
    </form>
  );
}

/** The columns that create a custom field, in order (where `new_custom_fields[i]` problems belong). */
function newColumnsOf(mapping: readonly ColumnMapping[]): number[] {
  return mapping.flatMap((entry, column) => (entry.target === NEW_FIELD ? [column] : []));
}

function describeDelimiter(delimiter: string): string {
  if (delimiter === "\t") return "tab";
  if (delimiter === " ") return "space";
  return `“${delimiter}”`;
}

function TargetGroup({ label, targets }: { label: string; targets: TargetOption[] }) {
  if (targets.length === 0) return null;
  return (
    <optgroup label={label}>
      {targets.map((t) => (
        <option key={t.value} value={t.value}>
          {t.label}
        </option>
      ))}
    </optgroup>
  );
}

function SampleList({ values }: { values: string[] }) {
  if (values.length === 0) return <span className="muted">empty</span>;
  return (
    <ul className="sample-values">
      {values.map((value, index) => (
        <li key={index} className="truncate" title={value}>
          {value}
        </li>
      ))}
    </ul>
  );
}

function FieldError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <span className="field-error" role="alert">
      {message}
    </span>
  );
}

function Field({ label, hint, problem, children }: { label: string; hint?: string; problem: string | null; children: ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint && !problem && <span className="field-hint">{hint}</span>}
      <FieldError message={problem} />
    </label>
  );
}

function NewFieldInputs({
  name,
  field,
  disabled,
  onChange,
  problem,
}: {
  name: string;
  field: NewFieldDraft;
  disabled: boolean;
  onChange: (change: Partial<NewFieldDraft>) => void;
  problem: (part: string) => string | null;
}) {
  const cls = (part: string) => (problem(part) ? "input input-sm invalid" : "input input-sm");
  return (
    <div className="new-field">
      <label className="field">
        <span className="field-label">Key</span>
        <input
          className={cls("key")}
          aria-label={`New field key for ${name}`}
          value={field.key}
          disabled={disabled}
          maxLength={64}
          onChange={(event) => onChange({ key: event.target.value })}
        />
        <FieldError message={problem("key")} />
      </label>
      <label className="field">
        <span className="field-label">Label</span>
        <input
          className={cls("label")}
          aria-label={`New field label for ${name}`}
          value={field.label}
          disabled={disabled}
          onChange={(event) => onChange({ label: event.target.value })}
        />
        <FieldError message={problem("label")} />
      </label>
      <label className="field">
        <span className="field-label">Type</span>
        <select
          className={cls("type")}
          aria-label={`New field type for ${name}`}
          value={field.type}
          disabled={disabled}
          onChange={(event) => onChange({ type: event.target.value as NewFieldDraft["type"] })}
        >
          {FIELD_TYPES.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
        <FieldError message={problem("type")} />
      </label>
      {field.type === "choice" && (
        <label className="field">
          <span className="field-label">Choices</span>
          <input
            className={cls("choices")}
            aria-label={`New field choices for ${name}`}
            value={field.choices}
            placeholder="gold, silver, bronze"
            disabled={disabled}
            onChange={(event) => onChange({ choices: event.target.value })}
          />
          <FieldError message={problem("choices")} />
        </label>
      )}
    </div>
  );
}

/** Consent collected with the file: channels, plus where and with which words (both required with a channel). */
function ConsentFields({
  options,
  setOption,
  problem,
}: {
  options: OptionsForm;
  setOption: <K extends keyof OptionsForm>(name: K, value: OptionsForm[K]) => void;
  problem: string | null;
}) {
  const toggle = (channel: Channel) =>
    setOption(
      "consentChannels",
      options.consentChannels.includes(channel)
        ? options.consentChannels.filter((c) => c !== channel)
        : [...options.consentChannels, channel],
    );
  const required = options.consentChannels.length > 0;
  return (
    <fieldset className="consent-fields">
      <legend className="field-label">Record consent</legend>
      <p className="field-hint">
        Only when the people in this file agreed to hear from you: the source and wording are kept as proof on each lead.
      </p>
      <div className="check-row">
        {CHANNELS.map((c) => (
          <label key={c.value} className="check">
            <input
              type="checkbox"
              name={`consent_${c.value}`}
              checked={options.consentChannels.includes(c.value)}
              onChange={() => toggle(c.value)}
            />
            {c.label}
          </label>
        ))}
      </div>
      {required && (
        <div className="form-grid form-grid-2">
          <label className="field">
            <span className="field-label">Consent source</span>
            <input
              name="consent_source"
              className={problem && !options.consentSource.trim() ? "input invalid" : "input"}
              value={options.consentSource}
              required
              maxLength={200}
              placeholder="Sign-up form at the 2025 trade fair"
              onChange={(event) => setOption("consentSource", event.target.value)}
            />
          </label>
          <label className="field">
            <span className="field-label">Consent wording</span>
            <textarea
              name="consent_wording"
              className={problem && !options.consentWording.trim() ? "input textarea invalid" : "input textarea"}
              value={options.consentWording}
              required
              maxLength={2000}
              placeholder="I agree to receive news and offers from Acme."
              onChange={(event) => setOption("consentWording", event.target.value)}
            />
          </label>
        </div>
      )}
      <FieldError message={problem} />
    </fieldset>
  );
}
