/**
 * Scheduled reports (docs/scheduled-reports.md): the form's draft and the request bodies it becomes, the words for
 * a schedule, a selection and a run, and where a 422's `field` points in the form. Pure functions, tested in
 * reports.test.ts.
 */

import type { components } from "../api/schema";

type Schemas = components["schemas"];
export type ReportDefinition = Schemas["ReportDefinitionOut"];
export type ReportDefinitionIn = Schemas["ReportDefinitionIn"];
export type ReportDefinitionPatch = Schemas["ReportDefinitionPatch"];
export type ReportOptions = Schemas["ReportOptionsOut"];
export type ReportRun = Schemas["ReportRunOut"];
export type MetricOption = Schemas["MetricOption"];
export type Period = ReportDefinitionIn["period"];
export type Cadence = ReportDefinitionIn["cadence"];
export type Weekday = NonNullable<ReportDefinitionIn["weekday"]>;

/** How often the run history and the list are asked again while a run is queued or running. */
export const RUN_POLL_MS = 3000;

/** What the form holds: the selection as a choice between campaigns and a tag, the time as "HH:MM", the
 * recipients as typed. */
export type ReportDraft = {
  name: string;
  selection: "campaigns" | "tag";
  campaign_ids: number[];
  tag: string;
  metrics: string[];
  period: Period;
  cadence: Cadence;
  time: string;
  weekday: Weekday;
  day_of_month: number;
  recipients: string;
  enabled: boolean;
};

