/**
 * A campaign's schedule (CampaignSchedule in models/payloads/campaign_flow.py) and the date-time arithmetic the
 * wizard needs: a date-time typed in the workspace's timezone to the instant the API stores, and back.
 */

import { CHANNELS, type Channel } from "./flow";

export type ScheduleMode = "now" | "at" | "local_time";
export type FrequencyCap = { max_messages: number; days: number };
export type QuietHours = { start: string; end: string };

export type Schedule = {
  mode: ScheduleMode;
  /** mode "at": an ISO instant. */
  at?: string | null;
  /** mode "local_time": HH:MM on `date` (YYYY-MM-DD) in each lead's timezone. */
  local_time?: string | null;
  date?: string | null;
  throttle_per_minute?: Partial<Record<Channel, number>> | null;
  frequency_cap?: FrequencyCap | null;
  quiet_hours?: QuietHours | null;
  weekdays: number[];
};

export const ALL_WEEKDAYS = [0, 1, 2, 3, 4, 5, 6];
/** Monday = 0, as in the API. */
export const WEEKDAY_LABELS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

export const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;

export function defaultSchedule(): Schedule {
  return { mode: "now", weekdays: [...ALL_WEEKDAYS] };
}

/** The browser's timezone (used when the workspace names none). */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** Whether the runtime knows a timezone name. */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The workspace's timezone name when the runtime knows it, else the browser's. */
export function workspaceTimeZone(name: string | null | undefined): string {
  return name && isTimeZone(name) ? name : browserTimeZone();
}

/** The wall clock of an instant in a timezone, as "YYYY-MM-DDTHH:MM" (what <input type="datetime-local"> holds). */
export function toZonedLocal(instant: Date | string, timeZone: string): string {
  const date = typeof instant === "string" ? new Date(instant) : instant;
  if (Number.isNaN(date.getTime())) return "";
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "00";
  return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
}

function wallClockAsUtc(local: string): number | null {
  const m = LOCAL_DATE_TIME.exec(local);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]));
}

/** How far a timezone's clock is ahead of UTC at an instant, in ms. */
function offsetAt(instantMs: number, timeZone: string): number {
  const shown = wallClockAsUtc(toZonedLocal(new Date(instantMs), timeZone));
  return shown === null ? 0 : shown - Math.floor(instantMs / 60_000) * 60_000;
}

/**
 * The instant at which the clock of `timeZone` shows `local` ("YYYY-MM-DDTHH:MM"). In a daylight-saving gap, the
 * first instant at which the clock shows that time or later (the jump); in an overlap, the first occurrence.
 */
