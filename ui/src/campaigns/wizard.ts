/**
 * The campaign wizard's state: what it edits, the body it sends (POST/PUT /api/campaigns), and which page of the
 * wizard a field the API complains about lives on.
 */

import type { FilterJson } from "../api/queries";
import { emptyFlow, flowForApi, sendSteps, toFlow, type Flow } from "./flow";
import { defaultSchedule, scheduleForApi, toSchedule, type Schedule } from "./schedule";

export const OBJECTIVES = [
  { value: "awareness", label: "Awareness" },
  { value: "lead_generation", label: "Lead generation" },
  { value: "conversion", label: "Conversion" },
  { value: "retention", label: "Retention" },
] as const;
export type Objective = (typeof OBJECTIVES)[number]["value"];

export const GOAL_METRICS = [
  { value: "none", label: "No goal" },
  { value: "open_rate", label: "Open rate (%)" },
  { value: "click_rate", label: "Click rate (%)" },
  { value: "conversions", label: "Conversions" },
] as const;
export type GoalMetric = (typeof GOAL_METRICS)[number]["value"];

export type Utm = { source: string; medium: string; campaign: string };
/** What a campaign's emails track: the open pixel, click redirects, UTM parameters on the links (null: none). */
export type Tracking = { opens: boolean; clicks: boolean; utm: Utm | null };
export const DEFAULT_TRACKING: Tracking = { opens: true, clicks: true, utm: null };

export type CampaignDraft = {
  name: string;
  objective: Objective;
  goal_metric: GoalMetric;
  goal_target: number | null;
  owner_id: number | null;
  tags: string[];
  cost: number;
  list_ids: number[];
  exclude_list_ids: number[];
  /** react-querybuilder JSON (without the builder's ids), null: no filter. */
  exclude_filter: FilterJson | null;
  flow: Flow;
  schedule: Schedule;
  tracking: Tracking;
};

/** The body of POST /api/campaigns and PUT /api/campaigns/{id}. */
export type CampaignBody = Omit<CampaignDraft, "flow" | "schedule"> & { flow: Flow; schedule: Schedule };

export function emptyDraft(ownerId: number | null = null): CampaignDraft {
  return {
    name: "",
    objective: "awareness",
    goal_metric: "none",
    goal_target: null,
    owner_id: ownerId,
    tags: [],
    cost: 0,
    list_ids: [],
    exclude_list_ids: [],
    exclude_filter: null,
    flow: emptyFlow(),
    schedule: defaultSchedule(),
    tracking: { ...DEFAULT_TRACKING },
  };
}

