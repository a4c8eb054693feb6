import { describe, expect, it } from "vitest";
import example from "../../../tests/fixtures/automations/qualified_case_study.json";
import {
  addNode,
  connect,
  freeSpot,
  fromFlow,
  graphJson,
  moveNodes,
  parseGraphJson,
  readGraph,
  removeElements,
  renameOutcome,
  toFlow,
} from "./graph";
import { emptyGraph, type DraftGraph } from "./model";
import { placeProblems } from "./problems";

/** The example (tests/fixtures/automations/qualified_case_study.json, shared with the backend's tests). */
function fixture(): DraftGraph {
  const read = readGraph(structuredClone(example));
  if (!read.graph) throw new Error(read.errors.join("; "));
  return read.graph;
}

describe("the graph ⇄ xyflow", () => {
  it("turns the issue's example into nodes and edges, each edge from the handle named after its outcome", () => {
    const { nodes, edges } = toFlow(fixture());
    expect(nodes).toHaveLength(9);
    expect(edges).toHaveLength(11);
    const caseStudy = nodes.find((n) => n.id === "case-study");
    expect(caseStudy?.type).toBe("automation");
    expect(caseStudy?.position).toEqual({ x: 0, y: 240 });
    expect(caseStudy?.data.node.config).toEqual({ channel: "email", template_id: 11, retry: { max_attempts: 5, initial_interval_seconds: 30 } });
    expect(caseStudy?.data.node).not.toHaveProperty("position");
    const fallback = edges.find((e) => e.id === "e4");
    expect(fallback).toMatchObject({ source: "case-study", sourceHandle: "fallback", target: "sms-nudge" });
  });

  it("gives the example back unchanged (round trip), its JSON included", () => {
    const graph = fixture();
    const { nodes, edges } = toFlow(graph);
    const { nodes: _n, edges: _e, ...rest } = graph;
    const back = fromFlow(nodes, edges, rest);
    expect(back).toEqual(example);
    expect(JSON.parse(graphJson(back))).toEqual(example);
    // Keys stay in the documented order, so that the JSON tab reads like the docs.
    expect(Object.keys(back.nodes[0] ?? {})).toEqual(["id", "type", "label", "config", "position"]);
    expect(Object.keys(back.edges[0] ?? {})).toEqual(["id", "source", "outcome", "target"]);
  });

  it("takes a moved node's new position and keeps edges without an id without one", () => {
    const graph: DraftGraph = {
      ...emptyGraph(),
      nodes: [
        { id: "t", type: "tag_added", config: { tag: "vip" } },
        { id: "x", type: "exit" },
      ],
      edges: [{ source: "t", outcome: "next", target: "x" }],
    };
    const { nodes, edges } = toFlow(graph);
    expect(nodes.map((n) => n.position)).toEqual([{ x: 0, y: 0 }, { x: 0, y: 140 }]);
    expect(edges[0]?.id).toBe("t:next");
    const moved = nodes.map((n) => (n.id === "x" ? { ...n, position: { x: 50, y: 300 } } : n));
    const back = fromFlow(moved, edges, { reentry: "once_ever", goals: [] });
    expect(back.nodes[1]).toEqual({ id: "x", type: "exit", position: { x: 50, y: 300 } });
    expect(back.edges).toEqual([{ source: "t", outcome: "next", target: "x" }]);
  });

  it("gives edges that share an id or an outcome distinct xyflow ids", () => {
    const graph: DraftGraph = {
      ...emptyGraph(),
      nodes: [{ id: "t", type: "lead_created" }, { id: "x", type: "exit" }, { id: "y", type: "exit" }],
      edges: [
        { id: "same", source: "t", outcome: "next", target: "x" },
        { id: "same", source: "t", outcome: "next", target: "y" },
      ],
    };
    const ids = toFlow(graph).edges.map((e) => e.id);
    expect(new Set(ids).size).toBe(2);
  });
});

