/**
 * A campaign's flow definition (models/payloads/campaign_flow.py, docs/campaign-flows.md) as the wizard edits it,
 * and the pure helpers the flow editor is made of: addressing a step by its JSON path, adding, removing, moving and
 * changing steps without mutating the tree, the send steps a branch may look back at, A/B percents, and pinning the
 * API's problems ("flow.steps[2].yes[0].template_id") on the step they name.
 */

export const CHANNELS = ["email", "sms", "whatsapp"] as const;
export type Channel = (typeof CHANNELS)[number];

export const CHANNEL_LABELS: Record<Channel, string> = { email: "Email", sms: "SMS", whatsapp: "WhatsApp" };

export type Duration = { days?: number; hours?: number; minutes?: number };

export type Fallback = { channel: Channel; template_id: number | null; template_version: number | null };

/** `template_id` is null while the marketer has not picked one yet (the API then names the field). */
export type SendStep = {
  id: string;
  type: "send";
  channel: Channel;
  template_id: number | null;
  template_version: number | null;
  fallback?: Fallback | null;
};

export type WaitUntil = { date: string; time: string; timezone_mode: "workspace" | "lead" };

export type WaitStep = {
  id: string;
  type: "wait";
  duration?: Duration | null;
  until?: WaitUntil | null;
  respect_quiet_hours: boolean;
};

export const ENGAGEMENT_EVENTS = ["opened", "clicked", "not_opened", "not_clicked", "delivered", "failed"] as const;
export type EngagementEvent = (typeof ENGAGEMENT_EVENTS)[number];

export const EVENT_LABELS: Record<EngagementEvent, string> = {
  opened: "opened",
  clicked: "clicked",
  not_opened: "did not open",
  not_clicked: "did not click",
  delivered: "was delivered",
  failed: "failed",
};

export type EngagementCondition = { kind: "engagement"; step_id: string; event: EngagementEvent };
export type FieldCondition = { kind: "filter"; filter: { [key: string]: unknown } };
export type Condition = EngagementCondition | FieldCondition;

export type BranchStep = { id: string; type: "branch"; condition: Condition; yes: Step[]; no: Step[] };

export const WINNER_METRICS = ["open_rate", "click_rate", "conversion_rate"] as const;
export type WinnerMetric = (typeof WINNER_METRICS)[number];
export type Winner = { metric: WinnerMetric; after: Duration; test_percent: number };
export type Variant = { id: string; name: string; percent: number; steps: Step[] };
export type SplitStep = { id: string; type: "ab_split"; variants: Variant[]; winner?: Winner | null };

export type ExitStep = { id: string; type: "exit" };

export type Step = SendStep | WaitStep | BranchStep | SplitStep | ExitStep;
export type StepType = Step["type"];

export type Flow = { steps: Step[]; exit_on_statuses: string[] };

export const STEP_TYPE_LABELS: Record<StepType, string> = {
  send: "Send",
  wait: "Wait",
  branch: "Branch",
  ab_split: "A/B split",
  exit: "Exit",
};

export const MIN_VARIANTS = 2;
export const MAX_VARIANTS = 4;
export const STEP_ID_PATTERN = /^[a-z0-9_-]{1,40}$/;

export function emptyFlow(): Flow {
  return { steps: [], exit_on_statuses: [] };
}

// --- Paths ------------------------------------------------------------------------------------------------------------

/**
 * A step is addressed by its JSON path in the flow: "steps[2]", "steps[2].yes[0]", "steps[3].variants[1].steps[0]".
 * A sequence (a list of steps) by the path of the list: "steps", "steps[2].no", "steps[3].variants[1].steps".
 * These are the paths the API's problems use, after their "flow." prefix.
 */
export type StepPath = string;
export type SequencePath = string;

export const ROOT: SequencePath = "steps";

type Segment = { key: string; index: number };

const SEGMENT = /^([a-z_]+)\[(\d+)\]$/;

/** "steps[2].yes[0]" -> [{steps, 2}, {yes, 0}]; null when it is not a path of that shape. */
export function parsePath(path: string): Segment[] | null {
  if (path === "") return [];
  const out: Segment[] = [];
  for (const part of path.split(".")) {
    const match = SEGMENT.exec(part);
    if (!match?.[1] || match[2] === undefined) return null;
    out.push({ key: match[1], index: Number(match[2]) });
  }
  return out;
}

/** The path of the `index`-th step of a sequence. */
export function stepPathOf(sequence: SequencePath, index: number): StepPath {
  return `${sequence}[${index}]`;
}

