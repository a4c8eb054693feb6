import { addDays, endOfMonth, endOfWeek, startOfDay, startOfMonth, startOfWeek } from "date-fns";

export type CalendarView = "month" | "week" | "day";

/** Weeks start on Monday, as the API's weekdays do. */
export const WEEK_STARTS_ON = 1;

/**
 * The instants a calendar view shows around `date`: whole weeks for a month (the grid shows the days of the
 * neighbouring months too), the week, or the day. The end is exclusive.
 */
export function visibleRange(date: Date, view: CalendarView): { from: Date; to: Date } {
  if (view === "day") return { from: startOfDay(date), to: addDays(startOfDay(date), 1) };
  if (view === "week") {
    return {
      from: startOfWeek(date, { weekStartsOn: WEEK_STARTS_ON }),
      to: addDays(startOfDay(endOfWeek(date, { weekStartsOn: WEEK_STARTS_ON })), 1),
    };
  }
  const from = startOfWeek(startOfMonth(date), { weekStartsOn: WEEK_STARTS_ON });
  const last = endOfWeek(endOfMonth(date), { weekStartsOn: WEEK_STARTS_ON });
  return { from, to: addDays(startOfDay(last), 1) };
}

/** Where a dropped event goes: the drop time, refused when it is not in the future. */
export function dropProblem(start: Date, now: Date = new Date()): string | null {
  if (Number.isNaN(start.getTime())) return "That is not a time.";
  if (start.getTime() <= now.getTime()) return "A campaign can only be moved to a time in the future.";
  return null;
}

/**
 * A drop on the month view lands at midnight of the target day: keep the campaign's own time of day instead
 * (dragging "Tuesday 09:00" to Thursday means Thursday 09:00).
 */
export function keepTimeOfDay(original: Date, dropped: Date, allDayDrop: boolean): Date {
  if (!allDayDrop) return dropped;
  const out = new Date(dropped);
  out.setHours(original.getHours(), original.getMinutes(), original.getSeconds(), 0);
  return out;
}
