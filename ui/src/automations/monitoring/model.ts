import type { components } from "../../api/schema";
import { edgeKey, type GraphOverlay, type NodeBadge, type OverlayTone } from "./overlay";

/**
 * The monitoring's answers (api/routes/automation_monitoring.py) turned into what the builder draws: counts of leads
 * per node as badges, a journey's path as a highlight; and the short texts of the panel.
 */

type Schemas = components["schemas"];
export type Monitor = Schemas["MonitorOut"];
export type NodeCounts = Schemas["MonitorNodeCounts"];
export type ErrorEntry = Schemas["MonitorErrorEntry"];
export type ErrorPage = Schemas["MonitorErrorPage"];
export type Journey = Schemas["MonitoredJourney"];
export type JourneyPage = Schemas["MonitoredJourneyPage"];
export type JourneyDetail = Schemas["MonitoredJourneyDetail"];
export type JourneyStep = Schemas["MonitoredJourneyStep"];
export type MonitorMode = Monitor["mode"];
export type JourneyStatus = Journey["status"];

export const JOURNEY_STATUSES: readonly { key: JourneyStatus; label: string }[] = [
  { key: "active", label: "Active" },
  { key: "waiting", label: "Waiting" },
  { key: "completed", label: "Completed" },
  { key: "exited", label: "Exited" },
  { key: "failed", label: "Failed" },
  { key: "goal_met", label: "Goal met" },
];

/** The counts drawn on a node, in this order; a zero is not drawn. */
const BADGES: readonly { key: keyof Omit<NodeCounts, "node_id">; label: string; one?: string; tone: OverlayTone; title: string }[] = [
  { key: "waiting", label: "waiting", tone: "info", title: "Leads waiting here" },
  { key: "active", label: "active", tone: "info", title: "Leads here now, between waits" },
  { key: "completed", label: "completed", tone: "ok", title: "Journeys that completed here" },
  { key: "goal_met", label: "goal met", tone: "ok", title: "Journeys that met a goal here" },
  { key: "exited", label: "exited", tone: "neutral", title: "Journeys that exited here" },
  { key: "failed", label: "failed", tone: "bad", title: "Journeys that failed here" },
  { key: "errors", label: "errors", one: "error", tone: "bad", title: "Steps here that ended in an error" },
  { key: "fallbacks", label: "fallbacks", one: "fallback", tone: "warn", title: "Steps here that took the fallback" },
];

/** A node's badges: its non-zero counts ("errors" in red), then how many steps went through it. */
export function countBadges(counts: NodeCounts): NodeBadge[] {
  const badges: NodeBadge[] = BADGES.filter((b) => counts[b.key] > 0).map((b) => ({
    label: counts[b.key] === 1 && b.one ? b.one : b.label,
    value: counts[b.key],
    tone: b.tone,
    title: b.title,
  }));
  if (counts.passed > 0) {
    const retried = counts.retried > 0 ? ` (${counts.retried} retried)` : "";
    badges.push({ label: "passed", value: counts.passed, tone: "neutral", title: `Steps recorded here${retried}` });
  }
  return badges;
}

/** The path a journey took: the nodes it reached and the edges it took, as an overlay's highlight. */
export function journeyHighlight(detail: Pick<JourneyDetail, "nodes" | "edges">): NonNullable<GraphOverlay["highlight"]> {
  return { nodes: [...detail.nodes], edges: detail.edges.map((e) => edgeKey(e.source, e.outcome)) };
}

/** The monitor's counts on every node that has any, and a journey's path when one is chosen. */
export function monitorOverlay(
  monitor: Pick<Monitor, "nodes"> | undefined,
  highlight?: GraphOverlay["highlight"],
): GraphOverlay {
  const counts: Record<string, NodeBadge[]> = {};
  for (const row of monitor?.nodes ?? []) {
    const badges = countBadges(row);
    if (badges.length) counts[row.node_id] = badges;
  }
  return highlight ? { counts, highlight } : { counts };
}

/** Nodes with counts that the graph on screen does not have (a node removed from the draft since). */
export function countedElsewhere(monitor: Pick<Monitor, "nodes"> | undefined, nodeIds: readonly string[]): string[] {
  const shown = new Set(nodeIds);
  return (monitor?.nodes ?? []).filter((row) => !shown.has(row.node_id)).map((row) => row.node_id);
}

/** "2 of 2 attempts", "? of 3 attempts" (a non-retryable failure does not say which attempt it was). */
export function attemptsLabel(entry: Pick<ErrorEntry, "attempts" | "max_attempts">): string {
  if (entry.attempts == null && entry.max_attempts == null) return "";
  const made = entry.attempts ?? "?";
  return entry.max_attempts == null ? `${made} attempts` : `${made} of ${entry.max_attempts} attempts`;
}

/** The lead as a line: "Ada Lovelace <ada@example.com>", the email alone, or "Lead 12". */
export function leadLabel(lead: { id: number; name: string; email?: string | null }): string {
  if (lead.name && lead.email) return `${lead.name} <${lead.email}>`;
  return lead.name || lead.email || `Lead ${lead.id}`;
}

/** What happened at a step, in a few words: "next", "fallback · failed: HTTP 500", "ended: completed". */
export function stepLine(step: Pick<JourneyStep, "outcome" | "reason" | "end_status" | "detail">): string {
  const detail = step.detail ?? {};
  const parts: string[] = [];
  if (step.outcome) parts.push(step.outcome);
  if (step.reason && step.reason !== step.outcome) parts.push(step.reason);
  if (typeof detail.error === "string") parts.push(`error: ${detail.error}`);
  else if (typeof detail.why === "string") parts.push(detail.why);
  if (typeof detail.attempts === "number" && detail.attempts > 1) parts.push(`${detail.attempts} attempts`);
  if (step.end_status) parts.push(`ended: ${step.end_status.replace("_", " ")}`);
  return parts.join(" · ");
}

/** The "next page" cursor of a keyset page (undefined: the last page), for TanStack's infinite queries. */
export function nextBefore(page: { next_before?: number | null }): number | undefined {
  return page.next_before ?? undefined;
}
