import type { LeadEvent } from "../api/client";

export const FIELD_LABELS: Record<string, string> = {
  email: "Email",
  phone: "Phone",
  first_name: "First name",
  last_name: "Last name",
  company: "Company",
  job_title: "Job title",
  status: "Status",
  score: "Score",
  owner_id: "Owner",
  source: "Source",
  tags: "Tags",
  timezone: "Time zone",
  locale: "Locale",
  country: "Country",
  external_id: "External ID",
  custom_fields: "Custom fields",
};

/** A value in a sentence: "—" for nothing, quotes around text, lists joined. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (Array.isArray(value)) return value.length === 0 ? "—" : value.map((v) => showValue(v)).join(", ");
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? "—" : entries.map(([k, v]) => `${k}: ${showValue(v)}`).join(", ");
  }
  if (typeof value === "string") return `“${value}”`;
  return String(value);
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : value === undefined || value === null ? [] : [String(value)];
}

/** "added_to_list" -> "Added to list" */
export function humanize(type: string): string {
  const words = type.replace(/[._]+/g, " ").trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : "Event";
}

export type EventText = { text: string; listId?: number };

/** Names for what events refer to by id or key. */
export type EventNames = {
  list?: (id: number) => string | undefined;
  customField?: (key: string) => string | undefined;
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** "Plan tier set to “gold”; Region changed from “EU” to “US”" for a change of the custom_fields object. */
function customChanges(from: unknown, to: unknown, label: (key: string) => string): string {
  const before = isObject(from) ? from : {};
  const after = isObject(to) ? to : {};
  const parts: string[] = [];
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const a = before[key] ?? null;
    const b = after[key] ?? null;
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (b === null) parts.push(`${label(key)} cleared`);
    else if (a === null) parts.push(`${label(key)} set to ${showValue(b)}`);
    else parts.push(`${label(key)} changed from ${showValue(a)} to ${showValue(b)}`);
  }
  return parts.length > 0 ? parts.join("; ") : "Custom fields changed";
}

/** One line for a timeline event, naming the lists and custom fields it refers to when `names` knows them. */
export function describeEvent(event: Pick<LeadEvent, "type" | "data">, names: EventNames = {}): EventText {
  const data = (event.data ?? {}) as Record<string, unknown>;
  const listName = names.list;
  switch (event.type) {
    case "created":
      return { text: data.source ? `Created (source: ${String(data.source)})` : "Created" };
    case "status_changed":
      return {
        text:
          data.from === undefined || data.from === null
            ? `Status set to ${String(data.to)}`
            : `Status changed from ${String(data.from)} to ${String(data.to)}`,
      };
    case "tagged":
    case "untagged": {
      const tags = asStrings(data.tags);
      const verb = event.type === "tagged" ? "Tagged" : "Untagged";
      return { text: tags.length ? `${verb} ${tags.join(", ")}` : verb };
    }
    case "added_to_list":
    case "removed_from_list": {
      const id = typeof data.list_id === "number" ? data.list_id : Number(data.list_id);
      const name = Number.isFinite(id) ? listName?.(id) : undefined;
      const verb = event.type === "added_to_list" ? "Added to list" : "Removed from list";
      return { text: `${verb} ${name ?? `#${String(data.list_id)}`}`, listId: Number.isFinite(id) ? id : undefined };
    }
    case "field_changed": {
      const field = String(data.field ?? "");
      const label = FIELD_LABELS[field] ?? (field.startsWith("custom.") ? field.slice(7) : field || "A field");
      if (field === "custom_fields") {
        return { text: customChanges(data.from, data.to, (key) => names.customField?.(key) ?? key) };
      }
      if (field === "owner_id") {
        return { text: data.to === null || data.to === undefined ? "Owner cleared" : `Owner set to user #${String(data.to)}` };
      }
      if (!("from" in data)) return { text: `${label} set to ${showValue(data.to)}` };
      return { text: `${label} changed from ${showValue(data.from)} to ${showValue(data.to)}` };
    }
    default: {
      const details = Object.keys(data).length ? ` (${showValue(data)})` : "";
      return { text: `${humanize(event.type)}${details}` };
    }
  }
}