export function emptyDraft(options: Pick<ReportOptions, "metrics"> | undefined): ReportDraft {
  return {
    name: "",
    selection: "campaigns",
    campaign_ids: [],
    tag: "",
    metrics: (options?.metrics ?? []).filter((m) => m.default).map((m) => m.key),
    period: "last_7_days",
    cadence: "weekly",
    time: "08:00",
    weekday: "monday",
    day_of_month: 1,
    recipients: "",
    enabled: true,
  };
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** 8, 5 -> "08:05" */
export function clock(hour: number, minute: number): string {
  return `${pad(hour)}:${pad(minute)}`;
}

export function draftFromDefinition(definition: ReportDefinition): ReportDraft {
  return {
    name: definition.name,
    selection: definition.tag ? "tag" : "campaigns",
    campaign_ids: [...definition.campaign_ids],
    tag: definition.tag ?? "",
    metrics: [...definition.metrics],
    period: definition.period as Period,
    cadence: definition.cadence as Cadence,
    time: clock(definition.hour, definition.minute),
    weekday: (definition.weekday ?? "monday") as Weekday,
    day_of_month: definition.day_of_month ?? 1,
    recipients: definition.recipients.join("\n"),
    enabled: definition.enabled,
  };
}

/** The addresses typed, one per line (commas and semicolons separate too), blanks left out. The API checks them
 * and names a bad one by its position in this list (`recipients[1]`). */
export function parseRecipients(text: string): string[] {
  return text
    .split(/[\n,;]+/)
    .map((address) => address.trim())
    .filter((address) => address !== "");
}

/** "HH:MM" -> hour and minute; an unreadable time is sent as is and refused by the API (field `hour`). */
export function parseClock(time: string): { hour: number; minute: number } {
  const match = /^(\d{1,2}):(\d{2})/.exec(time.trim());
  if (!match) return { hour: -1, minute: -1 };
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/** A metric ticked or unticked: a ticked one goes right after the last chosen metric that precedes it in the
 * catalogue (first when none does), so the chosen order, which is the report's column order, is kept. */
export function toggleMetric(chosen: string[], key: string, catalogue: readonly { key: string }[]): string[] {
  if (chosen.includes(key)) return chosen.filter((k) => k !== key);
  const order = catalogue.map((m) => m.key);
  const position = order.indexOf(key);
  if (position < 0) return [...chosen, key];
  let after = -1;
  chosen.forEach((k, index) => {
    const at = order.indexOf(k);
    if (at >= 0 && at < position) after = index;
  });
  return [...chosen.slice(0, after + 1), key, ...chosen.slice(after + 1)];
}

/** The body of POST /api/reports: campaigns or a tag, and only the cadence's own day. */
export function draftToBody(draft: ReportDraft): ReportDefinitionIn {
  const { hour, minute } = parseClock(draft.time);
  const byTag = draft.selection === "tag";
  return {
    name: draft.name.trim(),
    campaign_ids: byTag ? [] : [...draft.campaign_ids],
    tag: byTag ? draft.tag.trim() || null : null,
    metrics: [...draft.metrics],
    period: draft.period,
    cadence: draft.cadence,
    hour,
    minute,
    weekday: draft.cadence === "weekly" ? draft.weekday : null,
    day_of_month: draft.cadence === "monthly" ? draft.day_of_month : null,
    recipients: parseRecipients(draft.recipients),
    enabled: draft.enabled,
  };
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The body of PATCH /api/reports/{id}: only what changed. The selection goes whole (campaigns with `tag: null`,
 * or a tag with no campaigns), and so does the cadence with its day, since the API drops the day of a cadence
 * that changes. `{}` when nothing changed.
 */
export function patchBody(definition: ReportDefinition, draft: ReportDraft): ReportDefinitionPatch {
  const body = draftToBody(draft);
  const patch: ReportDefinitionPatch = {};
  if (body.name !== definition.name) patch.name = body.name;
  if (!same(body.campaign_ids, definition.campaign_ids) || (body.tag ?? null) !== (definition.tag ?? null)) {
    patch.campaign_ids = body.campaign_ids;
    patch.tag = body.tag;
  }
  if (!same(body.metrics, definition.metrics)) patch.metrics = body.metrics;
  if (body.period !== definition.period) patch.period = body.period;
  if (
    body.cadence !== definition.cadence ||
    (body.weekday ?? null) !== definition.weekday ||
    (body.day_of_month ?? null) !== definition.day_of_month
  ) {
    patch.cadence = body.cadence;
    patch.weekday = body.weekday;
    patch.day_of_month = body.day_of_month;
  }
  if (body.hour !== definition.hour) patch.hour = body.hour;
  if (body.minute !== definition.minute) patch.minute = body.minute;
  if (!same(body.recipients, definition.recipients)) patch.recipients = body.recipients;
  if (body.enabled !== definition.enabled) patch.enabled = body.enabled;
  return patch;
}

/** The parts of the form a 422 can point at. */
export type FormField = "name" | "selection" | "metrics" | "period" | "cadence" | "time" | "weekday" | "day_of_month" | "recipients" | "enabled";

/**
 * Where an error's `field` belongs in the form, and which item of a list it names: `recipients[1]` is the
 * recipients box (its second address), `campaign_ids[2]` and `tag` the selection, `hour` and `minute` the time.
 * Null for anything else (the error is then shown under the form).
 */
export function errorField(field: string | null | undefined): { field: FormField; index: number | null } | null {
  if (!field) return null;
  const match = /^([a-z_]+)(?:\[(\d+)\])?/.exec(field);
  if (!match) return null;
  const base = match[1] ?? "";
  const index = match[2] === undefined ? null : Number(match[2]);
  switch (base) {
    case "campaign_ids":
    case "tag":
      return { field: "selection", index };
    case "hour":
    case "minute":
      return { field: "time", index: null };
    case "name":
    case "metrics":
    case "period":
    case "cadence":
    case "weekday":
    case "day_of_month":
    case "recipients":
    case "enabled":
      return { field: base, index };
    default:
      return null;
  }
}

function capitalised(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** 1 -> "1st", 22 -> "22nd", 13 -> "13th" */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
  return `${n}${suffix}`;
}

type CadenceFields = Pick<ReportDefinition, "cadence" | "hour" | "minute" | "weekday" | "day_of_month">;

/** "Weekly on Monday at 08:00 Europe/Paris", "Daily at 07:30 UTC", "Monthly on the 1st at 06:00 UTC". */
export function describeCadence(definition: CadenceFields, timezone: string): string {
  const at = `at ${clock(definition.hour, definition.minute)} ${timezone}`;
  if (definition.cadence === "weekly") return `Weekly on ${capitalised(definition.weekday ?? "?")} ${at}`;
  if (definition.cadence === "monthly") return `Monthly on the ${ordinal(definition.day_of_month ?? 0)} ${at}`;
  return `Daily ${at}`;
}

/** What a report covers: "Tag “spring”", a campaign's name, two names, or "5 campaigns". */
export function describeSelection(
  definition: Pick<ReportDefinition, "campaign_ids" | "tag">,
  names: ReadonlyMap<number, string>,
): string {
  if (definition.tag) return `Tag “${definition.tag}”`;
  const ids = definition.campaign_ids;
  const known = ids.map((id) => names.get(id));
  if (ids.length > 0 && ids.length <= 2 && known.every((name) => name !== undefined)) return known.join(", ");
  return `${ids.length} campaign${ids.length === 1 ? "" : "s"}`;
}

export function periodLabel(period: string, periods: readonly { key: string; label: string }[]): string {
  return periods.find((p) => p.key === period)?.label ?? period.replace(/_/g, " ");
}

/** A run still to finish: the history and the list are asked again until it has. */
export function isRunActive(run: Pick<ReportRun, "status"> | null | undefined): boolean {
  return run?.status === "queued" || run?.status === "running";
}

/** The poll interval while any of the runs is active, else false. */
export function runPollInterval(runs: readonly (Pick<ReportRun, "status"> | null | undefined)[] | undefined): number | false {
  return (runs ?? []).some(isRunActive) ? RUN_POLL_MS : false;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

/** A calendar day ("2026-03-02") as a date, without moving it through the browser's timezone. */
export function formatDay(day: string | null | undefined, format: Intl.DateTimeFormat = dayFormat): string {
  if (!day) return "—";
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!match) return day;
  return format.format(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))));
}

