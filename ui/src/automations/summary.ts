import { WEEKDAYS } from "./catalogue";
import { configOf, isRecord, type DraftNode } from "./model";

/** Names of the workspace's things, for the one-line summary on each node (undefined: not loaded, or unknown). */
export type Names = {
  template?: (id: number) => string | undefined;
  list?: (id: number) => string | undefined;
  user?: (id: number) => string | undefined;
  campaign?: (id: number) => string | undefined;
};

const CHANNEL: Record<string, string> = { email: "Email", sms: "SMS", whatsapp: "WhatsApp" };

const num = (value: unknown): number | null => (typeof value === "number" && Number.isFinite(value) ? value : null);
const text = (value: unknown): string | null => (typeof value === "string" && value.trim() !== "" ? value : null);

function named(kind: string, id: unknown, lookup?: (id: number) => string | undefined): string {
  const n = num(id);
  if (n === null) return `no ${kind}`;
  return lookup?.(n) ?? `${kind} ${n}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** "2 days", "1 day 6 hours", "90 minutes"; "no duration" for zero or nonsense. */
export function formatDuration(value: unknown): string {
  if (!isRecord(value)) return "no duration";
  const parts: string[] = [];
  const days = num(value.days) ?? 0;
  const hours = num(value.hours) ?? 0;
  const minutes = num(value.minutes) ?? 0;
  if (days) parts.push(plural(days, "day"));
  if (hours) parts.push(plural(hours, "hour"));
  if (minutes) parts.push(plural(minutes, "minute"));
  return parts.length ? parts.join(" ") : "no duration";
}

function offset(days: unknown): string {
  const n = num(days) ?? 0;
  if (n === 0) return "";
  return n > 0 ? ` + ${plural(n, "day")}` : ` − ${plural(-n, "day")}`;
}

function weekdays(value: unknown): string {
  if (!Array.isArray(value) || value.length === 0 || value.length >= 7) return "";
  return ` (${value.map((d) => WEEKDAYS[Number(d)] ?? "?").join(", ")})`;
}

export function eventSummary(event: unknown): string {
  if (!isRecord(event)) return "an event";
  switch (event.kind) {
    case "opened":
    case "clicked":
      return `${event.kind} ${text(event.node) ?? "a send"}`;
    case "external_event":
      return `event ${text(event.name) ?? "?"}`;
    case "status_changed":
      return text(event.to_status) ? `status → ${String(event.to_status)}` : "any status change";
    case "tag_added":
      return `tag ${text(event.tag) ?? "?"} added`;
    case "converted":
      return "a conversion";
    default:
      return "an event";
  }
}

function countRules(filter: unknown): number {
  if (!isRecord(filter) || !Array.isArray(filter.rules)) return 0;
  return filter.rules.reduce<number>((n, rule) => n + (isRecord(rule) && Array.isArray(rule.rules) ? countRules(rule) : 1), 0);
}

function filterSummary(filter: unknown): string {
  const n = countRules(filter);
  return n === 0 ? "every lead" : plural(n, "rule");
}

/** One line saying what the node does, for the canvas. */
export function summary(node: Pick<DraftNode, "type" | "config">, names: Names = {}): string {
  const c = configOf(node);
  switch (node.type) {
    case "lead_status_changed":
      return `${text(c.from_status) ? `${String(c.from_status)} ` : ""}→ ${text(c.to_status) ?? "choose a status"}`;
    case "lead_created":
      return Array.isArray(c.sources) && c.sources.length ? `from ${c.sources.join(", ")}` : "from any source";
    case "added_to_list":
    case "add_to_list":
    case "remove_from_list":
      return named("list", c.list_id, names.list);
    case "tag_added":
    case "add_tag":
    case "remove_tag":
      return text(c.tag) ? `#${String(c.tag)}` : "no tag";
    case "custom_field_changed":
      return `${text(c.field) ?? "a field"}${c.to_value !== undefined && c.to_value !== null ? ` → ${JSON.stringify(c.to_value)}` : " changes"}`;
    case "external_event":
      return text(c.event) ?? "no event name";
    case "campaign_interaction":
      return `${text(c.interaction) ?? "?"} · ${c.campaign_id == null ? "any campaign" : named("campaign", c.campaign_id, names.campaign)}`;
    case "date_field":
      return `${text(c.field) ?? "a date field"}${offset(c.offset_days)} at ${text(c.time) ?? "09:00"}${c.every_year ? ", yearly" : ""}`;
    case "recurring_schedule": {
      const when = c.frequency === "weekly" ? `weekly on ${WEEKDAYS[num(c.weekday) ?? -1] ?? "?"}` : c.frequency === "monthly" ? `monthly on day ${num(c.day_of_month) ?? "?"}` : "daily";
      return `${when} at ${text(c.time) ?? "?"} · ${filterSummary(c.filter)}`;
    }
    case "filter":
      return filterSummary(c.filter);
    case "engagement":
      return `${text(c.event) ?? "opened"} ${text(c.node) ?? "a send"}?`;
    case "random_split":
      return Array.isArray(c.branches)
        ? c.branches.map((b) => (isRecord(b) ? `${String(b.key ?? "?")} ${num(b.percent) ?? "?"}%` : "?")).join(" · ")
        : "no branches";
    case "send_message":
      return `${CHANNEL[String(c.channel)] ?? "?"} · ${named("template", c.template_id, names.template)}${num(c.template_version) ? ` v${String(c.template_version)}` : ""}`;
    case "update_field":
      return `${text(c.field) ?? "a field"} ${c.operation === "increment" ? "+" : "="} ${JSON.stringify(c.value ?? null)}`;
    case "assign_owner":
      return c.mode === "round_robin"
        ? `round robin · ${plural(Array.isArray(c.user_ids) ? c.user_ids.length : 0, "user")}`
        : named("user", c.user_id, names.user);
    case "notify_user":
      return `${c.recipient === "user" ? named("user", c.user_id, names.user) : "the owner"}: ${text(c.subject) ?? "no subject"}`;
    case "call_webhook": {
      let host = "";
      try {
        host = new URL(String(c.url)).host;
      } catch {
        host = "no URL";
      }
      return `${text(c.method) ?? "POST"} ${host}`;
    }
    case "start_automation":
      return num(c.automation_id) ? `automation ${String(c.automation_id)}` : "no automation";
    case "exit":
      return "the lead leaves";
    case "wait_duration":
      return formatDuration(c.duration);
    case "wait_until_time_of_day":
      return `until ${text(c.time) ?? "?"}${weekdays(c.weekdays)}`;
    case "wait_until_date_field":
      return `until ${text(c.field) ?? "a date field"}${offset(c.offset_days)}${c.every_year ? ", yearly" : ""}`;
    case "wait_for_event":
      return `${eventSummary(c.event)}, up to ${formatDuration(c.timeout)}`;
  }
}