describe("editing", () => {
  it("adds nodes with readable ids and the type's starting config", () => {
    let graph = emptyGraph();
    const first = addNode(graph, "lead_status_changed", { x: 10.4, y: 20.6 });
    graph = first.graph;
    const second = addNode(graph, "send_message", { x: 0, y: 100 });
    graph = addNode(second.graph, "wait_duration", { x: 0, y: 200 }).graph;
    expect(graph.nodes.map((n) => n.id)).toEqual(["trigger-1", "do-1", "wait-1"]);
    expect(graph.nodes[0]).toEqual({ id: "trigger-1", type: "lead_status_changed", config: {}, position: { x: 10, y: 21 } });
    expect(graph.nodes[2]?.config).toEqual({ duration: { days: 1 } });
  });

  it("places a new node where it covers no other", () => {
    const graph = fixture(); // case-study at (0, 240), sms-nudge at (260, 480)
    expect(freeSpot(graph, { x: 1000, y: 1000 })).toEqual({ x: 1000, y: 1000 });
    const spot = freeSpot(graph, { x: 10, y: 250 });
    expect(spot).not.toEqual({ x: 10, y: 250 });
    for (const node of graph.nodes) {
      const clear = Math.abs(node.position!.x - spot.x) >= 240 || Math.abs(node.position!.y - spot.y) >= 110;
      expect(clear).toBe(true);
    }
  });

  it("connects an outcome to one node: connecting it again moves its edge", () => {
    let graph = fixture();
    graph = connect(graph, "wait-click", "timeout", "notify-owner");
    expect(graph.edges.filter((e) => e.source === "wait-click" && e.outcome === "timeout")).toEqual([
      { id: "e9", source: "wait-click", outcome: "timeout", target: "notify-owner" },
    ]);
    graph = connect(graph, "done", "next", "notify-owner");
    expect(graph.edges.at(-1)).toEqual({ id: "e12", source: "done", outcome: "next", target: "notify-owner" });
  });

  it("removes a node with its edges, and edges by position", () => {
    const graph = fixture();
    const without = removeElements(graph, ["sms-nudge"]);
    expect(without.nodes.map((n) => n.id)).not.toContain("sms-nudge");
    expect(without.edges.map((e) => e.id)).toEqual(["e1", "e2", "e3", "e5", "e8", "e9", "e10", "e11"]);
    expect(removeElements(graph, [], [0]).edges[0]?.id).toBe("e2");
    expect(removeElements(graph, [])).toBe(graph);
  });

  it("moves nodes (rounded) and renames a split branch with its edge", () => {
    const moved = moveNodes(fixture(), new Map([["done", { x: 1.6, y: 2.2 }]]));
    expect(moved.nodes.find((n) => n.id === "done")?.position).toEqual({ x: 2, y: 2 });
    const split: DraftGraph = {
      ...emptyGraph(),
      nodes: [{ id: "s", type: "random_split", config: {} }, { id: "x", type: "exit" }],
      edges: [{ source: "s", outcome: "a", target: "x" }],
    };
    expect(renameOutcome(split, "s", "a", "control").edges).toEqual([{ source: "s", outcome: "control", target: "x" }]);
    expect(renameOutcome(split, "s", "a", "").edges).toEqual([]);
  });
});

describe("reading JSON", () => {
  it("reads what it can draw and says why not otherwise", () => {
    expect(parseGraphJson(JSON.stringify(example)).graph?.nodes).toHaveLength(9);
    expect(parseGraphJson("{nodes: ").errors[0]).toMatch(/^Not JSON/);
    expect(parseGraphJson("[]").errors).toEqual(["An automation is a JSON object: {nodes, edges, reentry, goals}"]);
    const bad = parseGraphJson(
      JSON.stringify({
        nodes: [
          { id: "a", type: "lead_created" },
          { id: "a", type: "exit" },
          { type: "exit" },
          { id: "b", type: "teleport" },
          { id: "c", type: "exit", position: { x: "left" } },
        ],
        edges: [{ source: "a", target: "b" }],
      }),
    );
    expect(bad.graph).toBeNull();
    expect(bad.errors).toEqual([
      'nodes[1]: the id "a" is used twice',
      'nodes[2]: needs an "id" (text)',
      expect.stringMatching(/^nodes\[3\] \(b\): unknown type "teleport"; one of lead_status_changed, /),
      'nodes[4] (c).position: expects {"x": number, "y": number}',
      'edges[0]: needs "outcome" (text)',
    ]);
  });

  it("keeps what only the API can judge: unknown keys, bad configs, dangling edges", () => {
    const read = parseGraphJson(
      JSON.stringify({
        nodes: [{ id: "a", type: "wait_duration", config: { duration: { weeks: 1 } }, colour: "red" }],
        edges: [{ source: "a", outcome: "later", target: "nowhere" }],
        reentry: "sometimes",
        extra: true,
      }),
    );
    expect(read.errors).toEqual([]);
    expect(read.graph).toMatchObject({ reentry: "sometimes", extra: true, nodes: [{ colour: "red" }] });
  });
});

describe("problems on the canvas", () => {
  it("puts each problem on its node, its outcome handle or edge, or on the automation", () => {
    const graph = fixture();
    const placed = placeProblems(graph, [
      { node_id: "wait-click", field: "outcomes.timeout", message: "outcome 'timeout' leads nowhere", code: "dead_end", severity: "error" },
      { node_id: "wait-2d", field: "edges[1].target", message: "no node 'x'", code: "no_target", severity: "error" },
      { node_id: null, field: "goals[0].event.to_status", message: "unknown status", code: "unknown_status", severity: "error" },
      { node_id: "gone", field: "", message: "no trigger leads to this node", code: "unreachable", severity: "error" },
      { node_id: "assign-sales", field: "config.user_ids", message: "round robin over one user", code: "single_user", severity: "warning" },
    ]);
    expect([...placed.byNode.keys()]).toEqual(["wait-click", "wait-2d", "assign-sales"]);
    expect(placed.outcomes.get("wait-click")).toEqual(new Set(["timeout"]));
    expect(placed.edges).toEqual(new Set(["e2"]));
    expect(placed.general.map((p) => p.code)).toEqual(["unknown_status", "unreachable"]);
  });
});
