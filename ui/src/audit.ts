/** Pure helpers of the audit log page. */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Local midnight of a `<input type="date">` value ("2025-03-09"), `days` later, as an ISO instant; null if invalid. */
export function localMidnightIso(date: string, days = 0): string | null {
  const match = DATE.exec(date);
  if (!match) return null;
  const value = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + days);
  return Number.isNaN(value.getTime()) ? null : value.toISOString();
}

/**
 * The API's `since` (inclusive) and `until` (exclusive) for a range of whole local days, both ends included:
 * "from 9 March to 9 March" is everything on 9 March.
 */
export function dayRange(sinceDate: string, untilDate: string): { since: string; until: string } {
  return {
    since: (sinceDate && localMidnightIso(sinceDate)) || "",
    until: (untilDate && localMidnightIso(untilDate, 1)) || "",
  };
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "∅";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/**
 * One line for a before/after pair: "role: marketer → manager", "name: Spring" for a creation,
 * "email: a@b.c" for a deletion (the action says what happened). Unchanged keys are left out.
 */
export function summarizeChange(
  before: Record<string, unknown> | null | undefined,
  after: Record<string, unknown> | null | undefined,
  maxLength = 120,
): string {
  const parts: string[] = [];
  if (before && after) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      if (JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
      if (!(key in after)) parts.push(`${key}: ${show(before[key])} (removed)`);
      else if (!(key in before)) parts.push(`${key}: ${show(after[key])}`);
      else parts.push(`${key}: ${show(before[key])} → ${show(after[key])}`);
    }
  } else if (after) {
    for (const [key, value] of Object.entries(after)) parts.push(`${key}: ${show(value)}`);
  } else if (before) {
    // A deletion: the action already says so; show what was there.
    for (const [key, value] of Object.entries(before)) parts.push(`${key}: ${show(value)}`);
  }
  const line = parts.join(", ");
  return line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line;
}

/** Indented JSON, or a dash for nothing. */
export function prettyJson(value: unknown): string {
  if (value === null || value === undefined) return "—";
  return JSON.stringify(value, null, 2);
}
