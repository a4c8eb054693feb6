import type { CustomField, Lead, LeadSort } from "../api/client";

/** A column of the leads table besides the name (always shown); custom fields are "custom.<key>". */
export type Column = { id: string; label: string; sort?: LeadSort; numeric?: boolean };

export const STANDARD_COLUMNS: readonly Column[] = [
  { id: "email", label: "Email", sort: "email" },
  { id: "phone", label: "Phone" },
  { id: "company", label: "Company", sort: "company" },
  { id: "job_title", label: "Job title" },
  { id: "status", label: "Status", sort: "status" },
  { id: "score", label: "Score", sort: "score", numeric: true },
  { id: "owner_id", label: "Owner" },
  { id: "source", label: "Source" },
  { id: "tags", label: "Tags" },
  { id: "country", label: "Country" },
  { id: "timezone", label: "Time zone" },
  { id: "locale", label: "Locale" },
  { id: "consent_email", label: "Email consent" },
  { id: "consent_sms", label: "SMS consent" },
  { id: "consent_whatsapp", label: "WhatsApp consent" },
  { id: "external_id", label: "External ID" },
  { id: "created_at", label: "Created", sort: "created_at" },
  { id: "updated_at", label: "Updated", sort: "updated_at" },
];

export const DEFAULT_COLUMNS: readonly string[] = [
  "email",
  "phone",
  "status",
  "score",
  "tags",
  "consent_email",
  "created_at",
];

export const COLUMNS_STORAGE_KEY = "herald.leads.columns";

/** Standard columns, then one per custom field. */
export function availableColumns(customFields: readonly CustomField[] | undefined): Column[] {
  return [
    ...STANDARD_COLUMNS,
    ...(customFields ?? []).map((field) => ({
      id: `custom.${field.key}`,
      label: field.label,
      numeric: field.type === "number",
    })),
  ];
}

/** The stored choice (ids in any order), or the defaults when nothing usable is stored. */
export function parseColumns(raw: string | null): string[] {
  if (raw) {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === "string")) return parsed;
    } catch {
      // fall through to the defaults
    }
  }
  return [...DEFAULT_COLUMNS];
}

export function loadColumns(storage: Pick<Storage, "getItem"> | null | undefined): string[] {
  try {
    return parseColumns(storage?.getItem(COLUMNS_STORAGE_KEY) ?? null);
  } catch {
    return [...DEFAULT_COLUMNS];
  }
}

export function saveColumns(storage: Pick<Storage, "setItem"> | null | undefined, ids: readonly string[]): void {
  try {
    storage?.setItem(COLUMNS_STORAGE_KEY, JSON.stringify(ids));
  } catch {
    // private mode or full storage: the choice lasts until the page reloads
  }
}

/** The chosen columns that exist, in the table's order (ids of deleted custom fields are skipped). */
export function visibleColumns(available: readonly Column[], chosen: readonly string[]): Column[] {
  const wanted = new Set(chosen);
  return available.filter((column) => wanted.has(column.id));
}

/** Add or remove one column from the choice. */
export function toggleColumn(chosen: readonly string[], id: string): string[] {
  return chosen.includes(id) ? chosen.filter((c) => c !== id) : [...chosen, id];
}

/** "Ada Lovelace", else the email, else the phone, else "Lead #12". */
export function leadName(lead: Pick<Lead, "id" | "first_name" | "last_name" | "email" | "phone">): string {
  const name = `${lead.first_name ?? ""} ${lead.last_name ?? ""}`.trim();
  return name || lead.email || lead.phone || `Lead #${lead.id}`;
}

/** A custom field value as text for a table cell. */
export function customText(value: unknown): string {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
