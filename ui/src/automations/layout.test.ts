import { describe, expect, it } from "vitest";
import example from "../../../tests/fixtures/automations/qualified_case_study.json";
import { readGraph } from "./graph";
import { NODE_SIZE, layoutGraph } from "./layout";
import { emptyGraph, type DraftGraph } from "./model";

function fixture(): DraftGraph {
  const read = readGraph(structuredClone(example));
  if (!read.graph) throw new Error(read.errors.join("; "));
  return read.graph;
}

describe("auto-layout", () => {
  it("keeps every node, edge and setting, and only moves nodes", () => {
    const graph = fixture();
    const laid = layoutGraph(graph);
    expect(laid.nodes.map((n) => n.id)).toEqual(graph.nodes.map((n) => n.id));
    expect(laid.edges).toEqual(graph.edges);
    expect(laid.goals).toEqual(graph.goals);
    laid.nodes.forEach((node, i) => {
      const { position, ...rest } = node;
      const { position: _before, ...before } = graph.nodes[i] ?? { id: "" };
      expect(rest).toEqual(before);
      expect(Number.isInteger(position?.x) && Number.isInteger(position?.y)).toBe(true);
    });
  });

  it("lays out top to bottom: each edge's target below its source, and no two nodes overlap", () => {
    const laid = layoutGraph(fixture());
    const at = new Map(laid.nodes.map((n) => [n.id, n.position ?? { x: NaN, y: NaN }]));
    for (const edge of laid.edges) {
      expect(at.get(edge.target)!.y).toBeGreaterThan(at.get(edge.source)!.y);
    }
    const boxes = [...at.values()];
    boxes.forEach((a, i) =>
      boxes.slice(i + 1).forEach((b) => {
        const apart = Math.abs(a.x - b.x) >= NODE_SIZE.width || Math.abs(a.y - b.y) >= NODE_SIZE.height;
        expect(apart).toBe(true);
      }),
    );
  });

  it("lays out what it can: nodes without edges, edges to missing nodes, self-loops, measured sizes", () => {
    const graph: DraftGraph = {
      ...emptyGraph(),
      nodes: [
        { id: "a", type: "lead_created" },
        { id: "b", type: "exit" },
        { id: "c", type: "wait_duration", config: { duration: { days: 1 } } },
      ],
      edges: [
        { source: "a", outcome: "next", target: "ghost" },
        { source: "c", outcome: "next", target: "c" },
      ],
    };
    const laid = layoutGraph(graph, { a: { width: 400, height: 200 } });
    expect(laid.nodes.every((n) => n.position && Number.isFinite(n.position.x))).toBe(true);
    expect(laid.edges).toEqual(graph.edges);
    expect(layoutGraph(emptyGraph())).toEqual(emptyGraph());
  });
});
