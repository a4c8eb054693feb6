import { NODE_TYPES } from "./catalogue";
import { configOf, isRecord, type DraftNode } from "./model";

/**
 * The outcomes (edge handles) a node offers, by the rules of domain/automation_graph.py `outcomes` (kept equal by
 * tests/fixtures/automations/outcomes.json, which both test suites read):
 * - triggers: `next` (required);
 * - filter and engagement conditions: `yes` and `no`; a random split: one outcome per branch key (all required);
 * - actions: `next` and `fallback`, both optional (`next` open: the journey completes after the action; `fallback`
 *   open: a failed action ends the journey as failed); `exit`: none;
 * - delays: `next` (required); wait_until_date_field also `skipped` (optional); wait_for_event `event` and
 *   `timeout` (both required).
 */
export type Outcomes = { required: string[]; optional: string[] };

export function outcomes(node: Pick<DraftNode, "type" | "config">): Outcomes {
  switch (node.type) {
    case "exit":
      return { required: [], optional: [] };
    case "filter":
    case "engagement":
      return { required: ["yes", "no"], optional: [] };
    case "random_split":
      return { required: branchKeys(configOf(node).branches), optional: [] };
    case "wait_for_event":
      return { required: ["event", "timeout"], optional: [] };
    case "wait_until_date_field":
      return { required: ["next"], optional: ["skipped"] };
  }
  if (NODE_TYPES[node.type].category === "action") return { required: [], optional: ["next", "fallback"] };
  return { required: ["next"], optional: [] }; // triggers and the other delays
}

/** Every outcome of the node, required ones first. */
export function allowedOutcomes(node: Pick<DraftNode, "type" | "config">): string[] {
  const { required, optional } = outcomes(node);
  return [...required, ...optional];
}

/** The keys of a split's branches, each once, in order (a draft may repeat one: the API says so). */
function branchKeys(branches: unknown): string[] {
  if (!Array.isArray(branches)) return [];
  const keys: string[] = [];
  for (const branch of branches) {
    if (isRecord(branch) && typeof branch.key === "string" && branch.key !== "" && !keys.includes(branch.key)) {
      keys.push(branch.key);
    }
  }
  return keys;
}

/** Whether anything may lead into a node of this type (nothing leads into a trigger). */
export function acceptsIncoming(node: Pick<DraftNode, "type">): boolean {
  return NODE_TYPES[node.type].category !== "trigger";
}