/** "steps[2].yes[0]" -> {sequence: "steps[2].yes", index: 0} */
export function splitStepPath(path: StepPath): { sequence: SequencePath; index: number } | null {
  const match = /^(.*)\[(\d+)\]$/.exec(path);
  if (!match?.[1] || match[2] === undefined) return null;
  return { sequence: match[1], index: Number(match[2]) };
}

/** The sequences inside a container step, with the label of each arm. */
export function armsOf(step: Step, path: StepPath): { sequence: SequencePath; label: string; key: string }[] {
  if (step.type === "branch") {
    return [
      { sequence: `${path}.yes`, label: "Yes", key: "yes" },
      { sequence: `${path}.no`, label: "No", key: "no" },
    ];
  }
  if (step.type === "ab_split") {
    return step.variants.map((variant, i) => ({
      sequence: `${path}.variants[${i}].steps`,
      label: variant.name || `Variant ${i + 1}`,
      key: variant.id,
    }));
  }
  return [];
}

/** The list of steps at a sequence path, or null when the path leads nowhere. */
export function getSequence(flow: Flow, sequence: SequencePath): Step[] | null {
  if (sequence === ROOT) return flow.steps;
  const cut = sequence.lastIndexOf(".");
  if (cut < 0) return null;
  const owner = sequence.slice(0, cut);
  const tail = sequence.slice(cut + 1);
  if (tail === "yes" || tail === "no") {
    const step = getStep(flow, owner);
    return step?.type === "branch" ? step[tail] : null;
  }
  if (tail === "steps") {
    // "...steps[3].variants[1]"
    const match = /^(.*)\.variants\[(\d+)\]$/.exec(owner);
    if (!match?.[1] || match[2] === undefined) return null;
    const split = getStep(flow, match[1]);
    if (split?.type !== "ab_split") return null;
    return split.variants[Number(match[2])]?.steps ?? null;
  }
  return null;
}

/** The step at a path, or null. */
export function getStep(flow: Flow, path: StepPath): Step | null {
  const parts = splitStepPath(path);
  if (!parts) return null;
  return getSequence(flow, parts.sequence)?.[parts.index] ?? null;
}

/** A copy of the flow with the sequence at `sequence` replaced by `change(old)`; the same flow if the path is wrong. */
export function updateSequence(flow: Flow, sequence: SequencePath, change: (steps: Step[]) => Step[]): Flow {
  if (sequence === ROOT) return { ...flow, steps: change(flow.steps) };
  const cut = sequence.lastIndexOf(".");
  if (cut < 0) return flow;
  const owner = sequence.slice(0, cut);
  const tail = sequence.slice(cut + 1);
  if (tail === "yes" || tail === "no") {
    if (getStep(flow, owner)?.type !== "branch") return flow;
    return updateStep(flow, owner, (step) => (step.type === "branch" ? { ...step, [tail]: change(step[tail]) } : step));
  }
  if (tail === "steps") {
    const match = /^(.*)\.variants\[(\d+)\]$/.exec(owner);
    if (!match?.[1] || match[2] === undefined) return flow;
    const index = Number(match[2]);
    const split = getStep(flow, match[1]);
    if (split?.type !== "ab_split" || !split.variants[index]) return flow;
    return updateStep(flow, match[1], (step) =>
      step.type === "ab_split"
        ? { ...step, variants: step.variants.map((v, i) => (i === index ? { ...v, steps: change(v.steps) } : v)) }
        : step,
    );
  }
  return flow;
}

/** A copy of the flow with the step at `path` replaced by `change(old)`. */
export function updateStep(flow: Flow, path: StepPath, change: (step: Step) => Step): Flow {
  const parts = splitStepPath(path);
  if (!parts || !getStep(flow, path)) return flow;
  return updateSequence(flow, parts.sequence, (steps) => steps.map((s, i) => (i === parts.index ? change(s) : s)));
}

/** Insert `step` at `index` of a sequence (clamped; the end by default). */
export function insertStep(flow: Flow, sequence: SequencePath, step: Step, index?: number): Flow {
  return updateSequence(flow, sequence, (steps) => {
    const at = index === undefined ? steps.length : Math.max(0, Math.min(index, steps.length));
    return [...steps.slice(0, at), step, ...steps.slice(at)];
  });
}