export function fromZonedLocal(local: string, timeZone: string): Date | null {
  const wall = wallClockAsUtc(local);
  if (wall === null) return null;
  // Try the offsets in force a day either side; keep the earliest instant that shows the wall clock.
  const candidates = new Set([offsetAt(wall - 86_400_000, timeZone), offsetAt(wall, timeZone), offsetAt(wall + 86_400_000, timeZone)]);
  const exact = [...candidates]
    .map((offset) => wall - offset)
    .filter((instant) => wallClockAsUtc(toZonedLocal(new Date(instant), timeZone)) === wall)
    .sort((a, b) => a - b);
  if (exact[0] !== undefined) return new Date(exact[0]);
  // A gap: the clock jumps over the time; the jump itself is the first instant "at that time or later".
  const before = wall - Math.max(...candidates);
  const after = wall - Math.min(...candidates);
  let lo = Math.min(before, after);
  let hi = Math.max(before, after);
  while (hi - lo > 60_000) {
    const mid = Math.floor((lo + hi) / 2 / 60_000) * 60_000;
    const shown = wallClockAsUtc(toZonedLocal(new Date(mid), timeZone)) ?? 0;
    if (shown >= wall) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/** Whole throttle numbers kept; empty or non-positive ones dropped. */
function cleanThrottle(throttle: Schedule["throttle_per_minute"]): Partial<Record<Channel, number>> | null {
  const out: Partial<Record<Channel, number>> = {};
  for (const channel of CHANNELS) {
    const value = throttle?.[channel];
    if (typeof value === "number" && Number.isFinite(value) && value >= 1) out[channel] = Math.floor(value);
  }
  return Object.keys(out).length ? out : null;
}

/** The schedule as the API takes it: only the fields of its mode, no empty throttles. */
export function scheduleForApi(schedule: Schedule): Schedule {
  const out: Schedule = { mode: schedule.mode, weekdays: [...new Set(schedule.weekdays)].sort((a, b) => a - b) };
  if (schedule.mode === "at") out.at = schedule.at ?? null;
  if (schedule.mode === "local_time") {
    out.date = schedule.date ?? null;
    out.local_time = schedule.local_time ?? null;
  }
  const throttle = cleanThrottle(schedule.throttle_per_minute);
  if (throttle) out.throttle_per_minute = throttle;
  if (schedule.frequency_cap) out.frequency_cap = schedule.frequency_cap;
  if (schedule.quiet_hours) out.quiet_hours = schedule.quiet_hours;
  return out;
}

/** A schedule from the API (or anything), with defaults for what is missing. */
export function toSchedule(value: unknown): Schedule {
  if (typeof value !== "object" || value === null) return defaultSchedule();
  const v = value as Record<string, unknown>;
  const mode: ScheduleMode = v.mode === "at" || v.mode === "local_time" ? v.mode : "now";
  const weekdays = Array.isArray(v.weekdays) ? v.weekdays.filter((d): d is number => typeof d === "number") : [...ALL_WEEKDAYS];
  return {
    mode,
    at: typeof v.at === "string" ? v.at : null,
    local_time: typeof v.local_time === "string" ? v.local_time : null,
    date: typeof v.date === "string" ? v.date : null,
    throttle_per_minute: (v.throttle_per_minute as Schedule["throttle_per_minute"]) ?? null,
    frequency_cap: (v.frequency_cap as FrequencyCap | null) ?? null,
    quiet_hours: (v.quiet_hours as QuietHours | null) ?? null,
    weekdays: weekdays.length ? weekdays : [...ALL_WEEKDAYS],
  };
}

export type ScheduleProblem = { field: string; message: string };

/** What the wizard can tell is wrong before asking the API (fields as the API names them: "schedule.at"). */
export function scheduleProblems(schedule: Schedule, now: Date = new Date()): ScheduleProblem[] {
  const problems: ScheduleProblem[] = [];
  if (schedule.mode === "at") {
    const at = schedule.at ? new Date(schedule.at) : null;
    if (!at || Number.isNaN(at.getTime())) problems.push({ field: "schedule.at", message: "Choose the date and time to send." });
    else if (at.getTime() <= now.getTime()) problems.push({ field: "schedule.at", message: "That time has passed." });
  }
  if (schedule.mode === "local_time") {
    if (!schedule.date || !DATE.test(schedule.date)) problems.push({ field: "schedule.date", message: "Choose the day." });
    if (!schedule.local_time || !HHMM.test(schedule.local_time)) {
      problems.push({ field: "schedule.local_time", message: "Choose the local time (HH:MM)." });
    }
  }
  if (schedule.weekdays.length === 0) problems.push({ field: "schedule.weekdays", message: "Allow at least one weekday." });
  const quiet = schedule.quiet_hours;
  if (quiet) {
    if (!HHMM.test(quiet.start) || !HHMM.test(quiet.end)) {
      problems.push({ field: "schedule.quiet_hours", message: "Quiet hours need a start and an end (HH:MM)." });
    } else if (quiet.start === quiet.end) {
      problems.push({ field: "schedule.quiet_hours", message: "Quiet hours need different start and end times." });
    }
  }
  const cap = schedule.frequency_cap;
  if (cap && (!Number.isInteger(cap.max_messages) || cap.max_messages < 1 || !Number.isInteger(cap.days) || cap.days < 1 || cap.days > 365)) {
    problems.push({ field: "schedule.frequency_cap", message: "A frequency cap is at least 1 message in 1 to 365 days." });
  }
  for (const channel of CHANNELS) {
    const value = schedule.throttle_per_minute?.[channel];
    if (value !== undefined && value !== null && (!Number.isInteger(value) || value < 1)) {
      problems.push({ field: `schedule.throttle_per_minute.${channel}`, message: "A throttle is a whole number above 0." });
    }
  }
  return problems;
}

/** "Mon–Fri", "Every day", "Mon, Wed, Sat". */
export function describeWeekdays(weekdays: readonly number[]): string {
  const days = [...new Set(weekdays)].sort((a, b) => a - b);
  if (days.length === 7) return "Every day";
  if (days.length === 0) return "No day";
  const first = days[0] as number;
  const last = days[days.length - 1] as number;
  if (days.length >= 3 && last - first === days.length - 1) return `${WEEKDAY_LABELS[first]}–${WEEKDAY_LABELS[last]}`;
  return days.map((d) => WEEKDAY_LABELS[d]).join(", ");
}

/** One line for the review: when it starts. */
export function describeStart(schedule: Schedule, timeZone: string): string {
  if (schedule.mode === "at" && schedule.at) {
    return `At ${toZonedLocal(schedule.at, timeZone).replace("T", " ")} (${timeZone})`;
  }
  if (schedule.mode === "local_time") {
    return `On ${schedule.date ?? "?"} at ${schedule.local_time ?? "?"} in each lead's own timezone`;
  }
  return "As soon as it is launched";
}
