import { describe, expect, it } from "vitest";
import {
  addVariant,
  canMove,
  containerOf,
  earlierSends,
  evenPercents,
  fieldProblems,
  flowForApi,
  getSequence,
  getStep,
  insertStep,
  iterSteps,
  levelOf,
  localProblems,
  locateField,
  moveStep,
  movedPath,
  newStep,
  normalizeFieldPath,
  parsePath,
  pathOfId,
  percentProblems,
  placeProblems,
  removeStep,
  removeVariant,
  uniqueStepId,
  updateStep,
  type BranchStep,
  type Flow,
  type SendStep,
  type SplitStep,
  type Step,
} from "./flow";

const send = (id: string, template_id: number | null = 1): SendStep => ({
  id,
  type: "send",
  channel: "email",
  template_id,
  template_version: null,
});

/** welcome → wait → branch(opened welcome: yes [split a: [offer-a], b: [offer-b]] / no [nudge, exit]) → last */
function sample(): Flow {
  const split: SplitStep = {
    id: "offer-test",
    type: "ab_split",
    variants: [
      { id: "a", name: "A", percent: 50, steps: [send("offer-a")] },
      { id: "b", name: "B", percent: 50, steps: [send("offer-b")] },
    ],
    winner: null,
  };
  const branch: BranchStep = {
    id: "opened",
    type: "branch",
    condition: { kind: "engagement", step_id: "welcome", event: "opened" },
    yes: [split],
    no: [send("nudge"), { id: "done", type: "exit" }],
  };
  return {
    steps: [
      send("welcome"),
      { id: "wait-1", type: "wait", duration: { days: 3 }, until: null, respect_quiet_hours: true },
      branch,
      send("last"),
    ],
    exit_on_statuses: ["won"],
  };
}

const ids = (steps: Step[] | null) => (steps ?? []).map((s) => s.id);

describe("paths", () => {
  it("parses and reaches steps and sequences at any depth", () => {
    expect(parsePath("steps[2].yes[0]")).toEqual([
      { key: "steps", index: 2 },
      { key: "yes", index: 0 },
    ]);
    expect(parsePath("steps[x]")).toBeNull();
    const flow = sample();
    expect(getStep(flow, "steps[0]")?.id).toBe("welcome");
    expect(getStep(flow, "steps[2].no[1]")?.id).toBe("done");
    expect(getStep(flow, "steps[2].yes[0].variants[1].steps[0]")?.id).toBe("offer-b");
    expect(getStep(flow, "steps[9]")).toBeNull();
    expect(ids(getSequence(flow, "steps[2].no"))).toEqual(["nudge", "done"]);
    expect(getSequence(flow, "steps[0].yes")).toBeNull();
    expect(containerOf("steps[2].yes[0].variants[1].steps")).toBe("steps[2].yes[0]");
    expect(containerOf("steps")).toBeNull();
    expect(levelOf("steps")).toBe(1);
    expect(levelOf("steps[2].yes[0].variants[1].steps")).toBe(3);
  });

  it("walks the tree in execution order with paths and depths", () => {
    const walked = iterSteps(sample()).map((l) => `${l.depth}:${l.step.id}`);
    expect(walked).toEqual([
      "1:welcome",
      "1:wait-1",
      "1:opened",
      "2:offer-test",
      "3:offer-a",
      "3:offer-b",
      "2:nudge",
      "2:done",
      "1:last",
    ]);
    expect(pathOfId(sample(), "offer-a")).toBe("steps[2].yes[0].variants[0].steps[0]");
  });
});

