import type { components } from "../../api/schema";
import { edgeKey, type GraphOverlay, type NodeBadge } from "../monitoring/overlay";

/**
 * The simulator's answers (api/routes/automation_simulations.py) turned into what the builder draws: per-node counts
 * as badges, a simulated lead's path as a highlight; the request bodies from the panel's inputs; and short texts.
 */

type Schemas = components["schemas"];
export type Simulation = Schemas["SimulationOut"];
export type SimulationResults = Schemas["SimulationResults"];
export type SimulatedLead = Schemas["SimulatedLead"];
export type SimulatedStep = Schemas["SimulatedStep"];
export type WouldSend = Schemas["WouldSend"];
export type NodeCount = Schemas["NodeCount"];
export type SimulationStatus = Simulation["status"];
/** POST …/simulations: the leads by `lead_ids`, or by `filter` and `limit`; the graph (omitted: the saved draft). */
export type SimulationRequest = {
  lead_ids?: number[];
  filter?: unknown;
  limit?: number;
  graph?: unknown;
  trigger_node?: string;
  engagement?: Engagement;
};
/** What every simulated lead does with each message sent to it: nothing, open it, or click it (at once). */
export type Engagement = "none" | "opens" | "clicks";
export const ENGAGEMENTS: { value: Engagement; label: string }[] = [
  { value: "none", label: "Nobody opens or clicks (waits for an open or a click time out)" },
  { value: "opens", label: "Every lead opens each message at once" },
  { value: "clicks", label: "Every lead opens and clicks each message at once" },
];
export type TestRun = Schemas["TestRunOut"];
export type TestRunProgress = Schemas["TestRunProgressOut"];

export const MAX_LEADS = 200;
export const DEFAULT_LIMIT = 50;
export const MAX_TEST_DELAY = 3600;
export const DEFAULT_TEST_DELAY = 30;

/** Whether a simulation is still under way (its answer is asked again). */
export function isRunning(status: SimulationStatus | undefined): boolean {
  return status === "queued" || status === "running";
}

/** Whether a test run's journey has ended. */
export function testRunEnded(progress: Pick<TestRunProgress, "status"> | undefined): boolean {
  return !!progress?.status && !["active", "waiting"].includes(progress.status);
}

/** "12, 15 20" → [12, 15, 20] (duplicates dropped); an error names what is not a lead id, or too many of them. */
export function parseLeadIds(text: string): { ids: number[]; error: string | null } {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const bad = parts.filter((part) => !/^\d+$/.test(part) || Number(part) < 1);
  if (bad.length) return { ids: [], error: `Not a lead id: ${bad.slice(0, 3).join(", ")}` };
  const ids = [...new Set(parts.map(Number))];
  if (!ids.length) return { ids, error: "Give at least one lead id." };
  if (ids.length > MAX_LEADS) return { ids, error: `At most ${MAX_LEADS} leads at once (${ids.length} given).` };
  return { ids, error: null };
}

export type LeadChoice = { by: "ids"; text: string } | { by: "filter"; filter: unknown; limit: number };

/** The request body for the leads chosen and the graph on screen (null: the saved draft); or what is wrong. */
export function simulationBody(
  choice: LeadChoice,
  graph: unknown,
  triggerNode: string | null,
  engagement: Engagement = "none",
): { body: SimulationRequest | null; error: string | null } {
  const common = {
    ...(graph !== null ? { graph } : {}),
    ...(triggerNode ? { trigger_node: triggerNode } : {}),
    ...(engagement !== "none" ? { engagement } : {}),
  };
  if (choice.by === "ids") {
    const { ids, error } = parseLeadIds(choice.text);
    return error ? { body: null, error } : { body: { lead_ids: ids, ...common }, error: null };
  }
  const limit = Math.trunc(choice.limit);
  if (!(limit >= 1 && limit <= MAX_LEADS)) return { body: null, error: `Simulate 1 to ${MAX_LEADS} leads.` };
  return { body: { filter: choice.filter ?? { combinator: "and", rules: [] }, limit, ...common }, error: null };
}

