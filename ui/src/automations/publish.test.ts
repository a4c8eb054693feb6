import { describe, expect, it } from "vitest";
import type { GraphProblem } from "./model";
import { mergeProblems, pauseAction, publishButton, type PublishInput } from "./publish";

const error: GraphProblem = { node_id: "wait-2d", field: "config.duration", message: "a wait must be longer than zero", code: "invalid_duration", severity: "error" };
const warning: GraphProblem = { node_id: null, field: "", message: "the automation does nothing", code: "no_action", severity: "warning" };
const base: PublishInput = { status: "draft", publishedVersion: null, problems: [], save: "saved", busy: false };

describe("the Publish button", () => {
  it("is enabled for a draft without errors (warnings allowed), naming the version it creates", () => {
    expect(publishButton({ ...base, problems: [warning] })).toEqual({
      label: "Publish",
      disabled: false,
      reason: "Publish the draft as version 1: new journeys enter it.",
    });
    const again = publishButton({ ...base, status: "active", publishedVersion: 3, save: "pending" });
    expect(again.label).toBe("Publish changes");
    expect(again.reason).toBe("Publish the draft as version 4: new journeys enter it (the draft is saved first).");
  });

  it("is disabled while the draft has errors, saying how many", () => {
    expect(publishButton({ ...base, problems: [error, warning] })).toMatchObject({
      disabled: true,
      reason: "Fix the error first: a draft with errors cannot be published.",
    });
    expect(publishButton({ ...base, problems: [error, { ...error, node_id: "x" }] }).reason).toMatch(/^Fix the 2 errors first/);
  });

  it("is disabled before the first check, during another action, and for an archived automation", () => {
    expect(publishButton({ ...base, problems: undefined })).toMatchObject({ disabled: true, reason: "Checking the draft…" });
    expect(publishButton({ ...base, busy: true }).disabled).toBe(true);
    expect(publishButton({ ...base, status: "archived" }).disabled).toBe(true);
  });
});

describe("pause and resume", () => {
  it("pauses an active automation, resumes a paused one, offers neither otherwise", () => {
    expect(pauseAction("active")).toBe("pause");
    expect(pauseAction("paused")).toBe("resume");
    expect(pauseAction("draft")).toBeNull();
    expect(pauseAction("archived")).toBeNull();
  });
});

describe("problems of a refused publication", () => {
  it("are added to the live check's, each once", () => {
    const other: GraphProblem = { ...error, node_id: "go", field: "config.automation_id", code: "self_start", message: "an automation cannot start itself" };
    expect(mergeProblems([error], [error, other])).toEqual([error, other]);
    expect(mergeProblems([warning], undefined)).toEqual([warning]);
  });
});