/** Remove the step at `path` (with everything inside it). */
export function removeStep(flow: Flow, path: StepPath): Flow {
  const parts = splitStepPath(path);
  if (!parts || !getStep(flow, path)) return flow;
  return updateSequence(flow, parts.sequence, (steps) => steps.filter((_, i) => i !== parts.index));
}

/** Whether the step at `path` can move by `delta` (-1 up, +1 down) within its sequence. */
export function canMove(flow: Flow, path: StepPath, delta: number): boolean {
  const parts = splitStepPath(path);
  if (!parts) return false;
  const steps = getSequence(flow, parts.sequence);
  if (!steps || !steps[parts.index]) return false;
  const to = parts.index + delta;
  return to >= 0 && to < steps.length;
}

/** Move the step at `path` by `delta` places within its sequence; the same flow when it cannot. */
export function moveStep(flow: Flow, path: StepPath, delta: number): Flow {
  if (!canMove(flow, path, delta)) return flow;
  const parts = splitStepPath(path) as { sequence: SequencePath; index: number };
  return updateSequence(flow, parts.sequence, (steps) => {
    const copy = [...steps];
    const [moved] = copy.splice(parts.index, 1);
    copy.splice(parts.index + delta, 0, moved as Step);
    return copy;
  });
}

/** The path the moved step has afterwards (for keeping it focused). */
export function movedPath(path: StepPath, delta: number): StepPath {
  const parts = splitStepPath(path);
  return parts ? stepPathOf(parts.sequence, parts.index + delta) : path;
}

// --- Walking the tree -------------------------------------------------------------------------------------------------

export type Located = { path: StepPath; step: Step; depth: number };

/** Every step, depth first in execution order (the order of the engine's `iter_steps`), with its path and level. */
export function iterSteps(flow: Flow): Located[] {
  const out: Located[] = [];
  const walk = (steps: Step[], sequence: SequencePath, depth: number) => {
    steps.forEach((step, i) => {
      const path = stepPathOf(sequence, i);
      out.push({ path, step, depth });
      for (const arm of armsOf(step, path)) {
        const inner = getSequence(flow, arm.sequence);
        if (inner) walk(inner, arm.sequence, depth + 1);
      }
    });
  };
  walk(flow.steps, ROOT, 1);
  return out;
}

/** The path of the step with this id, or null. */
export function pathOfId(flow: Flow, id: string): StepPath | null {
  return iterSteps(flow).find((located) => located.step.id === id)?.path ?? null;
}

/** Every step id of the tree. */
export function stepIds(flow: Flow): Set<string> {
  return new Set(iterSteps(flow).map((located) => located.step.id));
}

/** `base-1`, `base-2`…: the first not taken in the tree (or among `taken`). */
export function uniqueStepId(flow: Flow, base: string, taken: Iterable<string> = []): string {
  const used = stepIds(flow);
  for (const id of taken) used.add(id);
  const stem = base.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 34) || "step";
  for (let n = 1; ; n += 1) {
    const id = `${stem}-${n}`;
    if (!used.has(id)) return id;
  }
}

/** A new step of the given type, with an id not used in the flow. */
export function newStep(flow: Flow, type: StepType, channel: Channel = "email"): Step {
  switch (type) {
    case "send":
      return { id: uniqueStepId(flow, channel), type, channel, template_id: null, template_version: null, fallback: null };
    case "wait":
      return { id: uniqueStepId(flow, "wait"), type, duration: { days: 1 }, until: null, respect_quiet_hours: true };
    case "branch": {
      const sends = iterSteps(flow).filter((l) => l.step.type === "send");
      const last = sends[sends.length - 1]?.step.id;
      const condition: Condition = last
        ? { kind: "engagement", step_id: last, event: "opened" }
        : { kind: "filter", filter: { combinator: "and", rules: [] } };
      return { id: uniqueStepId(flow, "branch"), type, condition, yes: [], no: [] };
    }
    case "ab_split":
      return {
        id: uniqueStepId(flow, "split"),
        type,
        variants: [
          { id: "a", name: "A", percent: 50, steps: [] },
          { id: "b", name: "B", percent: 50, steps: [] },
        ],
        winner: null,
      };
    case "exit":
      return { id: uniqueStepId(flow, "exit"), type };
  }
}

/** How many steps the tree holds, nested ones included. */
export function countSteps(flow: Flow): number {
  return iterSteps(flow).length;
}

/**
 * The send steps an engagement condition of the branch at `path` may look back at: those before it in its own
 * sequence and, for each enclosing branch or split, those before that container in its sequence. A send inside an
 * earlier branch or split is not one every lead went through, so it does not count (domain.campaign_flow agrees).
 */
