import type {
  ColumnCustomField,
  ImportOptions,
  ImportPreview,
  ImportStart,
  SavedMapping,
  TargetOption,
} from "../api/client";
import { splitList } from "../filters/model";
import { keyFromLabel } from "../pages/CustomFields";

/**
 * The mapping step of an import as pure data: one target per column (or a new custom field), the options, and
 * the body of POST /api/imports/{id}/start built from them.
 */

/** The target of a column that is not imported. */
export const IGNORE = "ignore";
/** The select value of "New custom field…" (never sent: the column goes as `ignore` plus a new_custom_fields entry). */
export const NEW_FIELD = "__new_custom_field__";

export const FIELD_TYPES = ["text", "number", "date", "boolean", "choice"] as const;
export type FieldType = ColumnCustomField["type"];

export const DEDUPE_KEYS = [
  { value: "email", label: "Email" },
  { value: "phone", label: "Phone" },
  { value: "external_id", label: "External id" },
] as const;
export type DedupeKey = ImportOptions["dedupe_key"];

export const ON_DUPLICATE = [
  { value: "skip", label: "Skip the row" },
  { value: "update_empty", label: "Fill in empty fields" },
  { value: "overwrite", label: "Overwrite the lead" },
] as const;
export type OnDuplicate = ImportOptions["on_duplicate"];

export const DATE_ORDERS = [
  { value: "auto", label: "Detect from the file" },
  { value: "dmy", label: "Day first (31/12/2025)" },
  { value: "mdy", label: "Month first (12/31/2025)" },
] as const;
export type DateOrder = ImportOptions["date_order"];

export const CHANNELS = [
  { value: "email", label: "Email" },
  { value: "sms", label: "SMS" },
  { value: "whatsapp", label: "WhatsApp" },
] as const;
export type Channel = (typeof CHANNELS)[number]["value"];

/** A custom field the import creates, as the form holds it (choices as comma-separated text). */
export type NewFieldDraft = { key: string; label: string; type: FieldType; choices: string };

/** One column of the file: where it goes, and the new field it would create when the target is NEW_FIELD. */
export type ColumnMapping = { target: string; field: NewFieldDraft };

/** The options panel, as text and choices (turned into ImportOptions by `buildStartPayload`). */
export type OptionsForm = {
  dedupeKey: DedupeKey;
  onDuplicate: OnDuplicate;
  /** A list id, or "" for none. */
  listId: string;
  tags: string;
  consentChannels: Channel[];
  consentSource: string;
  consentWording: string;
  defaultRegion: string;
  /** A lead status, or "" to keep the workspace default. */
  defaultStatus: string;
  dateOrder: DateOrder;
  /** The lead source recorded on every new lead. */
  source: string;
  saveAs: string;
};

export function defaultOptions(): OptionsForm {
  return {
    dedupeKey: "email",
    onDuplicate: "skip",
    listId: "",
    tags: "",
    consentChannels: [],
    consentSource: "",
    consentWording: "",
    defaultRegion: "",
    defaultStatus: "",
    dateOrder: "auto",
    source: "import",
    saveAs: "",
  };
}

/** A problem to show next to the field the API (or the form) names, e.g. `mapping[3]`, `options.dedupe_key`. */
export type FieldProblem = { field: string; message: string };

/** Up to `count` non-empty sample values of a column. */
export function sampleValues(rows: readonly (readonly string[])[], column: number, count = 3): string[] {
  const values: string[] = [];
  for (const row of rows) {
    const value = row[column];
    if (value !== undefined && value.trim() !== "") values.push(value);
    if (values.length >= count) break;
  }
  return values;
}

/** A key for a new custom field made from a header ("Annual revenue (€)" → "annual_revenue"). */
export function fieldKeyFor(header: string, column: number): string {
  return keyFromLabel(header) || `column_${column + 1}`;
}

function draftFor(header: string, column: number, suggested?: ImportPreview["suggestions"][number]["new_custom_field"]): NewFieldDraft {
  if (suggested) {
    return {
      key: suggested.key,
      label: suggested.label || header,
      type: suggested.type,
      choices: (suggested.choices ?? []).join(", "),
    };
  }
  return { key: fieldKeyFor(header, column), label: header, type: "text", choices: "" };
}

/** The starting mapping: the server's suggestion per column (a target it no longer offers becomes `ignore`). */
export function initialMapping(preview: Pick<ImportPreview, "headers" | "suggestions" | "targets">): ColumnMapping[] {
  const known = new Set(preview.targets.map((t) => t.value));
  return preview.headers.map((header, column) => {
    const suggestion = preview.suggestions.find((s) => s.column === column);
    const target = suggestion && known.has(suggestion.target) ? suggestion.target : IGNORE;
    return { target, field: draftFor(header, column, suggestion?.new_custom_field) };
  });
}

function normalHeader(header: string): string {
  return header.trim().toLowerCase().replace(/\s+/g, " ");
}

