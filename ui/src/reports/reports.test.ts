import { describe, expect, it } from "vitest";
import { visibleNavItems } from "../components/Layout";
import { pathAfterSwitch } from "../session";
import {
  RUN_POLL_MS,
  describeCadence,
  describePeriod,
  describeSelection,
  describeTotals,
  draftFromDefinition,
  draftToBody,
  emptyDraft,
  errorField,
  formatDay,
  formatInZone,
  formatTotal,
  inlineHtmlUrl,
  ordinal,
  parseClock,
  parseRecipients,
  patchBody,
  periodLabel,
  runPollInterval,
  toggleMetric,
  type MetricOption,
  type ReportDefinition,
  type ReportDraft,
  type ReportRun,
} from "./model";

const CATALOGUE: MetricOption[] = [
  { key: "sent", label: "Sent", kind: "count", description: "", default: true },
  { key: "delivered", label: "Delivered", kind: "count", description: "", default: true },
  { key: "opens", label: "Opens", kind: "count", description: "", default: false },
  { key: "open_rate", label: "Open rate", kind: "rate", description: "", default: true },
  { key: "revenue", label: "Revenue", kind: "money", description: "", default: false },
];

const DEFINITION: ReportDefinition = {
  id: 7,
  name: "Weekly spring",
  campaign_ids: [3, 4],
  tag: null,
  metrics: ["sent", "open_rate"],
  period: "last_7_days",
  cadence: "weekly",
  hour: 7,
  minute: 30,
  weekday: "monday",
  day_of_month: null,
  timezone: "Europe/Paris",
  recipients: ["ann@example.com", "bob@example.com"],
  enabled: true,
  created_by: 1,
  created_at: "2026-03-01T10:00:00Z",
  updated_at: "2026-03-01T10:00:00Z",
  schedule_id: "report-7",
  next_run_at: "2026-03-02T06:30:00Z",
  last_run: null,
};

function run(overrides: Partial<ReportRun> = {}): ReportRun {
  return {
    id: 1,
    definition_id: 7,
    workflow_id: "report-7-manual-2026-03-03T10:00:00Z",
    trigger: "manual",
    status: "ready",
    run_at: "2026-03-03T10:00:00Z",
    period_start: "2026-02-23T23:00:00Z",
    period_end: "2026-03-02T23:00:00Z",
    first_day: "2026-02-24",
    last_day: "2026-03-02",
    timezone: "Europe/Paris",
    metrics: ["sent", "open_rate", "revenue", "opens"],
    totals: { sent: 1234, open_rate: 0.5, revenue: 30, opens: 5 },
    campaign_count: 2,
    recipients: ["ann@example.com"],
    emailed_to: ["ann@example.com"],
    email_failures: {},
    error: null,
    created_at: "2026-03-03T10:00:00Z",
    started_at: "2026-03-03T10:00:01Z",
    finished_at: "2026-03-03T10:00:04Z",
    csv_url: "/api/reports/7/runs/1/csv",
    html_url: "/api/reports/7/runs/1/html",
    ...overrides,
  };
}

describe("schedule in words", () => {
  it("says the cadence, the day, the time and the timezone", () => {
    expect(describeCadence(DEFINITION, "Europe/Paris")).toBe("Weekly on Monday at 07:30 Europe/Paris");
    expect(describeCadence({ ...DEFINITION, cadence: "daily", weekday: null, hour: 18, minute: 5 }, "UTC")).toBe(
      "Daily at 18:05 UTC",
    );
    expect(describeCadence({ ...DEFINITION, cadence: "monthly", weekday: null, day_of_month: 1, hour: 6, minute: 0 }, "UTC")).toBe(
      "Monthly on the 1st at 06:00 UTC",
    );
    expect(describeCadence({ ...DEFINITION, cadence: "monthly", weekday: null, day_of_month: 22 }, "UTC")).toContain("the 22nd");
  });

  it("writes ordinals", () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 28].map(ordinal)).toEqual([
      "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "28th",
    ]);
  });

  it("shows an instant on the report's clock", () => {
    expect(formatInZone("2026-03-02T06:30:00Z", "Europe/Paris", "en-GB")).toContain("07:30");
    expect(formatInZone("2026-03-02T06:30:00Z", "America/New_York", "en-GB")).toContain("01:30");
    expect(formatInZone(null, "UTC")).toBe("—");
  });

  it("names what a report covers", () => {
    const names = new Map([
      [3, "Spring sale"],
      [4, "Spring news"],
    ]);
    expect(describeSelection(DEFINITION, names)).toBe("Spring sale, Spring news");
    expect(describeSelection({ campaign_ids: [3], tag: null }, names)).toBe("Spring sale");
    expect(describeSelection({ campaign_ids: [3, 4, 5], tag: null }, names)).toBe("3 campaigns");
    expect(describeSelection({ campaign_ids: [9], tag: null }, names)).toBe("1 campaign");
    expect(describeSelection({ campaign_ids: [], tag: "spring" }, names)).toBe("Tag “spring”");
    expect(periodLabel("last_7_days", [{ key: "last_7_days", label: "Last 7 days" }])).toBe("Last 7 days");
    expect(periodLabel("previous_month", [])).toBe("previous month");
  });
});

