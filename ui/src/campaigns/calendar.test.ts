import { describe, expect, it } from "vitest";
import { dropProblem, keepTimeOfDay, visibleRange } from "./calendar";
import { readCalendar } from "./model";

describe("calendar", () => {
  it("covers whole weeks around a month, the week, or the day", () => {
    const day = new Date(2026, 7, 12, 15, 30); // Wed 12 Aug 2026, local time
    const month = visibleRange(day, "month");
    expect(month.from).toEqual(new Date(2026, 6, 27)); // Monday 27 July
    expect(month.to).toEqual(new Date(2026, 8, 7)); // after Sunday 6 September
    const week = visibleRange(day, "week");
    expect(week.from).toEqual(new Date(2026, 7, 10));
    expect(week.to).toEqual(new Date(2026, 7, 17));
    expect(visibleRange(day, "day")).toEqual({ from: new Date(2026, 7, 12), to: new Date(2026, 7, 13) });
  });

  it("refuses drops in the past and keeps the time of day on a day drop", () => {
    const now = new Date(2026, 7, 12, 12, 0);
    expect(dropProblem(new Date(2026, 7, 12, 11, 0), now)).toMatch(/future/);
    expect(dropProblem(new Date(2026, 7, 13, 9, 0), now)).toBeNull();
    const moved = keepTimeOfDay(new Date(2026, 7, 12, 9, 15), new Date(2026, 7, 14), true);
    expect(moved).toEqual(new Date(2026, 7, 14, 9, 15));
    expect(keepTimeOfDay(new Date(2026, 7, 12, 9, 15), new Date(2026, 7, 14, 16, 0), false)).toEqual(new Date(2026, 7, 14, 16, 0));
  });

  it("reads the API's entries, skipping broken ones", () => {
    const entries = readCalendar([
      { campaign_id: 1, name: "A", status: "scheduled", start: "2026-08-03T07:00:00Z", end: null, can_reschedule: true },
      { campaign_id: 2, name: "B", status: "completed", start: "2026-08-01T07:00:00Z", end: "2026-08-01T09:00:00Z", can_reschedule: false },
      { campaign_id: 3, name: "C", status: "running", start: "nonsense" },
      { name: "no id", start: "2026-08-01T07:00:00Z" },
    ]);
    expect(entries.map((e) => [e.id, e.movable])).toEqual([
      [1, true],
      [2, false],
    ]);
    expect(entries[0]?.end.getTime()).toBe(new Date("2026-08-03T07:30:00Z").getTime());
    expect(entries[1]?.end.toISOString()).toBe("2026-08-01T09:00:00.000Z");
  });
});
