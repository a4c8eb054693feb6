import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { NodeBadges } from "../monitoring/NodeBadges";
import { edgeKey, edgeOverlayClass, nodeOverlay } from "../monitoring/overlay";
import {
  endLine,
  isRunning,
  parseLeadIds,
  pathHighlight,
  sendLine,
  simulationBadges,
  simulationBody,
  simulationOverlay,
  stepLine,
  testRunEnded,
  type SimulatedLead,
  type SimulatedStep,
  type SimulationResults,
  type WouldSend,
} from "./model";

const AT = "2026-12-01T09:00:00Z";

function step(node_id: string, outcome: string | null, next_node: string | null, extra: Partial<SimulatedStep> = {}): SimulatedStep {
  return { node_id, node_type: "x", outcome, next_node, at: AT, reason: outcome ?? "", detail: {}, ...extra };
}

// The example, as the API answers for a lead without an email address (tests/test_automation_simulator.py).
const texted: SimulatedLead = {
  lead_id: 2,
  name: "First1 Last1",
  entered: true,
  end: "exited",
  reason: "exit",
  reentry: "first_entry",
  path: [
    step("qualified", "next", "wait-2d", { reason: "triggered" }),
    step("wait-2d", "next", "case-study", { wake_at: "2026-12-03T09:00:00Z", reason: "delay" }),
    step("case-study", "fallback", "sms-nudge", { reason: "skipped", detail: { why: "invalid_address", fallback: true } }),
    step("sms-nudge", "next", "wait-click", { reason: "succeeded", detail: { would: "send template 21 by sms to +33*******78" } }),
    step("wait-click", "timeout", "done", { reason: "timeout", wake_at: "2026-12-10T09:00:00Z" }),
    step("done", null, null, { reason: "exit", end: "exited" }),
  ],
};

const results: Pick<SimulationResults, "nodes" | "leads"> = {
  nodes: {
    qualified: { passed: 3, outcomes: { next: 3 }, ended: 0, waiting: 0 },
    "case-study": { passed: 3, outcomes: { next: 1, fallback: 2 }, ended: 0, waiting: 0 },
    done: { passed: 3, outcomes: { exited: 3 }, ended: 3, waiting: 0 },
    "wait-open": { passed: 0, outcomes: {}, ended: 0, waiting: 1 },
    idle: { passed: 0, outcomes: {}, ended: 0, waiting: 0 },
  },
  leads: [texted],
};

describe("the request", () => {
  it("reads lead ids separated by commas or spaces, once each, and names what is not one", () => {
    expect(parseLeadIds("12, 15 20;12")).toEqual({ ids: [12, 15, 20], error: null });
    expect(parseLeadIds("12, x, -3").error).toBe("Not a lead id: x, -3");
    expect(parseLeadIds("  ").error).toBe("Give at least one lead id.");
    expect(parseLeadIds(Array.from({ length: 201 }, (_, i) => i + 1).join(",")).error).toBe("At most 200 leads at once (201 given).");
  });

  it("sends the graph on screen with the leads chosen by ids or by filter and limit", () => {
    const graph = { nodes: [], edges: [] };
    expect(simulationBody({ by: "ids", text: "3 4" }, graph, null)).toEqual({ body: { lead_ids: [3, 4], graph }, error: null });
    const filter = { combinator: "and", rules: [{ field: "status", operator: "=", value: "new" }] };
    expect(simulationBody({ by: "filter", filter, limit: 20 }, null, "t2")).toEqual({
      body: { filter, limit: 20, trigger_node: "t2" },
      error: null,
    });
    expect(simulationBody({ by: "filter", filter, limit: 500 }, null, null)).toEqual({ body: null, error: "Simulate 1 to 200 leads." });
    expect(simulationBody({ by: "ids", text: "" }, graph, null).body).toBeNull();
    // The engagement assumed is sent when it is not the default (nobody opens or clicks).
    expect(simulationBody({ by: "ids", text: "3" }, null, null, "clicks").body).toEqual({ lead_ids: [3], engagement: "clicks" });
    expect(simulationBody({ by: "ids", text: "3" }, null, null, "none").body).toEqual({ lead_ids: [3] });
  });

  it("knows when a simulation or a test run is still under way", () => {
    expect([isRunning("queued"), isRunning("running"), isRunning("done"), isRunning("failed"), isRunning(undefined)]).toEqual([
      true, true, false, false, false,
    ]);  // prettier-ignore
    expect([testRunEnded({ status: "waiting" }), testRunEnded({ status: "exited" }), testRunEnded(undefined)]).toEqual([false, true, false]);
  });
});

