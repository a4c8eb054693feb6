import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import example from "../../../../tests/fixtures/automations/qualified_case_study.json";
import { readGraph, toFlow } from "../graph";
import {
  attemptsLabel,
  countBadges,
  countedElsewhere,
  journeyHighlight,
  leadLabel,
  monitorOverlay,
  nextBefore,
  stepLine,
  type NodeCounts,
} from "./model";
import { NodeBadges } from "./NodeBadges";
import { edgeKey, edgeOverlayClass, nodeOverlay, type GraphOverlay } from "./overlay";

const ZERO: Omit<NodeCounts, "node_id"> = {
  active: 0, waiting: 0, completed: 0, exited: 0, failed: 0, goal_met: 0, passed: 0, errors: 0, fallbacks: 0, retried: 0,
};  // prettier-ignore

const counts = (node_id: string, values: Partial<NodeCounts>): NodeCounts => ({ ...ZERO, node_id, ...values });

describe("counts → badges", () => {
  it("draws the non-zero counts in a fixed order, errors in red, the steps passed last", () => {
    const badges = countBadges(counts("case-study", { waiting: 0, active: 2, failed: 1, errors: 3, fallbacks: 1, passed: 40, retried: 5 }));
    expect(badges.map((b) => [b.value, b.label, b.tone])).toEqual([
      [2, "active", "info"],
      [1, "failed", "bad"],
      [3, "errors", "bad"],
      [1, "fallback", "warn"],
      [40, "passed", "neutral"],
    ]);
    expect(badges.at(-1)?.title).toBe("Steps recorded here (5 retried)");
    expect(countBadges(counts("idle", {}))).toEqual([]);
  });

  it("puts every counted node's badges in the overlay, and leaves out nodes with nothing", () => {
    const overlay = monitorOverlay({
      nodes: [counts("wait-2d", { waiting: 7 }), counts("done", { exited: 2, passed: 2 }), counts("idle", {})],
    });
    expect(Object.keys(overlay.counts).sort()).toEqual(["done", "wait-2d"]);
    expect(overlay.counts["wait-2d"]).toEqual([{ label: "waiting", value: 7, tone: "info", title: "Leads waiting here" }]);
    expect(overlay.highlight).toBeUndefined();
    expect(monitorOverlay(undefined)).toEqual({ counts: {} });
  });

  it("names the counted nodes the graph on screen does not have", () => {
    const monitor = { nodes: [counts("a", { passed: 1 }), counts("gone", { completed: 1 })] };
    expect(countedElsewhere(monitor, ["a", "b"])).toEqual(["gone"]);
  });

  it("renders badges with their tone and test ids", () => {
    const html = renderToStaticMarkup(<NodeBadges badges={countBadges(counts("x", { waiting: 3, errors: 2 }))} />);
    expect(html).toContain('data-testid="node-badges"');
    expect(html).toContain('class="overlay-badge tone-info" data-testid="node-badge" data-badge="waiting"');
    expect(html).toContain("<strong>3</strong> waiting");
    expect(html).toContain('class="overlay-badge tone-bad" data-testid="node-badge" data-badge="errors"');
  });
});

describe("a journey's path → highlighted nodes and edges", () => {
  const graph = readGraph(structuredClone(example)).graph!;
  // The lead without an email: the send skipped, its fallback to the SMS, waiting for a click.
  const detail = {
    nodes: ["qualified", "wait-2d", "case-study", "sms-nudge", "wait-click"],
    edges: [
      { source: "qualified", outcome: "next", target: "wait-2d" },
      { source: "wait-2d", outcome: "next", target: "case-study" },
      { source: "case-study", outcome: "fallback", target: "sms-nudge" },
      { source: "sms-nudge", outcome: "next", target: "wait-click" },
    ],
  };

  it("highlights exactly the edges taken and the nodes reached; the rest is dimmed", () => {
    const overlay = monitorOverlay({ nodes: [counts("wait-click", { waiting: 1 })] }, journeyHighlight(detail));
    expect(overlay.highlight?.edges).toEqual(["qualified:next", "wait-2d:next", "case-study:fallback", "sms-nudge:next"]);
    const { nodes, edges } = toFlow(graph);
    const highlighted = edges.filter((e) => edgeOverlayClass(overlay, e.source, e.sourceHandle ?? "") === "is-highlighted");
    expect(highlighted.map((e) => e.id)).toEqual(["e1", "e2", "e4", "e7"]);
    expect(edges.filter((e) => edgeOverlayClass(overlay, e.source, e.sourceHandle ?? "") === "is-dimmed")).toHaveLength(edges.length - 4);
    const shown = Object.fromEntries(nodes.map((n) => [n.id, nodeOverlay(overlay, n.id)]));
    expect(Object.entries(shown).filter(([, o]) => o?.highlighted).map(([id]) => id)).toEqual(detail.nodes);
    expect(shown["wait-open"]).toEqual({ badges: [], highlighted: false, dimmed: true });
    expect(shown["wait-click"]?.badges.map((b) => b.label)).toEqual(["waiting"]);
  });

  it("draws nothing without an overlay, and dims nothing without a highlight", () => {
    expect(nodeOverlay(undefined, "qualified")).toBeUndefined();
    expect(edgeOverlayClass(undefined, "qualified", "next")).toBe("");
    const countsOnly: GraphOverlay = { counts: { qualified: [{ label: "passed", value: 1 }] } };
    expect(nodeOverlay(countsOnly, "qualified")).toEqual({ badges: [{ label: "passed", value: 1 }], highlighted: false, dimmed: false });
    expect(edgeOverlayClass(countsOnly, "qualified", "next")).toBe("");
    expect(edgeKey("a", "yes")).toBe("a:yes");
  });
});

describe("the panel's texts", () => {
  it("says the attempts made, when known", () => {
    expect(attemptsLabel({ attempts: 2, max_attempts: 2 })).toBe("2 of 2 attempts");
    expect(attemptsLabel({ attempts: null, max_attempts: 3 })).toBe("? of 3 attempts");
    expect(attemptsLabel({ attempts: null, max_attempts: null })).toBe("");
  });

  it("names the lead by name and email, or what there is", () => {
    expect(leadLabel({ id: 4, name: "Ada Lovelace", email: "ada@example.com" })).toBe("Ada Lovelace <ada@example.com>");
    expect(leadLabel({ id: 4, name: "", email: "ada@example.com" })).toBe("ada@example.com");
    expect(leadLabel({ id: 4, name: "", email: null })).toBe("Lead 4");
  });

  it("sums up a step: its outcome, reason, error or skip, attempts and end", () => {
    expect(stepLine({ outcome: "fallback", reason: "failed", end_status: null, detail: { error: "HTTP 500", attempts: 1 } })).toBe(
      "fallback · failed · error: HTTP 500",
    );
    expect(stepLine({ outcome: "fallback", reason: "skipped", end_status: null, detail: { why: "invalid_address" } })).toBe(
      "fallback · skipped · invalid_address",
    );
    expect(stepLine({ outcome: "next", reason: "next", end_status: "goal_met", detail: { attempts: 3 } })).toBe("next · 3 attempts · ended: goal met");
  });

  it("pages on with next_before until there is none", () => {
    expect(nextBefore({ next_before: 41 })).toBe(41);
    expect(nextBefore({ next_before: null })).toBeUndefined();
  });
});
