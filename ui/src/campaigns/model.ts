/**
 * The shapes of the campaign builder's API answers (reachability, validation, dry run, per-step progress, calendar)
 * read defensively: each reader takes whatever JSON came back and returns what the pages show, so a missing or
 * extra field never breaks a page.
 */

import { CHANNELS, type Channel, type Problem } from "./flow";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

function str(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

export type ChannelCounts = Record<Channel, number>;

function channelCounts(value: unknown): ChannelCounts {
  const source = isRecord(value) ? value : {};
  return { email: num(source.email), sms: num(source.sms), whatsapp: num(source.whatsapp) };
}

/** Counts per channel, from {email: n, ...} or [{channel, count}] lists. */
function readChannelCounts(value: unknown): ChannelCounts {
  if (Array.isArray(value)) {
    const out = channelCounts(null);
    for (const item of value) {
      if (!isRecord(item)) continue;
      const channel = str(item.channel);
      if (channel && (CHANNELS as readonly string[]).includes(channel)) {
        out[channel as Channel] = num(item.count ?? item.reachable ?? item.sends ?? item.value);
      }
    }
    return out;
  }
  return channelCounts(value);
}

export type ChannelReach = { reachable: number; capped: number; noConsent: number; suppressed: number; invalidAddress: number };
export type Reach = {
  total: number;
  reachable: ChannelCounts;
  capped: number | null;
  /** Per channel, why the others cannot be reached (when the API says). */
  details: Partial<Record<Channel, ChannelReach>>;
};

/** POST /api/campaigns/reachability: {total, capped, channels: {email: {reachable, capped, no_consent…}}}. */
export function readReach(value: unknown): Reach {
  const v = isRecord(value) ? value : {};
  const details: Partial<Record<Channel, ChannelReach>> = {};
  let reachable: ChannelCounts;
  if (isRecord(v.channels)) {
    reachable = channelCounts(null);
    for (const channel of CHANNELS) {
      const c = v.channels[channel];
      if (!isRecord(c)) continue;
      reachable[channel] = num(c.reachable);
      details[channel] = {
        reachable: num(c.reachable),
        capped: num(c.capped),
        noConsent: num(c.no_consent),
        suppressed: num(c.suppressed),
        invalidAddress: num(c.invalid_address),
      };
    }
  } else if (isRecord(v.reachable) || Array.isArray(v.reachable)) reachable = readChannelCounts(v.reachable);
  else reachable = channelCounts(v);
  return {
    total: num(v.total ?? v.size),
    reachable,
    capped: v.capped === undefined || v.capped === null ? null : num(v.capped),
    details,
  };
}

export type Validation = { problems: Problem[]; estimate: ChannelCounts | null };

function readProblem(value: unknown): Problem | null {
  if (!isRecord(value)) return null;
  const message = str(value.message) ?? str(value.detail);
  if (!message) return null;
  return {
    message,
    severity: str(value.severity) ?? "error",
    step_id: str(value.step_id),
    path: str(value.path),
    field: str(value.field),
    rule: str(value.rule),
  };
}

/** POST /api/campaigns/validate: {problems: [...], estimate: {email: n…}}. */
export function readValidation(value: unknown): Validation {
  const v = isRecord(value) ? value : {};
  const problems = Array.isArray(v.problems) ? v.problems.map(readProblem).filter((p): p is Problem => p !== null) : [];
  const raw = v.estimate ?? v.estimated_sends;
  let estimate: ChannelCounts | null = null;
  if (isRecord(raw) && (isRecord(raw.per_channel) || Array.isArray(raw.per_channel))) estimate = readChannelCounts(raw.per_channel);
  else if (isRecord(raw) && (isRecord(raw.reachable) || Array.isArray(raw.reachable))) estimate = readChannelCounts(raw.reachable);
  else if (isRecord(raw) || Array.isArray(raw)) estimate = readChannelCounts(raw);
  return { problems, estimate };
}

/** Problems carried by an error answer (a 422 may list them), else none. */
export function problemsOfError(body: unknown): Problem[] {
  if (!isRecord(body)) return [];
  if (Array.isArray(body.problems)) return readValidation(body).problems;
  return [];
}

export type DryRunStep = {
  stepId: string;
  channel: string | null;
  /** Leads reaching the step (an upper bound when not `exact`: after a branch or a split). */
  reach: number;
  exact: boolean;
  /** Of those, how many the primary channel would send to, and the fallback channel. */
  sendable: number | null;
  fallbackSendable: number;
  skipped: Record<string, number>;
};

export type DryRun = { steps: DryRunStep[]; audience: number | null; problems: string[] };

function readReasons(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (isRecord(value)) for (const [k, n] of Object.entries(value)) out[k] = num(n);
  else if (Array.isArray(value)) {
    for (const item of value) {
      if (isRecord(item) && str(item.reason)) out[item.reason as string] = num(item.count);
    }
  }
  return out;
}

/** POST /api/campaigns/{id}/dry-run: {result: {audience, steps: [{step_id, channel, reach, exact, sendable,
 * fallback_sendable, skipped}], problems}}. */
export function readDryRun(value: unknown): DryRun {
  // The API passes the engine's result through under `result`.
  const outer = isRecord(value) ? value : {};
  const v = isRecord(outer.result) ? outer.result : outer;
  const list = Array.isArray(v.steps) ? v.steps : Array.isArray(value) ? value : [];
  const steps = list.filter(isRecord).map((s) => ({
    stepId: str(s.step_id) ?? str(s.id) ?? "?",
    channel: str(s.channel),
    reach: num(s.reach ?? s.audience ?? s.count),
    sendable: s.sendable === undefined ? null : num(s.sendable),
    fallbackSendable: num(s.fallback_sendable),
    exact: s.exact === undefined ? s.upper_bound !== true && s.up_to !== true : s.exact === true,
    skipped: readReasons(isRecord(s.skipped) || Array.isArray(s.skipped) ? s.skipped : (s.by_reason ?? s.skips)),
  }));
  const problems = Array.isArray(v.problems) ? v.problems.filter((p): p is string => typeof p === "string") : [];
  const audience = v.audience ?? v.total;
  return { steps, audience: audience === undefined ? null : num(audience), problems };
}

export type VariantProgress = { variant: string; sent: number; opened: number; clicked: number };
export type StepProgress = {
  stepId: string;
  index: number;
  type: string;
  channel: string | null;
  sent: number;
  failed: number;
  skipped: number;
  byReason: Record<string, number>;
  fallbackSent: number;
  opened: number;
  clicked: number;
  variants: VariantProgress[];
};

/** The `steps` of GET /api/campaigns/{id}/progress. */
export function readStepProgress(value: unknown): StepProgress[] {
  if (!Array.isArray(value)) return [];
  return value.filter(isRecord).map((s, i) => ({
    stepId: str(s.step_id) ?? `step-${i}`,
    index: typeof s.index === "number" ? s.index : i,
    type: str(s.type) ?? "send",
    channel: str(s.channel),
    sent: num(s.sent),
    failed: num(s.failed),
    skipped: num(s.skipped),
    byReason: readReasons(s.by_reason),
    fallbackSent: num(s.fallback_sent),
    opened: num(s.opened),
    clicked: num(s.clicked),
    variants: Array.isArray(s.variants)
      ? s.variants.filter(isRecord).map((v) => ({
          variant: str(v.variant) ?? "?",
          sent: num(v.sent),
          opened: num(v.opened),
          clicked: num(v.clicked),
        }))
      : [],
  }));
}

/** Skip reasons added up over the steps, biggest first. */
export function totalReasons(steps: readonly StepProgress[]): [string, number][] {
  const totals = new Map<string, number>();
  for (const step of steps) for (const [reason, n] of Object.entries(step.byReason)) totals.set(reason, (totals.get(reason) ?? 0) + n);
  return [...totals.entries()].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

export const SKIP_REASON_LABELS: Record<string, string> = {
  no_consent: "No consent",
  suppressed: "Suppressed",
  invalid_address: "Invalid address",
  capped: "Frequency cap",
  exited: "Left the campaign",
  no_template: "No template",
  quiet_hours_deferred: "Deferred (quiet hours)",
};

export function reasonLabel(reason: string): string {
  return SKIP_REASON_LABELS[reason] ?? reason.replace(/_/g, " ");
}

export type CalendarEntry = {
  id: number;
  name: string;
  status: string;
  start: Date;
  end: Date;
  /** Only a scheduled campaign (its run waits for its start) can be dragged to another time. */
  movable: boolean;
};

const MOVABLE = new Set(["scheduled", "pending_approval"]);

/** GET /api/campaigns/calendar: [{campaign_id, name, status, start, end, can_reschedule}] (or {items: [...]}) */
export function readCalendar(value: unknown): CalendarEntry[] {
  const list = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.items) ? value.items : [];
  const out: CalendarEntry[] = [];
  for (const item of list) {
    if (!isRecord(item)) continue;
    const id = typeof item.campaign_id === "number" ? item.campaign_id : item.id;
    if (typeof id !== "number") continue;
    const startText = str(item.start) ?? str(item.scheduled_at) ?? str(item.started_at);
    if (!startText) continue;
    const start = new Date(startText);
    if (Number.isNaN(start.getTime())) continue;
    const endText = str(item.end) ?? str(item.finished_at) ?? str(item.ends_at);
    const endDate = endText ? new Date(endText) : null;
    const end = endDate && !Number.isNaN(endDate.getTime()) && endDate > start ? endDate : new Date(start.getTime() + 30 * 60_000);
    const status = str(item.status) ?? "scheduled";
    const flag = item.can_reschedule ?? item.movable;
    out.push({
      id,
      name: str(item.name) ?? `Campaign ${id}`,
      status,
      start,
      end,
      movable: typeof flag === "boolean" ? flag : MOVABLE.has(status),
    });
  }
  return out;
}

/** Statuses in which a campaign can be edited in the wizard. */
export const EDITABLE = new Set(["draft", "scheduled", "rejected"]);

/** Statuses in which a campaign's run exists and waits (its start time, or a decision). */
export function isWaiting(status: string | null | undefined): boolean {
  return status === "scheduled" || status === "pending_approval";
}

export type TestSendLine = { stepId: string | null; channel: string | null; to: string; ok: boolean; detail: string };

/** POST /api/campaigns/{id}/test-send: {steps: [{step_id, channel, results: [{to, ok, error}], skipped}]}. */
export function readTestSend(value: unknown): TestSendLine[] {
  const v = isRecord(value) ? value : {};
  const out: TestSendLine[] = [];
  const lines = (results: unknown, stepId: string | null, channel: string | null) => {
    if (!Array.isArray(results)) return;
    for (const r of results) {
      if (!isRecord(r)) continue;
      out.push({ stepId, channel, to: str(r.to) ?? "", ok: r.ok === true, detail: str(r.error) ?? str(r.message) ?? "" });
    }
  };
  if (Array.isArray(v.steps)) {
    for (const step of v.steps) {
      if (!isRecord(step)) continue;
      const stepId = str(step.step_id);
      const channel = str(step.channel);
      const skipped = str(step.skipped);
      if (skipped) out.push({ stepId, channel, to: "", ok: false, detail: skipped });
      lines(step.results, stepId, channel);
    }
  } else lines(v.results, null, null);
  return out;
}
