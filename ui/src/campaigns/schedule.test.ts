import { describe, expect, it } from "vitest";
import {
  defaultSchedule,
  describeStart,
  describeWeekdays,
  fromZonedLocal,
  scheduleForApi,
  scheduleProblems,
  toSchedule,
  toZonedLocal,
} from "./schedule";
import {
  blockingProblem,
  describeGoal,
  draftFromCampaign,
  draftToBody,
  emptyDraft,
  firstValidationMessage,
  parseTags,
  wizardStepOfField,
  toTracking,
} from "./wizard";
import { slug } from "./WizardSteps";

describe("timezones", () => {
  it("reads an instant on a zone's clock and back", () => {
    expect(toZonedLocal("2026-08-03T07:00:00Z", "Europe/Paris")).toBe("2026-08-03T09:00");
    expect(fromZonedLocal("2026-08-03T09:00", "Europe/Paris")?.toISOString()).toBe("2026-08-03T07:00:00.000Z");
    expect(fromZonedLocal("2026-01-15T09:00", "America/New_York")?.toISOString()).toBe("2026-01-15T14:00:00.000Z");
    expect(fromZonedLocal("2026-01-15T09:00", "UTC")?.toISOString()).toBe("2026-01-15T09:00:00.000Z");
    expect(fromZonedLocal("nonsense", "UTC")).toBeNull();
  });

  it("takes the jump in a daylight-saving gap and the first occurrence in an overlap", () => {
    // 02:30 on 29 March 2026 does not exist in Paris: 03:00 CEST (01:00 UTC).
    expect(fromZonedLocal("2026-03-29T02:30", "Europe/Paris")?.toISOString()).toBe("2026-03-29T01:00:00.000Z");
    // 01:30 on 1 November 2026 happens twice in New York: the EDT one (05:30 UTC).
    expect(fromZonedLocal("2026-11-01T01:30", "America/New_York")?.toISOString()).toBe("2026-11-01T05:30:00.000Z");
  });
});

describe("schedule", () => {
  it("sends only the fields of its mode and drops empty throttles", () => {
    const out = scheduleForApi({
      mode: "at",
      at: "2026-08-03T07:00:00.000Z",
      date: "2026-08-03",
      local_time: "09:00",
      throttle_per_minute: { email: 1200, sms: 0 },
      frequency_cap: { max_messages: 3, days: 7 },
      quiet_hours: null,
      weekdays: [4, 0, 0, 1],
    });
    expect(out).toEqual({
      mode: "at",
      at: "2026-08-03T07:00:00.000Z",
      throttle_per_minute: { email: 1200 },
      frequency_cap: { max_messages: 3, days: 7 },
      weekdays: [0, 1, 4],
    });
    expect(scheduleForApi(defaultSchedule())).toEqual({ mode: "now", weekdays: [0, 1, 2, 3, 4, 5, 6] });
  });

  it("finds what is missing or wrong", () => {
    const now = new Date("2026-08-01T00:00:00Z");
    expect(scheduleProblems(defaultSchedule(), now)).toEqual([]);
    expect(scheduleProblems({ mode: "at", at: "2026-07-01T00:00:00Z", weekdays: [0] }, now)).toEqual([
      { field: "schedule.at", message: "That time has passed." },
    ]);
    const fields = scheduleProblems(
      {
        mode: "local_time",
        date: null,
        local_time: "25:00",
        weekdays: [],
        quiet_hours: { start: "22:00", end: "22:00" },
        frequency_cap: { max_messages: 0, days: 7 },
        throttle_per_minute: { sms: 1.5 },
      },
      now,
    ).map((p) => p.field);
    expect(fields).toEqual([
      "schedule.date",
      "schedule.local_time",
      "schedule.weekdays",
      "schedule.quiet_hours",
      "schedule.frequency_cap",
      "schedule.throttle_per_minute.sms",
    ]);
  });

  it("reads back whatever the API holds and describes it", () => {
    expect(toSchedule(null)).toEqual(defaultSchedule());
    expect(toSchedule({ mode: "local_time", date: "2026-08-03", local_time: "09:00", weekdays: [] }).weekdays).toHaveLength(7);
    expect(describeWeekdays([0, 1, 2, 3, 4])).toBe("Mon–Fri");
    expect(describeWeekdays([0, 2, 5])).toBe("Mon, Wed, Sat");
    expect(describeWeekdays([6, 5, 4, 3, 2, 1, 0])).toBe("Every day");
    expect(describeStart({ mode: "at", at: "2026-08-03T07:00:00Z", weekdays: [] }, "Europe/Paris")).toBe(
      "At 2026-08-03 09:00 (Europe/Paris)",
    );
    expect(describeStart(defaultSchedule(), "UTC")).toBe("As soon as it is launched");
  });
});