describe("results on the graph", () => {
  it("draws per-node counts as badges and leaves out nodes with nothing", () => {
    const overlay = simulationOverlay(results, null);
    expect(Object.keys(overlay.counts).sort()).toEqual(["case-study", "done", "qualified", "wait-open"]);
    expect(overlay.counts["case-study"]).toEqual([
      { label: "simulated", value: 3, tone: "info", title: "Simulated steps here: 1 next, 2 fallback" },
    ]);
    expect(overlay.counts.done?.map((b) => [b.label, b.value])).toEqual([
      ["simulated", 3],
      ["ended", 3],
    ]);
    expect(overlay.counts["wait-open"]?.map((b) => [b.label, b.tone])).toEqual([["still waiting", "warn"]]);
    expect(overlay.highlight).toBeUndefined();
    expect(simulationOverlay(null, null)).toEqual({ counts: {} });
  });

  it("highlights the chosen lead's path: its nodes and the outcomes it took, the rest dimmed", () => {
    const overlay = simulationOverlay(results, 2);
    expect(overlay.highlight).toEqual(pathHighlight(texted));
    expect(overlay.highlight?.nodes).toEqual(["qualified", "wait-2d", "case-study", "sms-nudge", "wait-click", "done"]);
    expect(overlay.highlight?.edges).toContain(edgeKey("case-study", "fallback"));
    expect(overlay.highlight?.edges).not.toContain(edgeKey("case-study", "next"));
    expect(nodeOverlay(overlay, "wait-open")).toMatchObject({ highlighted: false, dimmed: true });
    expect(nodeOverlay(overlay, "sms-nudge")).toMatchObject({ highlighted: true, dimmed: false });
    expect(edgeOverlayClass(overlay, "wait-click", "timeout")).toBe("is-highlighted");
    expect(edgeOverlayClass(overlay, "wait-click", "event")).toBe("is-dimmed");
    expect(simulationOverlay(results, 999).highlight).toBeUndefined();  // a lead not in the results
  });

  it("renders the badges on a node", () => {
    const html = renderToStaticMarkup(<NodeBadges badges={simulationBadges(results.nodes.done!)} />);
    expect(html).toContain('data-badge="simulated"');
    expect(html).toContain("<strong>3</strong> ended");
  });
});

describe("texts", () => {
  const name = (id: string) => ({ done: "No click", "wait-open": "Opened within 3 days?" })[id] ?? id;

  it("says how each lead's journey ended", () => {
    expect(endLine(texted, name)).toBe("Exited at No click");
    expect(endLine({ ...texted, end: "unfinished", waiting_at: "wait-open", path: [] }, name)).toBe("Still waiting at Opened within 3 days?");
    expect(endLine({ ...texted, entered: false, end: "not_entered", reason: "enrollment_filter", path: [] }, name)).toBe(
      "Did not enter: enrollment filter",
    );
  });

  it("says what happened at a step, with the dry run's words", () => {
    expect(stepLine(texted.path![2]!)).toBe("fallback · skipped · invalid_address");
    expect(stepLine(texted.path![3]!)).toBe("next · would send template 21 by sms to +33*******78");
    expect(stepLine(texted.path![5]!)).toBe("exit · ended: exited");
  });

  it("says what would have been sent", () => {
    const mail: WouldSend = {
      kind: "message", lead_id: 1, node_id: "case-study", at: AT, description: "send template 11 by email to j***@example.com",
      channel: "email", template_id: 11, template_name: "Case study", to: "j***@example.com", subject: "Our case study, Jane",
    };  // prettier-ignore
    expect(sendLine(mail)).toBe("email to j***@example.com · Our case study, Jane");
    expect(sendLine({ ...mail, channel: "sms", subject: null, preview: "Did you see it?" })).toBe("sms to j***@example.com · Did you see it?");
    expect(sendLine({ kind: "notification", lead_id: 1, node_id: "n", at: AT, description: "email user 3 (s***@acme.test): Hi" })).toBe(
      "email user 3 (s***@acme.test): Hi",
    );
  });
});

describe("the results panel", () => {
  const simulation = {
    id: 5, automation_id: 1, status: "done" as const, version: 0, trigger_node: "qualified", selection: { lead_ids: [2] },
    graph: {}, error: null, created_at: AT, finished_at: AT,
    results: {
      assumed: "no events arrive; every wait_for_event times out", trigger_node: "qualified", version: 0,
      started_at: AT, ended_at: "2026-12-13T09:00:00Z", leads: [texted], nodes: results.nodes,
      would_send: [{ kind: "message" as const, lead_id: 2, node_id: "sms-nudge", at: AT, description: "send template 21",
                     channel: "sms", to: "+33*******78", preview: "Did you see the case study, First1?" }],
      totals: { leads: 1, entered: 1, exited: 1 }, unfinished: null,
    },
  };  // prettier-ignore
  const name = (id: string) => id;

  it("lists the leads, how they ended and what would have been sent, and the chosen lead's path", async () => {
    const { SimulationView } = await import("./SimulatorPanel");
    const html = renderToStaticMarkup(<SimulationView simulation={simulation} nodeName={name} chosen={2} onLead={() => {}} />);
    expect(html).toContain("Assumed: no events arrive; every wait_for_event times out.");
    expect(html).toContain('data-testid="simulated-lead" data-lead-id="2"');
    expect(html).toContain("Exited at done");
    expect(html).toContain("sms to +33*******78 · Did you see the case study, First1?");
    expect((html.match(/data-testid="simulated-step"/g) ?? []).length).toBe(6);
    const closed = renderToStaticMarkup(<SimulationView simulation={simulation} nodeName={name} chosen={null} onLead={() => {}} />);
    expect(closed).not.toContain('data-testid="simulated-path"');
  });

  it("says when it is still running or failed", async () => {
    const { SimulationView } = await import("./SimulatorPanel");
    const running = renderToStaticMarkup(
      <SimulationView simulation={{ ...simulation, status: "running", results: null }} nodeName={name} chosen={null} onLead={() => {}} />,
    );
    expect(running).toContain('data-status="running"');
    const failed = renderToStaticMarkup(
      <SimulationView simulation={{ ...simulation, status: "failed", results: null, error: "boom" }} nodeName={name} chosen={null} onLead={() => {}} />,
    );
    expect(failed).toContain("The simulation failed: boom");
  });
});