export function earlierSends(flow: Flow, path: StepPath): SendStep[] {
  const out: SendStep[] = [];
  let current: StepPath | null = path;
  while (current) {
    const parts = splitStepPath(current);
    if (!parts) break;
    const steps = getSequence(flow, parts.sequence) ?? [];
    const before = steps.slice(0, parts.index).filter((s): s is SendStep => s.type === "send");
    out.unshift(...before);
    current = containerOf(parts.sequence);
  }
  return out;
}

/** The step that owns a sequence ("steps[2].yes" -> "steps[2]"; the root has none). */
export function containerOf(sequence: SequencePath): StepPath | null {
  if (sequence === ROOT) return null;
  const arm = /^(.*)\.(yes|no)$/.exec(sequence);
  if (arm?.[1]) return arm[1];
  const variant = /^(.*)\.variants\[\d+\]\.steps$/.exec(sequence);
  if (variant?.[1]) return variant[1];
  return null;
}

/** The nesting level of a sequence (the root is 1, as in the docs: a top-level step is level 1). */
export function levelOf(sequence: SequencePath): number {
  let level = 1;
  let current = containerOf(sequence);
  while (current) {
    level += 1;
    const parts = splitStepPath(current);
    current = parts ? containerOf(parts.sequence) : null;
  }
  return level;
}

export const MAX_LEVELS = 8;

// --- A/B percents -----------------------------------------------------------------------------------------------------

/** What is wrong with a split's variants' percents (empty when nothing is). */
export function percentProblems(variants: readonly Pick<Variant, "percent" | "name">[]): string[] {
  const problems: string[] = [];
  if (variants.length < MIN_VARIANTS || variants.length > MAX_VARIANTS) {
    problems.push(`An A/B split has ${MIN_VARIANTS} to ${MAX_VARIANTS} variants.`);
  }
  const total = variants.reduce((sum, v) => sum + (Number.isFinite(v.percent) ? v.percent : 0), 0);
  if (total !== 100) problems.push(`The percents add up to ${total}, not 100.`);
  for (const v of variants) {
    if (!Number.isInteger(v.percent) || v.percent < 1) problems.push(`Variant ${v.name || "?"} needs at least 1 percent.`);
  }
  return problems;
}

/** `n` whole percents as even as they go, adding up to 100 (the first ones get the remainder): 3 -> 34, 33, 33. */
export function evenPercents(n: number): number[] {
  if (n <= 0) return [];
  const base = Math.floor(100 / n);
  const extra = 100 - base * n;
  return Array.from({ length: n }, (_, i) => base + (i < extra ? 1 : 0));
}

const VARIANT_IDS = ["a", "b", "c", "d", "e", "f", "g", "h"];

/** The split with one more variant (up to 4), percents evened out. */
export function addVariant(split: SplitStep): SplitStep {
  if (split.variants.length >= MAX_VARIANTS) return split;
  const used = new Set(split.variants.map((v) => v.id));
  const id = VARIANT_IDS.find((candidate) => !used.has(candidate)) ?? `v${split.variants.length + 1}`;
  const variants = [...split.variants, { id, name: id.toUpperCase(), percent: 0, steps: [] }];
  const percents = evenPercents(variants.length);
  return { ...split, variants: variants.map((v, i) => ({ ...v, percent: percents[i] ?? 0 })) };
}

/** The split without variant `index` (never under 2), percents evened out. */
export function removeVariant(split: SplitStep, index: number): SplitStep {
  if (split.variants.length <= MIN_VARIANTS) return split;
  const variants = split.variants.filter((_, i) => i !== index);
  const percents = evenPercents(variants.length);
  return { ...split, variants: variants.map((v, i) => ({ ...v, percent: percents[i] ?? 0 })) };
}

// --- Problems on steps ------------------------------------------------------------------------------------------------

/** A problem as the API reports it: a flow problem (step_id, path) or a 422's field ("flow.steps[2].template_id"). */
export type Problem = {
  message: string;
  severity?: string;
  step_id?: string | null;
  path?: string | null;
  field?: string | null;
  /** "flow", "schedule", "audience", or the template / brand rule that was broken. */
  rule?: string | null;
};

/** Where a problem lands: a step (by path) and the field of that step it names (dotted, may be null). */
export type PlacedProblem = { message: string; severity: "error" | "warning"; field: string | null; rule?: string | null };