describe("wizard draft", () => {
  it("turns a legacy campaign into a one-step flow to its list", () => {
    const draft = draftFromCampaign({ name: "Old", template_id: 7, template_version: 2, list_id: 3, flow: null, cost: "12.50" });
    expect(draft.flow.steps).toEqual([
      { id: "send", type: "send", channel: "email", template_id: 7, template_version: 2, fallback: null },
    ]);
    expect(draft.list_ids).toEqual([3]);
    expect(draft.cost).toBe(12.5);
    expect(draft.objective).toBe("awareness");
  });

  it("keeps a flow campaign's fields", () => {
    const draft = draftFromCampaign({
      name: "New",
      objective: "conversion",
      goal_metric: "click_rate",
      goal_target: 5,
      tags: ["a", 3],
      list_ids: [1, 2],
      exclude_list_ids: [4],
      exclude_filter: { combinator: "and", rules: [] },
      flow: { steps: [{ id: "x", type: "exit" }], exit_on_statuses: ["won"] },
      schedule: { mode: "at", at: "2026-08-03T07:00:00Z", weekdays: [0] },
    });
    expect(draft.objective).toBe("conversion");
    expect(draft.tags).toEqual(["a"]);
    expect(draft.flow.exit_on_statuses).toEqual(["won"]);
    expect(draft.schedule.mode).toBe("at");
  });

  it("builds the body: trimmed, goal target only with a goal", () => {
    const draft = { ...emptyDraft(), name: "  Spring ", tags: [" a", "a", ""], goal_target: 5, cost: 10.005 };
    const body = draftToBody(draft);
    expect(body.name).toBe("Spring");
    expect(body.tags).toEqual(["a"]);
    expect(body.goal_target).toBeNull();
    expect(body.cost).toBe(10.01);
    expect(body.schedule).toEqual({ mode: "now", weekdays: [0, 1, 2, 3, 4, 5, 6] });
  });

  it("knows which page a field is on and what blocks a page", () => {
    expect(wizardStepOfField("flow.steps[2].template_id")).toBe("flow");
    expect(wizardStepOfField("schedule.at")).toBe("schedule");
    expect(wizardStepOfField("exclude_filter.rules[0].value")).toBe("audience");
    expect(wizardStepOfField("name")).toBe("basics");
    expect(wizardStepOfField("whatever")).toBeNull();
    expect(blockingProblem("basics", emptyDraft())).toBe("Give the campaign a name.");
    expect(blockingProblem("basics", { ...emptyDraft(), name: "x", goal_metric: "open_rate", goal_target: null })).toBe(
      "Give the goal a target above 0.",
    );
    expect(blockingProblem("flow", emptyDraft())).toBe("Add at least one send step.");
    expect(parseTags("spring, vip ,, spring")).toEqual(["spring", "vip"]);
    expect(describeGoal("click_rate", 5)).toBe("5% click rate");
    expect(describeGoal("conversions", 50)).toBe("50 conversions");
    expect(firstValidationMessage("flow.steps[0].send.template_id: Input should be a valid integer; name: too short")).toBe(
      "Input should be a valid integer",
    );
    expect(firstValidationMessage("plain words")).toBe("plain words");
  });
});

describe("campaign tracking settings", () => {
  it("reads the stored setting, defaults included, and sends it back trimmed", () => {
    expect(toTracking(undefined)).toEqual({ opens: true, clicks: true, utm: null });
    expect(toTracking({ opens: false, clicks: true, utm: { source: "herald", medium: "email", campaign: "nov" } })).toEqual({
      opens: false,
      clicks: true,
      utm: { source: "herald", medium: "email", campaign: "nov" },
    });
    const draft = {
      ...emptyDraft(),
      name: "x",
      tracking: { opens: true, clicks: false, utm: { source: " herald ", medium: "email", campaign: "nov " } },
    };
    expect(draftToBody(draft).tracking).toEqual({ opens: true, clicks: false, utm: { source: "herald", medium: "email", campaign: "nov" } });
    expect(draftFromCampaign({ name: "y", tracking: { opens: false } }).tracking).toEqual({ opens: false, clicks: true, utm: null });
  });

  it("asks for every UTM value once UTM parameters are on, and knows the field's page", () => {
    const draft = { ...emptyDraft(), name: "x", tracking: { opens: true, clicks: true, utm: { source: "a", medium: "", campaign: "c" } } };
    expect(blockingProblem("basics", draft)).toBe("Give the UTM source, medium and campaign, or untick UTM parameters.");
    expect(wizardStepOfField("tracking.utm.source")).toBe("basics");
    expect(slug("Autumn News 2026!")).toBe("autumn-news-2026");
  });
});