describe("editing", () => {
  it("inserts at the end, at an index, and inside arms without touching the original", () => {
    const flow = sample();
    const a = insertStep(flow, "steps", send("x"));
    expect(ids(a.steps)).toEqual(["welcome", "wait-1", "opened", "last", "x"]);
    const b = insertStep(flow, "steps", send("y"), 1);
    expect(ids(b.steps)).toEqual(["welcome", "y", "wait-1", "opened", "last"]);
    const c = insertStep(flow, "steps[2].yes[0].variants[1].steps", send("z"), 0);
    expect(ids(getSequence(c, "steps[2].yes[0].variants[1].steps"))).toEqual(["z", "offer-b"]);
    expect(ids(getSequence(flow, "steps[2].yes[0].variants[1].steps"))).toEqual(["offer-b"]);
    expect(ids(flow.steps)).toEqual(["welcome", "wait-1", "opened", "last"]);
    // a wrong path changes nothing
    expect(insertStep(flow, "steps[0].yes", send("q"))).toBe(flow);
  });

  it("removes a step with everything inside it", () => {
    const flow = sample();
    const a = removeStep(flow, "steps[2]");
    expect(iterSteps(a).map((l) => l.step.id)).toEqual(["welcome", "wait-1", "last"]);
    const b = removeStep(flow, "steps[2].no[0]");
    expect(ids(getSequence(b, "steps[2].no"))).toEqual(["done"]);
    expect(removeStep(flow, "steps[7]")).toBe(flow);
  });

  it("moves steps up and down within their sequence only", () => {
    const flow = sample();
    expect(canMove(flow, "steps[0]", -1)).toBe(false);
    expect(canMove(flow, "steps[3]", 1)).toBe(false);
    expect(canMove(flow, "steps[2].no[0]", 1)).toBe(true);
    const down = moveStep(flow, "steps[0]", 1);
    expect(ids(down.steps)).toEqual(["wait-1", "welcome", "opened", "last"]);
    const up = moveStep(flow, "steps[2].no[1]", -1);
    expect(ids(getSequence(up, "steps[2].no"))).toEqual(["done", "nudge"]);
    expect(moveStep(flow, "steps[0]", -1)).toBe(flow);
    expect(movedPath("steps[2].no[1]", -1)).toBe("steps[2].no[0]");
  });

  it("updates one step in place", () => {
    const flow = updateStep(sample(), "steps[2].yes[0].variants[0].steps[0]", (s) => ({ ...s, id: "renamed" }));
    expect(getStep(flow, "steps[2].yes[0].variants[0].steps[0]")?.id).toBe("renamed");
  });

  it("makes unique ids and sensible new steps", () => {
    const flow = sample();
    expect(uniqueStepId(flow, "wait")).toBe("wait-2");
    expect(uniqueStepId(flow, "Send Email!")).toBe("send-email-1");
    expect(uniqueStepId(flow, "email", ["email-1"])).toBe("email-2");
    const branch = newStep(flow, "branch");
    expect(branch.type === "branch" && branch.condition).toEqual({ kind: "engagement", step_id: "last", event: "opened" });
    const first = newStep({ steps: [], exit_on_statuses: [] }, "branch");
    expect(first.type === "branch" && first.condition.kind).toBe("filter");
    const split = newStep(flow, "ab_split");
    expect(split.type === "ab_split" && split.variants.map((v) => v.percent)).toEqual([50, 50]);
  });
});

describe("engagement conditions", () => {
  it("offer only the sends every lead reaching the branch went through", () => {
    let flow = sample();
    // a branch inside the no arm, after "nudge": welcome (top level, before the outer branch) and nudge qualify
    flow = insertStep(flow, "steps[2].no", newStep(flow, "branch"), 1);
    expect(earlierSends(flow, "steps[2].no[1]").map((s) => s.id)).toEqual(["welcome", "nudge"]);
    // at the top level after the outer branch: welcome only (sends inside arms do not count)
    expect(earlierSends(flow, "steps[3]").map((s) => s.id)).toEqual(["welcome"]);
    // inside a variant: nothing of the variants, the sends before the containers
    expect(earlierSends(flow, "steps[2].yes[0].variants[1].steps[1]").map((s) => s.id)).toEqual(["welcome", "offer-b"]);
  });
});

describe("A/B percents", () => {
  it("finds sums off 100, too few variants and empty variants", () => {
    expect(percentProblems([{ name: "A", percent: 50 }, { name: "B", percent: 50 }])).toEqual([]);
    expect(percentProblems([{ name: "A", percent: 60 }, { name: "B", percent: 50 }])).toEqual([
      "The percents add up to 110, not 100.",
    ]);
    expect(percentProblems([{ name: "A", percent: 100 }])).toContain("An A/B split has 2 to 4 variants.");
    expect(percentProblems([{ name: "A", percent: 100 }, { name: "B", percent: 0 }])).toEqual([
      "Variant B needs at least 1 percent.",
    ]);
    expect(percentProblems([{ name: "A", percent: 50.5 }, { name: "B", percent: 49.5 }])).toHaveLength(2);
  });

  it("evens percents out when variants come and go", () => {
    expect(evenPercents(3)).toEqual([34, 33, 33]);
    expect(evenPercents(4)).toEqual([25, 25, 25, 25]);
    const split = newStep(sample(), "ab_split") as SplitStep;
    const three = addVariant(split);
    expect(three.variants.map((v) => [v.id, v.percent])).toEqual([
      ["a", 34],
      ["b", 33],
      ["c", 33],
    ]);
    const four = addVariant(three);
    expect(addVariant(four)).toBe(four);
    const back = removeVariant(four, 0);
    expect(back.variants.map((v) => [v.id, v.percent])).toEqual([
      ["b", 34],
      ["c", 33],
      ["d", 33],
    ]);
    expect(removeVariant(split, 0)).toBe(split);
  });
});