const STEP_TAGS = new Set<string>(["send", "wait", "branch", "ab_split", "exit"]);
const CONDITION_TAGS = new Set<string>(["engagement", "filter"]);

/**
 * A request-validation path without pydantic's union tags: "flow.steps[2].branch.yes[0].send.template_id" ->
 * "flow.steps[2].yes[0].template_id", "flow.steps[1].branch.condition.engagement.step_id" -> "...condition.step_id".
 */
export function normalizeFieldPath(path: string): string {
  const parts = path.split(".");
  const out: string[] = [];
  parts.forEach((part, i) => {
    // A tag comes right after what it tags (a step, a condition), and only once.
    const previous = i > 0 ? (parts[i - 1] as string) : "";
    if (STEP_TAGS.has(part) && /^(steps|yes|no)\[\d+\]$/.test(previous)) return;
    if (CONDITION_TAGS.has(part) && previous === "condition") return;
    out.push(part);
  });
  return out.join(".");
}

/**
 * Split a field path into the deepest step path it names and the rest:
 * "flow.steps[2].yes[0].template_id" -> {step: "steps[2].yes[0]", field: "template_id"};
 * "steps[3].variants[1].percent" -> {step: "steps[3]", field: "variants[1].percent"};
 * "flow.exit_on_statuses[0]" -> {step: null, field: "exit_on_statuses[0]"}.
 */
export function locateField(fieldPath: string): { step: StepPath | null; field: string | null } {
  const path = normalizeFieldPath(fieldPath).replace(/^flow\./, "").replace(/^flow$/, "");
  const parts = path === "" ? [] : path.split(".");
  const keyOf = (i: number): string | null => {
    const part = parts[i];
    return part === undefined ? null : (SEGMENT.exec(part)?.[1] ?? null);
  };
  let stepEnd = -1;
  if (keyOf(0) === "steps") {
    stepEnd = 0;
    for (;;) {
      const next = keyOf(stepEnd + 1);
      if (next === "yes" || next === "no") stepEnd += 1;
      else if (next === "variants" && keyOf(stepEnd + 2) === "steps") stepEnd += 2;
      else break;
    }
  }
  if (stepEnd < 0) return { step: null, field: path === "" ? null : path };
  const step = parts.slice(0, stepEnd + 1).join(".");
  const rest = parts.slice(stepEnd + 1).join(".");
  return { step, field: rest === "" ? null : rest };
}

/** The problems of a flow by step path; the ones naming no step (or a step not in the flow) under `general`. */
export function placeProblems(
  flow: Flow,
  problems: readonly Problem[],
): { byStep: Map<StepPath, PlacedProblem[]>; general: PlacedProblem[] } {
  const byStep = new Map<StepPath, PlacedProblem[]>();
  const general: PlacedProblem[] = [];
  for (const problem of problems) {
    const severity = problem.severity === "warning" ? "warning" : "error";
    const where = problem.field ?? problem.path ?? null;
    let step: StepPath | null = null;
    let field: string | null = null;
    if (where) {
      const located = locateField(where);
      if (located.step && getStep(flow, located.step)) {
        step = located.step;
        field = located.field;
      }
    }
    if (!step && problem.step_id) step = pathOfId(flow, problem.step_id);
    const placed: PlacedProblem = { message: problem.message, severity, field };
    if (problem.rule) placed.rule = problem.rule;
    if (step) byStep.set(step, [...(byStep.get(step) ?? []), placed]);
    else general.push(placed);
  }
  return { byStep, general };
}

/** The problems of one field of a step ("template_id", "fallback.template_id", "variants[1].percent"). */
export function fieldProblems(problems: readonly PlacedProblem[] | undefined, field: string): PlacedProblem[] {
  return (problems ?? []).filter((p) => p.field === field || (p.field?.startsWith(`${field}.`) ?? false));
}

// --- Reading and summarising ------------------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A flow from the API (or anything): unknown shapes are dropped rather than trusted. */
export function toFlow(value: unknown): Flow {
  if (!isRecord(value)) return emptyFlow();
  const steps = Array.isArray(value.steps) ? (value.steps.filter(isRecord) as unknown as Step[]) : [];
  const exit = Array.isArray(value.exit_on_statuses) ? value.exit_on_statuses.filter((s) => typeof s === "string") : [];
  return { steps, exit_on_statuses: exit as string[] };
}

