/**
 * What the builder can draw over a graph, whoever computes it (the monitoring's counts of leads, the simulator's
 * results): badges per node, and a path (nodes and edges) highlighted with the rest dimmed. The builder takes it as
 * its `overlay` prop; nothing in it is saved with the graph.
 */

export type OverlayTone = "neutral" | "info" | "ok" | "warn" | "bad";

/** One count (or short value) on a node: "3 waiting", "1 error". */
export type NodeBadge = { label: string; value: number | string; tone?: OverlayTone; title?: string };

export type GraphOverlay = {
  /** Badges per node id; a node not listed has none. */
  counts: Readonly<Record<string, readonly NodeBadge[]>>;
  /** A path to show: these nodes and edges stand out, the others are dimmed. Edges by `edgeKey(source, outcome)`. */
  highlight?: { nodes: readonly string[]; edges: readonly string[] };
};

/** What one node draws of an overlay. */
export type NodeOverlay = { badges: readonly NodeBadge[]; highlighted: boolean; dimmed: boolean };

/** An edge's key in a highlight: its source and outcome (an outcome is connected once, and ids cannot hold ":"). */
export function edgeKey(source: string, outcome: string): string {
  return `${source}:${outcome}`;
}

/** The overlay of one node; undefined when there is no overlay. */
export function nodeOverlay(overlay: GraphOverlay | undefined, nodeId: string): NodeOverlay | undefined {
  if (!overlay) return undefined;
  const highlighted = overlay.highlight ? overlay.highlight.nodes.includes(nodeId) : false;
  return {
    badges: overlay.counts[nodeId] ?? [],
    highlighted,
    dimmed: overlay.highlight !== undefined && !highlighted,
  };
}

/** The class an edge gets from the overlay's highlight ("" without one). */
export function edgeOverlayClass(overlay: GraphOverlay | undefined, source: string, outcome: string): string {
  if (!overlay?.highlight) return "";
  return overlay.highlight.edges.includes(edgeKey(source, outcome)) ? "is-highlighted" : "is-dimmed";
}