describe("problems on steps", () => {
  it("splits an API field path into the step and the field", () => {
    expect(locateField("flow.steps[2].yes[0].template_id")).toEqual({ step: "steps[2].yes[0]", field: "template_id" });
    expect(locateField("steps[3].variants[1].steps[0]")).toEqual({ step: "steps[3].variants[1].steps[0]", field: null });
    expect(locateField("flow.steps[3].variants[1].percent")).toEqual({ step: "steps[3]", field: "variants[1].percent" });
    expect(locateField("flow.steps[0].fallback.template_id")).toEqual({ step: "steps[0]", field: "fallback.template_id" });
    expect(locateField("flow.steps[2].condition.step_id")).toEqual({ step: "steps[2]", field: "condition.step_id" });
    expect(locateField("flow.exit_on_statuses[0]")).toEqual({ step: null, field: "exit_on_statuses[0]" });
    expect(locateField("flow")).toEqual({ step: null, field: null });
    // pydantic's union tags (a 422 of the request validation) are not part of the flow's paths
    expect(locateField("flow.steps[2].branch.yes[0].send.template_id")).toEqual({ step: "steps[2].yes[0]", field: "template_id" });
    expect(normalizeFieldPath("flow.steps[1].branch.condition.filter.filter.rules[0]")).toBe("flow.steps[1].condition.filter.rules[0]");
    expect(normalizeFieldPath("flow.steps[3].ab_split.variants[0].steps[1].wait.duration")).toBe(
      "flow.steps[3].variants[0].steps[1].duration",
    );
  });

  it("places problems by path, then by step id, else in general", () => {
    const flow = sample();
    const { byStep, general } = placeProblems(flow, [
      { message: "no such template", field: "flow.steps[2].no[0].template_id" },
      { message: "percents", path: "steps[2].yes[0].variants[0].percent", severity: "error" },
      { message: "too soon", step_id: "opened", severity: "warning" },
      { message: "nowhere", field: "flow.steps[9].template_id" },
      { message: "status", field: "flow.exit_on_statuses[0]" },
    ]);
    expect(byStep.get("steps[2].no[0]")).toEqual([{ message: "no such template", severity: "error", field: "template_id" }]);
    expect(byStep.get("steps[2].yes[0]")?.[0]?.field).toBe("variants[0].percent");
    expect(byStep.get("steps[2]")).toEqual([{ message: "too soon", severity: "warning", field: null }]);
    expect(general.map((p) => p.message)).toEqual(["nowhere", "status"]);
    const placed = byStep.get("steps[2].no[0]");
    expect(fieldProblems(placed, "template_id")).toHaveLength(1);
    expect(fieldProblems(placed, "fallback")).toHaveLength(0);
    expect(fieldProblems([{ message: "x", severity: "error", field: "fallback.template_id" }], "fallback")).toHaveLength(1);
  });

  it("finds the obvious problems before the API does", () => {
    let flow: Flow = { steps: [], exit_on_statuses: [] };
    expect(localProblems(flow).map((p) => p.field)).toEqual(["flow.steps"]);
    flow = insertStep(flow, "steps", send("a", null));
    flow = insertStep(flow, "steps", { id: "w", type: "wait", duration: { minutes: 0 }, respect_quiet_hours: true });
    flow = insertStep(flow, "steps", {
      id: "b",
      type: "branch",
      condition: { kind: "engagement", step_id: "zzz", event: "opened" },
      yes: [],
      no: [],
    });
    expect(localProblems(flow).map((p) => p.field)).toEqual([
      "flow.steps[0].template_id",
      "flow.steps[1].duration",
      "flow.steps[2].condition.step_id",
    ]);
  });
});

describe("flowForApi", () => {
  it("keeps exactly one of duration and until, and drops empty fallbacks and winners", () => {
    const flow: Flow = {
      steps: [
        { ...send("a"), fallback: null },
        { id: "w", type: "wait", duration: { days: 1 }, until: { date: "2026-09-01", time: "09:00", timezone_mode: "lead" }, respect_quiet_hours: false },
        { id: "w2", type: "wait", duration: { hours: 2 }, until: null, respect_quiet_hours: true },
      ],
      exit_on_statuses: [],
    };
    const out = flowForApi(flow);
    expect(out.steps[0]).not.toHaveProperty("fallback");
    expect(out.steps[1]).toEqual({
      id: "w",
      type: "wait",
      respect_quiet_hours: false,
      until: { date: "2026-09-01", time: "09:00", timezone_mode: "lead" },
    });
    expect(out.steps[2]).toEqual({ id: "w2", type: "wait", respect_quiet_hours: true, duration: { hours: 2 } });
  });
});
