import { flowEdgeIds } from "./graph";
import type { DraftGraph, GraphProblem } from "./model";

export type PlacedProblems = {
  /** The problems of each node of the graph. */
  byNode: Map<string, GraphProblem[]>;
  /** About the automation as a whole (re-entry, goals, "add a trigger"), or a node no longer in the graph. */
  general: GraphProblem[];
  /** The outcomes of a node with an error ("outcomes.yes" left unconnected...): their handles are outlined. */
  outcomes: Map<string, Set<string>>;
  /** The xyflow ids of the edges an error is about ("edges[3].target"). */
  edges: Set<string>;
};

const EDGE_FIELD = /^edges\[(\d+)\]/;
const OUTCOME_FIELD = /^outcomes\.(.+)$/;

/** The API's problems, placed where the builder shows them. */
export function placeProblems(graph: DraftGraph, problems: readonly GraphProblem[]): PlacedProblems {
  const ids = new Set(graph.nodes.map((node) => node.id));
  const edgeIds = flowEdgeIds(graph.edges);
  const placed: PlacedProblems = { byNode: new Map(), general: [], outcomes: new Map(), edges: new Set() };
  for (const problem of problems) {
    const edge = EDGE_FIELD.exec(problem.field);
    const edgeId = edge ? edgeIds[Number(edge[1])] : undefined;
    if (edgeId && problem.severity === "error") placed.edges.add(edgeId);
    if (problem.node_id === null || !ids.has(problem.node_id)) {
      placed.general.push(problem);
      continue;
    }
    const list = placed.byNode.get(problem.node_id) ?? [];
    list.push(problem);
    placed.byNode.set(problem.node_id, list);
    const outcome = OUTCOME_FIELD.exec(problem.field);
    if (outcome?.[1] && problem.severity === "error") {
      const set = placed.outcomes.get(problem.node_id) ?? new Set<string>();
      set.add(outcome[1]);
      placed.outcomes.set(problem.node_id, set);
    }
  }
  return placed;
}

/** Problems about `field` or anything inside it ("config.filter" covers "config.filter.rules[0].value"). */
export function problemsAt(problems: readonly GraphProblem[], field: string): GraphProblem[] {
  return problems.filter(
    (p) => p.field === field || p.field.startsWith(`${field}.`) || p.field.startsWith(`${field}[`),
  );
}

export function hasError(problems: readonly GraphProblem[], field?: string): boolean {
  const list = field === undefined ? problems : problemsAt(problems, field);
  return list.some((p) => p.severity === "error");
}

export function countProblems(problems: readonly GraphProblem[]): { errors: number; warnings: number } {
  const errors = problems.filter((p) => p.severity === "error").length;
  return { errors, warnings: problems.length - errors };
}
