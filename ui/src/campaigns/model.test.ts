import { describe, expect, it } from "vitest";
import { isWaiting, problemsOfError, readDryRun, readReach, readStepProgress, readTestSend, readValidation, reasonLabel, totalReasons } from "./model";

describe("reading the API's answers", () => {
  it("reads reachability per channel with the reasons", () => {
    const reach = readReach({
      total: 40,
      capped: 2,
      channels: {
        email: { reachable: 38, capped: 2, no_consent: 1, suppressed: 1, invalid_address: 0 },
        sms: { reachable: 10 },
      },
    });
    expect(reach.total).toBe(40);
    expect(reach.reachable).toEqual({ email: 38, sms: 10, whatsapp: 0 });
    expect(reach.capped).toBe(2);
    expect(reach.details.email?.noConsent).toBe(1);
    expect(readReach(null)).toEqual({ total: 0, reachable: { email: 0, sms: 0, whatsapp: 0 }, capped: null, details: {} });
  });

  it("reads problems and the estimate of a validation", () => {
    const v = readValidation({
      ok: false,
      problems: [
        { severity: "error", step_id: "a", field: "flow.steps[0].template_id", message: "no such template", rule: "flow" },
        { severity: "warning", field: "flow.steps[1]", message: "no wait" },
        { nonsense: true },
      ],
      estimate: { email: 12, sms: 3 },
    });
    expect(v.problems).toHaveLength(2);
    expect(v.problems[0]).toMatchObject({ step_id: "a", field: "flow.steps[0].template_id", severity: "error" });
    expect(v.estimate).toEqual({ email: 12, sms: 3, whatsapp: 0 });
    expect(readValidation({ problems: [] }).estimate).toBeNull();
    expect(problemsOfError({ message: "x", field: "name" })).toEqual([]);
    expect(problemsOfError({ problems: [{ message: "bad", field: "flow.steps[0]" }] })).toHaveLength(1);
  });

  it("reads a dry run wrapped in the API's envelope", () => {
    const run = readDryRun({
      campaign_id: 1,
      workflow_id: "w",
      result: {
        audience: 35,
        problems: ["the flow has no send step", 3],
        steps: [
          { step_id: "a", channel: "email", reach: 30, exact: true, sendable: 25, fallback_sendable: 2, skipped: { no_consent: 5, capped: 0 } },
          { step_id: "b", channel: "sms", reach: 10, exact: false, by_reason: [{ reason: "invalid_address", count: 2 }] },
        ],
      },
    });
    expect(run.steps.map((s) => [s.stepId, s.reach, s.exact])).toEqual([
      ["a", 30, true],
      ["b", 10, false],
    ]);
    expect(run.steps[1]?.skipped).toEqual({ invalid_address: 2 });
    expect(run.steps[0]).toMatchObject({ sendable: 25, fallbackSendable: 2 });
    expect(run.steps[1]?.sendable).toBeNull();
    expect(run.audience).toBe(35);
    expect(run.problems).toEqual(["the flow has no send step"]);
  });

  it("reads per-step progress and adds up the skip reasons", () => {
    const steps = readStepProgress([
      { step_id: "a", index: 0, type: "send", channel: "email", sent: 10, failed: 1, skipped: 3, by_reason: { no_consent: 2, capped: 1 }, variants: [] },
      { step_id: "b", index: 2, type: "send", channel: "email", sent: 9, by_reason: { capped: 4 }, variants: [{ variant: "a", sent: 5, opened: 2 }] },
    ]);
    expect(steps[1]).toMatchObject({ stepId: "b", index: 2, failed: 0, variants: [{ variant: "a", sent: 5, opened: 2, clicked: 0 }] });
    expect(totalReasons(steps)).toEqual([
      ["capped", 5],
      ["no_consent", 2],
    ]);
    expect(readStepProgress(undefined)).toEqual([]);
    expect(reasonLabel("no_consent")).toBe("No consent");
    expect(reasonLabel("some_new_reason")).toBe("some new reason");
  });

  it("reads the test send per step", () => {
    const lines = readTestSend({
      steps: [
        { step_id: "a", channel: "email", results: [{ to: "me@example.com", ok: true }] },
        { step_id: "b", channel: "sms", results: [], skipped: "no phone number among the addresses" },
      ],
    });
    expect(lines).toEqual([
      { stepId: "a", channel: "email", to: "me@example.com", ok: true, detail: "" },
      { stepId: "b", channel: "sms", to: "", ok: false, detail: "no phone number among the addresses" },
    ]);
  });

  it("knows the waiting statuses", () => {
    expect(isWaiting("scheduled")).toBe(true);
    expect(isWaiting("pending_approval")).toBe(true);
    expect(isWaiting("running")).toBe(false);
  });
});
