import type { Edge as FlowEdge, Node as FlowNode } from "@xyflow/react";
import { ID_PREFIX, NODE_TYPES, NODE_TYPE_NAMES, isNodeType } from "./catalogue";
import {
  NODE_SIZE,
  isRecord,
  type DraftEdge,
  type DraftGraph,
  type DraftNode,
  type GraphProblem,
  type Json,
  type NodeType,
  type XY,
} from "./model";
import type { NodeOverlay } from "./monitoring/overlay";

/**
 * The automation graph ⇄ what xyflow draws. A node is an xyflow node of type "automation" carrying the draft node
 * (its position is xyflow's); an edge goes from the source's handle named after the outcome (`sourceHandle`) to the
 * target. The graph is the document (history, validation, storage); xyflow's nodes and edges are derived from it.
 */

export type AutomationNodeData = {
  node: DraftNode;
  /** Added by the builder for drawing: the node's problems, the outcomes with an error, the one-line summary. */
  problems?: GraphProblem[];
  badOutcomes?: string[];
  summary?: string;
  /** Badges and highlight of an overlay (monitoring counts, simulator results): monitoring/overlay.ts. */
  overlay?: NodeOverlay;
};
export type AutomationFlowNode = FlowNode<AutomationNodeData, "automation">;
export type AutomationEdgeData = { edge: DraftEdge; index: number };
export type AutomationFlowEdge = FlowEdge<AutomationEdgeData>;

/** Where a node without a position is drawn (the builder lays such graphs out when they are loaded). */
export function fallbackPosition(index: number): XY {
  return { x: 0, y: index * 140 };
}

/** The xyflow id of the edge at `index`: its own id when it has a unique one, else one made from its place. */
export function flowEdgeIds(edges: readonly DraftEdge[]): string[] {
  const seen = new Set<string>();
  return edges.map((edge, index) => {
    let id = typeof edge.id === "string" && edge.id !== "" ? edge.id : `${edge.source}:${edge.outcome}`;
    if (seen.has(id)) id = `${id}#${index}`;
    seen.add(id);
    return id;
  });
}

export function toFlow(graph: DraftGraph): { nodes: AutomationFlowNode[]; edges: AutomationFlowEdge[] } {
  const nodes = graph.nodes.map(
    (node, index): AutomationFlowNode => ({
      id: node.id,
      type: "automation",
      position: node.position ? { x: node.position.x, y: node.position.y } : fallbackPosition(index),
      data: { node: withoutPosition(node) },
    }),
  );
  const ids = flowEdgeIds(graph.edges);
  const edges = graph.edges.map(
    (edge, index): AutomationFlowEdge => ({
      id: ids[index] ?? String(index),
      source: edge.source,
      sourceHandle: edge.outcome,
      target: edge.target,
      data: { edge, index },
    }),
  );
  return { nodes, edges };
}

/** The graph again, from xyflow's nodes and edges and the rest of the automation (re-entry, goals...). */
export function fromFlow(
  nodes: readonly AutomationFlowNode[],
  edges: readonly AutomationFlowEdge[],
  rest: Omit<DraftGraph, "nodes" | "edges">,
): DraftGraph {
  return {
    nodes: nodes.map((flowNode) => withPosition(flowNode.data.node, flowNode.position)),
    edges: edges.map((flowEdge) => {
      const base: DraftEdge = flowEdge.data?.edge ?? { source: "", outcome: "", target: "" };
      const edge: DraftEdge = { ...base, source: flowEdge.source, outcome: flowEdge.sourceHandle ?? base.outcome, target: flowEdge.target };
      return orderEdge(edge);
    }),
    ...rest,
  };
}

function withoutPosition(node: DraftNode): DraftNode {
  const { position: _position, ...rest } = node;
  return rest as DraftNode;
}

/** The node with a position, its keys in the documented order (id, type, label, config, position, then others). */
export function withPosition(node: DraftNode, position: XY): DraftNode {
  const { id, type, label, config, position: _old, ...others } = node;
  const out: DraftNode = { id, type };
  if (label !== undefined) out.label = label;
  if (config !== undefined) out.config = config;
  out.position = { x: position.x, y: position.y };
  return { ...out, ...others };
}