describe("form to request", () => {
  const draft = (overrides: Partial<ReportDraft> = {}): ReportDraft => ({ ...emptyDraft({ metrics: CATALOGUE }), ...overrides });

  it("starts with the default metrics, weekly on Monday at 08:00", () => {
    const empty = emptyDraft({ metrics: CATALOGUE });
    expect(empty.metrics).toEqual(["sent", "delivered", "open_rate"]);
    expect([empty.cadence, empty.weekday, empty.time, empty.period, empty.enabled]).toEqual([
      "weekly", "monday", "08:00", "last_7_days", true,
    ]);
  });

  it("sends campaigns or a tag, and only the cadence's own day", () => {
    const weekly = draftToBody(
      draft({ name: "  Weekly ", campaign_ids: [3, 4], tag: "ignored", time: "07:30", recipients: "ann@example.com\n bob@example.com ,\n\n" }),
    );
    expect(weekly).toEqual({
      name: "Weekly",
      campaign_ids: [3, 4],
      tag: null,
      metrics: ["sent", "delivered", "open_rate"],
      period: "last_7_days",
      cadence: "weekly",
      hour: 7,
      minute: 30,
      weekday: "monday",
      day_of_month: null,
      recipients: ["ann@example.com", "bob@example.com"],
      enabled: true,
    });
    const monthly = draftToBody(draft({ selection: "tag", tag: " spring ", campaign_ids: [3], cadence: "monthly", day_of_month: 15 }));
    expect([monthly.campaign_ids, monthly.tag, monthly.weekday, monthly.day_of_month]).toEqual([[], "spring", null, 15]);
    const daily = draftToBody(draft({ cadence: "daily", enabled: false }));
    expect([daily.weekday, daily.day_of_month, daily.enabled]).toEqual([null, null, false]);
    expect(draftToBody(draft({ selection: "tag", tag: "  " })).tag).toBeNull();
  });

  it("reads recipients one per line (commas and semicolons too) and the time", () => {
    expect(parseRecipients("a@x.io\r\nb@x.io; c@x.io,d@x.io\n  \n")).toEqual(["a@x.io", "b@x.io", "c@x.io", "d@x.io"]);
    expect(parseRecipients("")).toEqual([]);
    expect(parseClock("08:05")).toEqual({ hour: 8, minute: 5 });
    expect(parseClock("")).toEqual({ hour: -1, minute: -1 });
  });

  it("fills the form from a definition and gives it back unchanged", () => {
    const filled = draftFromDefinition(DEFINITION);
    expect(filled.time).toBe("07:30");
    expect(filled.recipients).toBe("ann@example.com\nbob@example.com");
    expect(patchBody(DEFINITION, filled)).toEqual({});
    expect(draftFromDefinition({ ...DEFINITION, tag: "spring", campaign_ids: [] }).selection).toBe("tag");
  });

  it("patches only what changed, the selection and the cadence whole", () => {
    const filled = draftFromDefinition(DEFINITION);
    expect(patchBody(DEFINITION, { ...filled, name: "Renamed", time: "09:30" })).toEqual({ name: "Renamed", hour: 9 });
    expect(patchBody(DEFINITION, { ...filled, enabled: false })).toEqual({ enabled: false });
    expect(patchBody(DEFINITION, { ...filled, selection: "tag", tag: "spring" })).toEqual({ campaign_ids: [], tag: "spring" });
    expect(patchBody(DEFINITION, { ...filled, campaign_ids: [4] })).toEqual({ campaign_ids: [4], tag: null });
    expect(patchBody(DEFINITION, { ...filled, cadence: "monthly", day_of_month: 1 })).toEqual({
      cadence: "monthly",
      weekday: null,
      day_of_month: 1,
    });
    expect(patchBody(DEFINITION, { ...filled, weekday: "friday" })).toEqual({ cadence: "weekly", weekday: "friday", day_of_month: null });
    expect(patchBody(DEFINITION, { ...filled, recipients: "ann@example.com" })).toEqual({ recipients: ["ann@example.com"] });
    expect(patchBody(DEFINITION, { ...filled, metrics: ["open_rate", "sent"] })).toEqual({ metrics: ["open_rate", "sent"] });
  });

  it("puts a ticked metric in the catalogue's place and keeps the chosen order", () => {
    expect(toggleMetric(["sent", "open_rate"], "delivered", CATALOGUE)).toEqual(["sent", "delivered", "open_rate"]);
    expect(toggleMetric(["sent", "open_rate"], "revenue", CATALOGUE)).toEqual(["sent", "open_rate", "revenue"]);
    expect(toggleMetric(["open_rate"], "sent", CATALOGUE)).toEqual(["sent", "open_rate"]);
    expect(toggleMetric(["sent", "open_rate"], "sent", CATALOGUE)).toEqual(["open_rate"]);
    expect(toggleMetric(["revenue", "sent"], "opens", CATALOGUE)).toEqual(["revenue", "sent", "opens"]);
  });
});