/** "1 day 2 h", "30 min"; "0 min" for an empty one. */
export function formatDuration(duration: Duration | null | undefined): string {
  const parts: string[] = [];
  if (duration?.days) parts.push(`${duration.days} day${duration.days === 1 ? "" : "s"}`);
  if (duration?.hours) parts.push(`${duration.hours} h`);
  if (duration?.minutes) parts.push(`${duration.minutes} min`);
  return parts.length ? parts.join(" ") : "0 min";
}

/** Minutes in a duration. */
export function durationMinutes(duration: Duration | null | undefined): number {
  return (duration?.days ?? 0) * 1440 + (duration?.hours ?? 0) * 60 + (duration?.minutes ?? 0);
}

/** The send steps of the flow in execution order. */
export function sendSteps(flow: Flow): { path: StepPath; step: SendStep }[] {
  return iterSteps(flow)
    .filter((l): l is Located & { step: SendStep } => l.step.type === "send")
    .map(({ path, step }) => ({ path, step }));
}

/** Channels the flow sends on (primary and fallback). */
export function flowChannels(flow: Flow): Channel[] {
  const used = new Set<Channel>();
  for (const { step } of sendSteps(flow)) {
    used.add(step.channel);
    if (step.fallback) used.add(step.fallback.channel);
  }
  return CHANNELS.filter((c) => used.has(c));
}

/** Problems the wizard sees before asking the API (the API's are authoritative; these are for a quick look). */
export function localProblems(flow: Flow): Problem[] {
  const problems: Problem[] = [];
  if (sendSteps(flow).length === 0) problems.push({ message: "The flow needs at least one send step.", field: "flow.steps" });
  const seen = new Set<string>();
  for (const { path, step } of iterSteps(flow)) {
    if (!STEP_ID_PATTERN.test(step.id)) {
      problems.push({ message: "Step ids use a-z, 0-9, - and _ (1 to 40).", field: `flow.${path}.id` });
    } else if (seen.has(step.id)) {
      problems.push({ message: `The step id “${step.id}” is used twice.`, field: `flow.${path}.id` });
    }
    seen.add(step.id);
    if (step.type === "send") {
      if (step.template_id === null) problems.push({ message: "Choose a template.", field: `flow.${path}.template_id` });
      if (step.fallback) {
        if (step.fallback.template_id === null) {
          problems.push({ message: "Choose the fallback's template.", field: `flow.${path}.fallback.template_id` });
        }
        if (step.fallback.channel === step.channel) {
          problems.push({ message: "The fallback needs another channel.", field: `flow.${path}.fallback.channel` });
        }
      }
    }
    if (step.type === "wait") {
      if (step.duration && durationMinutes(step.duration) <= 0) {
        problems.push({ message: "A wait needs a duration above zero.", field: `flow.${path}.duration` });
      }
      if (step.until && (!step.until.date || !step.until.time)) {
        problems.push({ message: "Give the date and time to wait until.", field: `flow.${path}.until` });
      }
    }
    if (step.type === "ab_split") {
      for (const message of percentProblems(step.variants)) problems.push({ message, field: `flow.${path}.variants` });
    }
    if (step.type === "branch" && step.condition.kind === "engagement") {
      const allowed = earlierSends(flow, path).map((s) => s.id);
      if (!allowed.includes(step.condition.step_id)) {
        problems.push({
          message: "Pick a send step every lead went through before this branch.",
          field: `flow.${path}.condition.step_id`,
        });
      }
    }
  }
  return problems;
}

/** The flow as the API takes it: wait steps carry exactly one of duration/until, nulls that mean "none" dropped. */
export function flowForApi(flow: Flow): Flow {
  const clean = (steps: Step[]): Step[] =>
    steps.map((step) => {
      switch (step.type) {
        case "send": {
          const out: SendStep = { ...step };
          if (!out.fallback) delete out.fallback;
          return out;
        }
        case "wait": {
          const out: WaitStep = { id: step.id, type: "wait", respect_quiet_hours: step.respect_quiet_hours };
          if (step.until) out.until = step.until;
          else out.duration = step.duration ?? { minutes: 0 };
          return out;
        }
        case "branch":
          return { ...step, yes: clean(step.yes), no: clean(step.no) };
        case "ab_split": {
          const out: SplitStep = { ...step, variants: step.variants.map((v) => ({ ...v, steps: clean(v.steps) })) };
          if (!out.winner) delete out.winner;
          return out;
        }
        default:
          return step;
      }
    });
  return { steps: clean(flow.steps), exit_on_statuses: flow.exit_on_statuses };
}