function orderEdge(edge: DraftEdge): DraftEdge {
  const { id, source, outcome, target, ...others } = edge;
  const out: DraftEdge = id === undefined ? { source, outcome, target } : { id, source, outcome, target };
  return { ...out, ...others };
}

// --- Editing ----------------------------------------------------------------------------------------------------------

/** A readable id not used in the graph: "trigger-1", "do-2", "wait-3". */
export function newNodeId(graph: DraftGraph, type: NodeType): string {
  const prefix = ID_PREFIX[NODE_TYPES[type].category];
  const used = new Set(graph.nodes.map((node) => node.id));
  let n = 1;
  while (used.has(`${prefix}-${n}`)) n += 1;
  return `${prefix}-${n}`;
}

function newEdgeId(graph: DraftGraph): string {
  const used = new Set(graph.edges.map((edge) => edge.id));
  let n = graph.edges.length + 1;
  while (used.has(`e${n}`)) n += 1;
  return `e${n}`;
}

/** `wanted`, or the nearest place around it where the new node would not cover another one. */
export function freeSpot(graph: DraftGraph, wanted: XY): XY {
  const { width, height } = NODE_SIZE;
  const covers = (at: XY) =>
    graph.nodes.some(
      (node) => node.position && Math.abs(node.position.x - at.x) < width && Math.abs(node.position.y - at.y) < height,
    );
  for (let ring = 0; ring < 6; ring += 1) {
    for (const [dx, dy] of [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1], [1, 1], [-1, 1], [1, -1], [-1, -1]] as const) {
      const at = { x: wanted.x + dx * ring * (width + 20), y: wanted.y + dy * ring * (height + 20) };
      if (!covers(at)) return at;
    }
  }
  return wanted;
}

export function addNode(graph: DraftGraph, type: NodeType, position: XY): { graph: DraftGraph; id: string } {
  const id = newNodeId(graph, type);
  const node: DraftNode = {
    id,
    type,
    config: NODE_TYPES[type].config(),
    position: { x: Math.round(position.x), y: Math.round(position.y) },
  };
  return { graph: { ...graph, nodes: [...graph.nodes, node] }, id };
}

/** Connects `source`'s outcome to `target`; an outcome leads to one node, so an earlier edge of it is replaced. */
export function connect(graph: DraftGraph, source: string, outcome: string, target: string): DraftGraph {
  const existing = graph.edges.findIndex((edge) => edge.source === source && edge.outcome === outcome);
  if (existing >= 0) {
    const edges = graph.edges.map((edge, index) => (index === existing ? { ...edge, target } : edge));
    return { ...graph, edges };
  }
  return { ...graph, edges: [...graph.edges, { id: newEdgeId(graph), source, outcome, target }] };
}

/** Without these nodes (and their edges) and the edges at these indexes. */
export function removeElements(graph: DraftGraph, nodeIds: Iterable<string>, edgeIndexes: Iterable<number> = []): DraftGraph {
  const nodes = new Set(nodeIds);
  const edges = new Set(edgeIndexes);
  if (nodes.size === 0 && edges.size === 0) return graph;
  return {
    ...graph,
    nodes: graph.nodes.filter((node) => !nodes.has(node.id)),
    edges: graph.edges.filter(
      (edge, index) => !edges.has(index) && !nodes.has(edge.source) && !nodes.has(edge.target),
    ),
  };
}

export function updateNode(graph: DraftGraph, id: string, change: (node: DraftNode) => DraftNode): DraftGraph {
  return { ...graph, nodes: graph.nodes.map((node) => (node.id === id ? change(node) : node)) };
}

/** The node's config with `patch` applied; an `undefined` value removes the key. */
export function patchConfig(graph: DraftGraph, id: string, patch: Json): DraftGraph {
  return updateNode(graph, id, (node) => {
    const config: Json = { ...(isRecord(node.config) ? node.config : {}) };
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined) delete config[key];
      else config[key] = value;
    }
    return { ...node, config };
  });
}

export function moveNodes(graph: DraftGraph, positions: ReadonlyMap<string, XY>): DraftGraph {
  if (positions.size === 0) return graph;
  return {
    ...graph,
    nodes: graph.nodes.map((node) => {
      const position = positions.get(node.id);
      return position ? withPosition(node, { x: Math.round(position.x), y: Math.round(position.y) }) : node;
    }),
  };
}