describe("errors to fields", () => {
  it("points a 422's field at its input, with the item of a list", () => {
    expect(errorField("recipients[1]")).toEqual({ field: "recipients", index: 1 });
    expect(errorField("recipients")).toEqual({ field: "recipients", index: null });
    expect(errorField("campaign_ids[2]")).toEqual({ field: "selection", index: 2 });
    expect(errorField("campaign_ids")).toEqual({ field: "selection", index: null });
    expect(errorField("tag")).toEqual({ field: "selection", index: null });
    expect(errorField("metrics[0]")).toEqual({ field: "metrics", index: 0 });
    expect(errorField("hour")).toEqual({ field: "time", index: null });
    expect(errorField("minute")).toEqual({ field: "time", index: null });
    expect(errorField("weekday")).toEqual({ field: "weekday", index: null });
    expect(errorField("day_of_month")).toEqual({ field: "day_of_month", index: null });
    expect(errorField("name")).toEqual({ field: "name", index: null });
    expect(errorField("report")).toBeNull();
    expect(errorField(null)).toBeNull();
  });
});

describe("runs", () => {
  it("polls while a run is queued or running", () => {
    expect(runPollInterval([run({ status: "ready" }), run({ status: "queued" })])).toBe(RUN_POLL_MS);
    expect(runPollInterval([run({ status: "running" })])).toBe(RUN_POLL_MS);
    expect(runPollInterval([run({ status: "ready" }), run({ status: "failed" }), null])).toBe(false);
    expect(runPollInterval(undefined)).toBe(false);
  });

  it("shows the period's local days without shifting them", () => {
    const utc = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeZone: "UTC" });
    expect(formatDay("2026-03-02", utc)).toBe("2 Mar 2026");
    expect(describePeriod(run(), utc)).toBe("24 Feb 2026 – 2 Mar 2026");
    expect(describePeriod(run({ last_day: "2026-02-24" }), utc)).toBe("24 Feb 2026");
    expect(describePeriod(run({ first_day: null, last_day: null }), utc)).toBe("—");
  });

  it("writes the first totals as the report does", () => {
    expect(describeTotals(run(), CATALOGUE)).toBe("Sent 1,234 · Open rate 50.0% · Revenue 30.00");
    expect(describeTotals(run({ totals: {} }), CATALOGUE)).toBe("");
    expect(formatTotal(null, "rate")).toBe("–");
    expect(formatTotal(0.12345, "rate")).toBe("12.3%");
  });

  it("opens the HTML summary inline", () => {
    expect(inlineHtmlUrl("/api/reports/7/runs/1/html")).toBe("/api/reports/7/runs/1/html?disposition=inline");
  });
});

describe("navigation", () => {
  it("lists Reports next to Analytics for those who may read analytics", () => {
    const labels = (permissions: string[]) => visibleNavItems({ permissions }).map((item) => item.label);
    const manager = labels(["workspace:read", "analytics:read"]);
    expect(manager.indexOf("Reports")).toBe(manager.indexOf("Analytics") + 1);
    expect(labels(["workspace:read"])).not.toContain("Reports");
  });

  it("leaves a report's history of the old workspace after switching", () => {
    expect(pathAfterSwitch("/reports", "?report=7")).toBe("/reports");
    expect(pathAfterSwitch("/reports", "")).toBeNull();
  });
});