export type AppliedMapping = {
  mapping: ColumnMapping[];
  /** Columns whose header the saved mapping knows. */
  matched: number;
  /** Saved targets this workspace no longer has (a deleted custom field): those columns are ignored. */
  unknownTargets: string[];
};

/**
 * Apply a saved mapping by header name (exact first, then ignoring case and spacing). Columns it does not know
 * keep their current target, unless a saved column now takes that target (a target is used once).
 */
export function applySavedMapping(
  headers: readonly string[],
  current: readonly ColumnMapping[],
  saved: Pick<SavedMapping, "columns">,
  targets: readonly Pick<TargetOption, "value">[],
): AppliedMapping {
  const known = new Set(targets.map((t) => t.value));
  const loose = new Map<string, string>();
  for (const [header, target] of Object.entries(saved.columns)) {
    const key = normalHeader(header);
    if (!loose.has(key)) loose.set(key, target);
  }
  const unknownTargets: string[] = [];
  let matched = 0;
  const fromSaved: (string | null)[] = headers.map((header) => {
    const target = Object.prototype.hasOwnProperty.call(saved.columns, header)
      ? saved.columns[header]
      : loose.get(normalHeader(header));
    if (target === undefined) return null;
    matched += 1;
    if (target !== IGNORE && !known.has(target)) {
      unknownTargets.push(target);
      return IGNORE;
    }
    return target;
  });
  const taken = new Set(fromSaved.filter((t): t is string => t !== null && t !== IGNORE));
  const mapping = headers.map((header, column) => {
    const old = current[column] ?? { target: IGNORE, field: draftFor(header, column) };
    const target = fromSaved[column];
    if (target !== null && target !== undefined) return { ...old, target };
    if (old.target !== IGNORE && old.target !== NEW_FIELD && taken.has(old.target)) return { ...old, target: IGNORE };
    return old;
  });
  return { mapping, matched, unknownTargets };
}

/** The options form filled from saved options (the mapping's name to save under is kept). */
export function optionsFromSaved(options: Partial<ImportOptions> | null | undefined, base: OptionsForm): OptionsForm {
  if (!options) return base;
  const consent = options.consent ?? null;
  return {
    ...base,
    dedupeKey: options.dedupe_key ?? base.dedupeKey,
    onDuplicate: options.on_duplicate ?? base.onDuplicate,
    listId: options.list_id ? String(options.list_id) : "",
    tags: (options.tags ?? []).join(", "),
    consentChannels: consent ? [...consent.channels] : [],
    consentSource: consent?.source ?? "",
    consentWording: consent?.wording ?? "",
    defaultRegion: options.default_region ?? "",
    defaultStatus: options.default_status ?? "",
    dateOrder: options.date_order ?? base.dateOrder,
    source: options.source ?? base.source,
  };
}

const KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const REGION_PATTERN = /^[A-Za-z]{2}$/;

export type StartPayload = {
  body: ImportStart;
  /** The column of each new_custom_fields entry, in order (to place `new_custom_fields[i]` errors). */
  newFieldColumns: number[];
};

/** The ImportOptions the form describes. */
export function buildOptions(form: OptionsForm): ImportOptions {
  const region = form.defaultRegion.trim();
  const listId = Number(form.listId);
  return {
    dedupe_key: form.dedupeKey,
    on_duplicate: form.onDuplicate,
    list_id: form.listId && Number.isInteger(listId) && listId > 0 ? listId : null,
    tags: splitList(form.tags),
    consent:
      form.consentChannels.length > 0
        ? {
            channels: CHANNELS.map((c) => c.value).filter((c) => form.consentChannels.includes(c)),
            source: form.consentSource.trim(),
            wording: form.consentWording.trim(),
          }
        : null,
    default_region: region ? region.toUpperCase() : null,
    default_status: form.defaultStatus || null,
    date_order: form.dateOrder,
    source: form.source.trim() || "import",
  };
}

/**
 * The body of POST /api/imports/{id}/start, or the first problem the server would refuse it for
 * (same `field` paths as its 422 answers, so both are shown the same way).
 */