/** A split branch renamed: its edge follows (`to` empty: the branch's edge goes). */
export function renameOutcome(graph: DraftGraph, nodeId: string, from: string, to: string): DraftGraph {
  if (from === to) return graph;
  const edges = graph.edges.flatMap((edge) => {
    if (edge.source !== nodeId || edge.outcome !== from) return [edge];
    return to === "" ? [] : [{ ...edge, outcome: to }];
  });
  return { ...graph, edges };
}

// --- JSON -------------------------------------------------------------------------------------------------------------

export function graphJson(graph: DraftGraph): string {
  return JSON.stringify(graph, null, 2);
}

export type ReadResult = { graph: DraftGraph; errors: [] } | { graph: null; errors: string[] };

/**
 * JSON text as a graph the builder can draw, or why not: not JSON, not an object, nodes and edges not lists, a node
 * without an id or with an unknown type, an id used twice, a position that is not {x, y}, an edge without source,
 * outcome and target. Everything else (configs, references, outcomes) is the API's to check, on the nodes.
 */
export function parseGraphJson(text: string): ReadResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { graph: null, errors: [`Not JSON: ${error instanceof Error ? error.message : String(error)}`] };
  }
  return readGraph(value);
}

export function readGraph(value: unknown): ReadResult {
  if (!isRecord(value)) return { graph: null, errors: ["An automation is a JSON object: {nodes, edges, reentry, goals}"] };
  const errors: string[] = [];
  const rawNodes = value.nodes ?? [];
  const rawEdges = value.edges ?? [];
  if (!Array.isArray(rawNodes)) errors.push("nodes: expects a list");
  if (!Array.isArray(rawEdges)) errors.push("edges: expects a list");
  if (value.goals !== undefined && !Array.isArray(value.goals)) errors.push("goals: expects a list");
  const nodes: DraftNode[] = [];
  const seen = new Set<string>();
  (Array.isArray(rawNodes) ? rawNodes : []).forEach((raw: unknown, index) => {
    const where = `nodes[${index}]`;
    if (!isRecord(raw)) return void errors.push(`${where}: expects an object`);
    const { id, type, config, position, label } = raw;
    if (typeof id !== "string" || id === "") return void errors.push(`${where}: needs an "id" (text)`);
    if (!isNodeType(type)) {
      return void errors.push(`${where} (${id}): unknown type ${JSON.stringify(type)}; one of ${NODE_TYPE_NAMES.join(", ")}`);
    }
    if (seen.has(id)) return void errors.push(`${where}: the id "${id}" is used twice`);
    seen.add(id);
    if (config !== undefined && !isRecord(config)) errors.push(`${where} (${id}).config: expects an object`);
    if (label !== undefined && label !== null && typeof label !== "string") errors.push(`${where} (${id}).label: expects text`);
    if (position !== undefined && position !== null && !isXY(position)) {
      errors.push(`${where} (${id}).position: expects {"x": number, "y": number}`);
    }
    nodes.push(raw as DraftNode);
  });
  const edges: DraftEdge[] = [];
  (Array.isArray(rawEdges) ? rawEdges : []).forEach((raw: unknown, index) => {
    const where = `edges[${index}]`;
    if (!isRecord(raw)) return void errors.push(`${where}: expects an object`);
    const missing = (["source", "outcome", "target"] as const).filter((key) => typeof raw[key] !== "string");
    if (missing.length) return void errors.push(`${where}: needs ${missing.map((key) => `"${key}"`).join(", ")} (text)`);
    if (raw.id !== undefined && raw.id !== null && typeof raw.id !== "string") errors.push(`${where}.id: expects text`);
    edges.push(raw as DraftEdge);
  });
  if (errors.length) return { graph: null, errors };
  return { graph: { ...value, nodes, edges } as DraftGraph, errors: [] };
}

function isXY(value: unknown): value is XY {
  return isRecord(value) && Number.isFinite(value.x) && Number.isFinite(value.y);
}

/** Whether some node has no position (a hand-written graph): the builder lays it out. */
export function needsLayout(graph: DraftGraph): boolean {
  return graph.nodes.some((node) => !node.position);
}