/** The run's period, "2 Mar 2026 – 8 Mar 2026" (one day: that day). */
export function describePeriod(run: Pick<ReportRun, "first_day" | "last_day">, format?: Intl.DateTimeFormat): string {
  if (!run.first_day) return "—";
  const first = formatDay(run.first_day, format);
  if (!run.last_day || run.last_day === run.first_day) return first;
  return `${first} – ${formatDay(run.last_day, format)}`;
}

/** An instant on the clock of a timezone (the report's), e.g. "Mon, 3 Aug 2026, 08:00". */
export function formatInZone(instant: string | null | undefined, timeZone: string, locale?: string): string {
  if (!instant) return "—";
  const date = new Date(instant);
  if (Number.isNaN(date.getTime())) return "—";
  try {
    return new Intl.DateTimeFormat(locale, {
      timeZone,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).format(date);
  } catch {
    return date.toISOString();
  }
}

/** A total as the report writes it: counts with separators, rates as percentages, money with two decimals. */
export function formatTotal(value: number | null | undefined, kind: MetricOption["kind"] | undefined): string {
  if (value === null || value === undefined) return "–";
  if (kind === "rate") return `${(Math.round(value * 1000) / 10).toFixed(1)}%`;
  if (kind === "money") return value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return value.toLocaleString("en-US");
}

/** The first few totals of a run, "Sent 9 · Open rate 50.0%", in the run's column order. */
export function describeTotals(run: Pick<ReportRun, "metrics" | "totals">, catalogue: readonly MetricOption[], count = 3): string {
  const byKey = new Map(catalogue.map((m) => [m.key, m]));
  return run.metrics
    .filter((key) => key in run.totals)
    .slice(0, count)
    .map((key) => `${byKey.get(key)?.label ?? key} ${formatTotal(run.totals[key], byKey.get(key)?.kind)}`)
    .join(" · ");
}

/** The link that shows a run's HTML summary in the browser (sandboxed by the API's CSP). */
export function inlineHtmlUrl(htmlUrl: string): string {
  return `${htmlUrl}${htmlUrl.includes("?") ? "&" : "?"}disposition=inline`;
}