/** The stored `tracking` (defaults for what is missing or malformed). */
export function toTracking(value: unknown): Tracking {
  if (!isRecord(value)) return { ...DEFAULT_TRACKING };
  const utm = isRecord(value.utm) ? value.utm : null;
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    opens: value.opens !== false,
    clicks: value.clicks !== false,
    utm: utm ? { source: text(utm.source), medium: text(utm.medium), campaign: text(utm.campaign) } : null,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numbers(value: unknown): number[] {
  return Array.isArray(value) ? value.filter((v): v is number => typeof v === "number") : [];
}

function pick<T extends string>(value: unknown, allowed: readonly { value: T }[], fallback: T): T {
  return allowed.some((a) => a.value === value) ? (value as T) : fallback;
}

/**
 * The draft for a saved campaign. A campaign from before flows (flow null) becomes a one-step flow of its template,
 * and its single list the list to include.
 */
export function draftFromCampaign(campaign: Record<string, unknown>): CampaignDraft {
  const draft = emptyDraft();
  let flow = toFlow(campaign.flow);
  if (!isRecord(campaign.flow) && typeof campaign.template_id === "number") {
    flow = {
      steps: [
        {
          id: "send",
          type: "send",
          channel: "email",
          template_id: campaign.template_id,
          template_version: typeof campaign.template_version === "number" ? campaign.template_version : null,
          fallback: null,
        },
      ],
      exit_on_statuses: [],
    };
  }
  const listIds = numbers(campaign.list_ids);
  if (listIds.length === 0 && typeof campaign.list_id === "number") listIds.push(campaign.list_id);
  const cost = typeof campaign.cost === "number" ? campaign.cost : Number(campaign.cost ?? 0);
  return {
    name: typeof campaign.name === "string" ? campaign.name : draft.name,
    objective: pick(campaign.objective, OBJECTIVES, draft.objective),
    goal_metric: pick(campaign.goal_metric, GOAL_METRICS, draft.goal_metric),
    goal_target: typeof campaign.goal_target === "number" ? campaign.goal_target : null,
    owner_id: typeof campaign.owner_id === "number" ? campaign.owner_id : null,
    tags: Array.isArray(campaign.tags) ? campaign.tags.filter((t): t is string => typeof t === "string") : [],
    cost: Number.isFinite(cost) ? cost : 0,
    list_ids: listIds,
    exclude_list_ids: numbers(campaign.exclude_list_ids),
    exclude_filter: isRecord(campaign.exclude_filter) ? (campaign.exclude_filter as FilterJson) : null,
    flow,
    schedule: toSchedule(campaign.schedule),
    tracking: toTracking(campaign.tracking),
  };
}

/** The body to save: trimmed name and tags, a goal target only with a goal, the flow and schedule cleaned. */
export function draftToBody(draft: CampaignDraft): CampaignBody {
  const tags = [...new Set(draft.tags.map((t) => t.trim()).filter((t) => t !== ""))];
  return {
    ...draft,
    name: draft.name.trim(),
    tags,
    goal_target: draft.goal_metric === "none" ? null : draft.goal_target,
    cost: Number.isFinite(draft.cost) ? Math.round(draft.cost * 100) / 100 : 0,
    flow: flowForApi(draft.flow),
    schedule: scheduleForApi(draft.schedule),
    tracking: {
      ...draft.tracking,
      utm: draft.tracking.utm
        ? {
            source: draft.tracking.utm.source.trim(),
            medium: draft.tracking.utm.medium.trim(),
            campaign: draft.tracking.utm.campaign.trim(),
          }
        : null,
    },
  };
}

export const WIZARD_STEPS = [
  { key: "basics", label: "Basics" },
  { key: "audience", label: "Audience" },
  { key: "flow", label: "Flow" },
  { key: "schedule", label: "Schedule" },
  { key: "review", label: "Review" },
] as const;
export type WizardStep = (typeof WIZARD_STEPS)[number]["key"];

/** The wizard page that holds a field the API named ("flow.steps[2].template_id" -> "flow"). */
export function wizardStepOfField(field: string | null | undefined): WizardStep | null {
  if (!field) return null;
  const head = field.split(/[.[]/)[0] ?? "";
  if (head === "flow") return "flow";
  if (head === "schedule") return "schedule";
  if (["list_ids", "exclude_list_ids", "exclude_filter", "list_id"].includes(head)) return "audience";
  if (["name", "objective", "goal_metric", "goal_target", "owner_id", "tags", "cost", "tracking"].includes(head)) {
    return "basics";
  }
  return null;
}

/** "spring, vip ,, promo" -> ["spring", "vip", "promo"] (unique). */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim()).filter((t) => t !== ""))];
}

/** What stops the wizard from moving on from a page (shown beside the Next button). */
export function blockingProblem(step: WizardStep, draft: CampaignDraft): string | null {
  if (step === "basics") {
    if (draft.name.trim() === "") return "Give the campaign a name.";
    if (draft.goal_metric !== "none" && (draft.goal_target === null || !(draft.goal_target > 0))) {
      return "Give the goal a target above 0.";
    }
    if (!(draft.cost >= 0)) return "The cost cannot be negative.";
    const utm = draft.tracking.utm;
    if (utm && [utm.source, utm.medium, utm.campaign].some((v) => v.trim() === "")) {
      return "Give the UTM source, medium and campaign, or untick UTM parameters.";
    }
  }
  if (step === "flow" && sendSteps(draft.flow).length === 0) return "Add at least one send step.";
  return null;
}

/** How a goal reads: "5% click rate", "50 conversions". */
export function describeGoal(metric: GoalMetric, target: number | null): string {
  if (metric === "none" || target === null) return "No goal";
  if (metric === "conversions") return `${target} conversions`;
  return `${target}% ${metric === "open_rate" ? "open rate" : "click rate"}`;
}

/** "flow.steps[0].send.template_id: Input should be a valid integer; …" -> "Input should be a valid integer" */
export function firstValidationMessage(message: string): string {
  const first = message.split("; ")[0] ?? message;
  const match = /^[\w.[\]-]+: (.+)$/s.exec(first);
  return match?.[1] ?? first;
}