export function buildStartPayload(
  mapping: readonly ColumnMapping[],
  form: OptionsForm,
): StartPayload | { problem: FieldProblem } {
  const targets: string[] = [];
  const newFields: ColumnCustomField[] = [];
  const newFieldColumns: number[] = [];
  const used = new Map<string, number>();
  const newKeys = new Map<string, number>();

  for (const [column, entry] of mapping.entries()) {
    if (entry.target !== NEW_FIELD) {
      if (entry.target !== IGNORE) {
        const first = used.get(entry.target);
        if (first !== undefined) {
          return {
            problem: { field: `mapping[${column}]`, message: `${entry.target} is already mapped from column ${first + 1}` },
          };
        }
        used.set(entry.target, column);
      }
      targets.push(entry.target);
      continue;
    }
    const index = newFields.length;
    const path = `new_custom_fields[${index}]`;
    const key = entry.field.key.trim();
    if (!KEY_PATTERN.test(key)) {
      return { problem: { field: `${path}.key`, message: "Use lower-case letters, digits and _, starting with a letter." } };
    }
    if (used.has(`custom.${key}`) || newKeys.has(key)) {
      return { problem: { field: `${path}.key`, message: `Another column already goes to ${key}.` } };
    }
    const choices = entry.field.type === "choice" ? splitList(entry.field.choices) : [];
    if (entry.field.type === "choice" && choices.length === 0) {
      return { problem: { field: `${path}.choices`, message: "A choice field needs choices (comma separated)." } };
    }
    newKeys.set(key, column);
    newFields.push({ column, key, label: entry.field.label.trim() || key, type: entry.field.type, choices });
    newFieldColumns.push(column);
    targets.push(IGNORE);
  }
  // A custom target chosen for one column and created from another would collide on the server too.
  for (const key of newKeys.keys()) {
    const other = used.get(`custom.${key}`);
    if (other !== undefined) {
      return { problem: { field: `mapping[${other}]`, message: `custom.${key} is also created from another column` } };
    }
  }

  if (!used.has(form.dedupeKey)) {
    const label = DEDUPE_KEYS.find((k) => k.value === form.dedupeKey)?.label ?? form.dedupeKey;
    return { problem: { field: "options.dedupe_key", message: `No column is mapped to ${label}: map one or choose another key.` } };
  }
  const tags = splitList(form.tags);
  if (tags.length > 20) return { problem: { field: "options.tags", message: "At most 20 tags." } };
  if (tags.some((tag) => tag.length > 64)) return { problem: { field: "options.tags", message: "A tag has at most 64 characters." } };
  if (form.consentChannels.length > 0) {
    if (!form.consentSource.trim()) {
      return { problem: { field: "options.consent.source", message: "Say where the consent was collected." } };
    }
    if (!form.consentWording.trim()) {
      return { problem: { field: "options.consent.wording", message: "Give the wording the leads agreed to." } };
    }
  }
  const region = form.defaultRegion.trim();
  if (region && !REGION_PATTERN.test(region)) {
    return { problem: { field: "options.default_region", message: "A two-letter country code, e.g. US or FR." } };
  }

  const body: ImportStart = { mapping: targets, new_custom_fields: newFields, options: buildOptions(form) };
  const saveAs = form.saveAs.trim();
  if (saveAs) body.save_mapping_as = saveAs;
  return { body, newFieldColumns };
}

/** Where a problem belongs on the mapping step. */
export type ProblemPlace =
  | { kind: "column"; column: number; part: "target" | "key" | "label" | "type" | "choices" }
  | { kind: "option"; name: string }
  | { kind: "general" };

/**
 * Place a `field` path of a 422 (the API writes `mapping[3]`; its schema validation writes `mapping.3`) on the
 * column or option it is about; anything else is shown above the form.
 */
export function placeProblem(field: string | null | undefined, newFieldColumns: readonly number[], columns: number): ProblemPlace {
  if (!field) return { kind: "general" };
  const path = field.replace(/\.(\d+)(?=\.|\[|$)/g, "[$1]");
  const target = /^mapping\[(\d+)\]/.exec(path);
  if (target) {
    const column = Number(target[1]);
    return column < columns ? { kind: "column", column, part: "target" } : { kind: "general" };
  }
  const created = /^new_custom_fields\[(\d+)\](?:\.(\w+))?/.exec(path);
  if (created) {
    const column = newFieldColumns[Number(created[1])];
    if (column === undefined) return { kind: "general" };
    const part = created[2];
    if (part === "label" || part === "type" || part === "choices" || part === "key") return { kind: "column", column, part };
    return { kind: "column", column, part: part === "column" ? "target" : "key" };
  }
  const option = /^options\.(\w+)/.exec(path);
  if (option?.[1]) return { kind: "option", name: option[1] };
  if (path.startsWith("save_mapping_as")) return { kind: "option", name: "save_mapping_as" };
  return { kind: "general" };
}

/** Statuses in which an import is still working (its progress is polled). */
export function isImportActive(status: string | null | undefined): boolean {
  return status === "queued" || status === "running";
}

/** Statuses after which nothing changes any more. */
export function isImportFinished(status: string | null | undefined): boolean {
  return status === "completed" || status === "cancelled" || status === "failed";
}

/** Whether the error report has rows: duplicates skipped and rows refused. */
export function hasErrorReport(counts: { skipped: number; rejected: number; reported?: number }): boolean {
  // `reported` counts the rows in the report; leads skipped because they already exist are not in it.
  if (counts.reported !== undefined) return counts.reported > 0;
  return counts.skipped + counts.rejected > 0;
}

/** "1.2 MB" */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
