import dagre from "@dagrejs/dagre";
import { moveNodes } from "./graph";
import { NODE_SIZE, type DraftGraph, type XY } from "./model";

export { NODE_SIZE };

export type Sizes = Readonly<Record<string, { width?: number; height?: number } | undefined>>;

/**
 * Every node placed top to bottom by dagre (layered: triggers first, each outcome's target below its source), with
 * the sizes the canvas measured. Edges to missing nodes and self-loops are left out of the layout; nodes keep their
 * order, config and everything but their position.
 */
export function layoutGraph(graph: DraftGraph, sizes: Sizes = {}): DraftGraph {
  if (graph.nodes.length === 0) return graph;
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 48, ranksep: 72, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  const size = (id: string) => ({
    width: sizes[id]?.width || NODE_SIZE.width,
    height: sizes[id]?.height || NODE_SIZE.height,
  });
  for (const node of graph.nodes) g.setNode(node.id, size(node.id));
  graph.edges.forEach((edge, index) => {
    if (edge.source !== edge.target && g.hasNode(edge.source) && g.hasNode(edge.target)) {
      g.setEdge(edge.source, edge.target, {}, String(index));
    }
  });
  dagre.layout(g);
  const positions = new Map<string, XY>();
  for (const node of graph.nodes) {
    const placed = g.node(node.id);
    const { width, height } = size(node.id);
    if (placed && Number.isFinite(placed.x) && Number.isFinite(placed.y)) {
      positions.set(node.id, { x: placed.x - width / 2, y: placed.y - height / 2 });
    }
  }
  return moveNodes(graph, positions);
}