/** A node's badges: the simulated steps through it, the journeys that ended there, those still waiting there. */
export function simulationBadges(count: NodeCount): NodeBadge[] {
  const outcomes = Object.entries(count.outcomes ?? {})
    .map(([outcome, n]) => `${n} ${outcome}`)
    .join(", ");
  const badges: NodeBadge[] = [];
  if ((count.passed ?? 0) > 0) {
    badges.push({ label: "simulated", value: count.passed ?? 0, tone: "info", title: `Simulated steps here: ${outcomes}` });
  }
  if ((count.ended ?? 0) > 0) badges.push({ label: "ended", value: count.ended ?? 0, tone: "ok", title: "Simulated journeys that ended here" });
  if ((count.waiting ?? 0) > 0) {
    badges.push({ label: "still waiting", value: count.waiting ?? 0, tone: "warn", title: "Simulated journeys stopped while waiting here" });
  }
  return badges;
}

/** A simulated lead's path on the graph: the nodes it went through and the edges (source, outcome) it took. */
export function pathHighlight(lead: Pick<SimulatedLead, "path">): NonNullable<GraphOverlay["highlight"]> {
  const path = lead.path ?? [];
  const nodes = [...new Set(path.map((step) => step.node_id))];
  const edges = [
    ...new Set(path.filter((step) => step.outcome && step.next_node).map((step) => edgeKey(step.node_id, step.outcome as string))),
  ];
  return { nodes, edges };
}

/** The results drawn on the graph: counts on every node that has any, and the chosen lead's path. */
export function simulationOverlay(results: Pick<SimulationResults, "nodes" | "leads"> | null | undefined, leadId: number | null): GraphOverlay {
  const counts: Record<string, NodeBadge[]> = {};
  for (const [nodeId, count] of Object.entries(results?.nodes ?? {})) {
    const badges = simulationBadges(count);
    if (badges.length) counts[nodeId] = badges;
  }
  const lead = leadId === null ? undefined : results?.leads.find((l) => l.lead_id === leadId);
  return lead ? { counts, highlight: pathHighlight(lead) } : { counts };
}

const ENDS: Record<SimulatedLead["end"], string> = {
  completed: "Completed",
  exited: "Exited",
  failed: "Failed",
  goal_met: "Goal met",
  unfinished: "Still waiting",
  not_entered: "Did not enter",
};

/** How a simulated lead's journey ended, in words: "Exited at No click", "Did not enter: enrollment filter". */
export function endLine(lead: SimulatedLead, nodeName: (id: string) => string): string {
  const label = ENDS[lead.end];
  if (lead.end === "not_entered") return `${label}: ${lead.reason.replace(/_/g, " ")}`;
  if (lead.end === "unfinished") return lead.waiting_at ? `${label} at ${nodeName(lead.waiting_at)}` : label;
  const last = lead.path?.at(-1);
  return last ? `${label} at ${nodeName(last.node_id)}` : label;
}

/** What happened at a step, in a few words: "timeout", "fallback · skipped · invalid_address", "would: send …". */
export function stepLine(step: Pick<SimulatedStep, "outcome" | "reason" | "end" | "detail">): string {
  const detail = (step.detail ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (step.outcome) parts.push(step.outcome);
  if (step.reason && step.reason !== step.outcome && step.reason !== "succeeded") parts.push(step.reason);
  if (typeof detail.why === "string") parts.push(detail.why);
  if (typeof detail.error === "string") parts.push(`error: ${detail.error}`);
  if (typeof detail.would === "string") parts.push(`would ${detail.would}`);
  if (step.end) parts.push(`ended: ${step.end.replace("_", " ")}`);
  return parts.join(" · ");
}

/** A would-send line: "email to j***@example.com · Our case study, Ada" or the dry run's words. */
export function sendLine(send: WouldSend): string {
  if (send.kind !== "message") return send.description;
  const what = send.subject ?? send.preview ?? (send.template_name ? `template ${send.template_name}` : "");
  return [`${send.channel ?? ""} to ${send.to ?? "?"}`.trim(), what].filter(Boolean).join(" · ");
}

/** The lead as a line: its name, or "Lead 12". */
export function leadName(lead: Pick<SimulatedLead, "lead_id" | "name">): string {
  return lead.name || `Lead ${lead.lead_id}`;
}
