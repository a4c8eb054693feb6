import type { components } from "../api/schema";

/**
 * An automation as the builder edits it (#10, docs/automations.md): nodes (triggers, conditions, actions, delays)
 * joined by edges from one of a node's *outcomes* to another node, a re-entry policy and goals.
 *
 * The API's types (generated from the backend's pydantic models) describe a valid graph. A draft is not one yet: a
 * send without its template, a split whose percents do not add up... so the builder keeps each node's config as
 * plain JSON, and keys it does not know, for the API to name what is wrong (POST /api/automations/validate).
 */

type Schemas = components["schemas"];

/** A valid graph, as the API answers it (defaults filled in). */
export type ApiGraph = Schemas["AutomationGraph"];
export type ApiNode = NonNullable<ApiGraph["nodes"]>[number];
export type NodeType = ApiNode["type"];
/** The config of a node type, as the API defines it. */
export type ConfigOf<T extends NodeType> = NonNullable<Extract<ApiNode, { type: T }>["config"]>;
export type Reentry = ApiGraph["reentry"];
export type EventSpec = Schemas["WaitForEventConfig"]["event"];
export type EventKind = EventSpec["kind"];
export type Duration = Schemas["Duration"];
export type GraphProblem = Schemas["GraphProblemOut"];
export type ValidationAnswer = Schemas["DraftCheckOut"];
export type Category = "trigger" | "condition" | "action" | "delay";

export type XY = { x: number; y: number };

/** The size a node is placed and laid out with when the canvas has not measured it (builder.css `.automation-node`). */
export const NODE_SIZE = { width: 240, height: 110 };
export type Json = { [key: string]: unknown };

export type DraftNode = {
  id: string;
  type: NodeType;
  label?: string | null;
  config?: Json;
  position?: XY | null;
  [key: string]: unknown;
};

export type DraftEdge = {
  id?: string | null;
  source: string;
  outcome: string;
  target: string;
  [key: string]: unknown;
};

export type DraftGraph = {
  nodes: DraftNode[];
  edges: DraftEdge[];
  reentry?: unknown;
  goals?: Json[];
  [key: string]: unknown;
};

export const REENTRY: { value: Reentry; label: string; hint: string }[] = [
  { value: "once_ever", label: "Once ever", hint: "A lead enters this automation once, ever (all versions counted)." },
  {
    value: "once_at_a_time",
    label: "Once at a time",
    hint: "A lead enters again only after its previous journey here has ended.",
  },
  {
    value: "every_time",
    label: "Every time",
    hint: "Every trigger starts a journey, even while others of the lead run (up to 10 at once).",
  },
];

export function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function emptyGraph(): DraftGraph {
  return { nodes: [], edges: [], reentry: "once_ever", goals: [] };
}

/** The node's config (an empty object when it has none or it is not an object). */
export function configOf(node: Pick<DraftNode, "config">): Json {
  return isRecord(node.config) ? node.config : {};
}

export function nodeById(graph: DraftGraph, id: string): DraftNode | undefined {
  return graph.nodes.find((node) => node.id === id);
}
