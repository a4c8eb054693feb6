import { beforeEach, describe, expect, it, vi } from "vitest";
import { QueryClient } from "@tanstack/react-query";

// The generated client keeps the fetch and Request it was created with: an API answering from a queue, set before
// it is imported (relative URLs need a base outside a browser).
const server = vi.hoisted(() => {
  const state = {
    requests: [] as { method: string; path: string; body: unknown }[],
    answers: [] as { status: number; body?: unknown }[],
  };
  const Base = globalThis.Request;
  globalThis.Request = class extends Base {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === "string" ? new URL(input, "http://herald.test") : input, init);
    }
  } as typeof Request;
  globalThis.fetch = (async (request: Request) => {
    const text = await request.clone().text();
    state.requests.push({ method: request.method, path: new URL(request.url).pathname, body: text ? JSON.parse(text) : undefined });
    const answer = state.answers.shift() ?? { status: 500, body: { message: "no answer queued", code: "error" } };
    const body = answer.body === undefined ? null : JSON.stringify(answer.body);
    return new Response(body, { status: answer.status, headers: { "Content-Type": "application/json" } });
  }) as typeof fetch;
  return state;
});

import { ApiError } from "../api/client";
import { automationApi, publishProblems, type Automation, type AutomationSummary } from "./api";
import { automationKeys, forgetAutomation, saveAutomationDraft, storeAutomation } from "./queries";

const problem = { node_id: "wait-2d", field: "config.duration", message: "a wait must be longer than zero", code: "invalid_duration", severity: "error" as const };

function automation(over: Partial<Automation> = {}): Automation {
  return {
    id: 7,
    name: "Case study",
    status: "draft",
    published_version: null,
    draft: { nodes: [], edges: [] },
    valid: true,
    problems: [],
    versions: [],
    created_at: "2026-01-05T10:00:00Z",
    updated_at: "2026-01-05T10:00:00Z",
    ...over,
  };
}

const row = (over: Partial<AutomationSummary> = {}): AutomationSummary => ({
  id: 7,
  name: "Case study",
  status: "draft",
  published_version: null,
  updated_at: "2026-01-05T10:00:00Z",
  running: 4,
  entered: 12,
  ...over,
});

describe("the automations cache", () => {
  let client: QueryClient;
  beforeEach(() => {
    client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    server.requests.length = 0;
    server.answers.length = 0;
  });

  it("an answer updates the automation and its row of the list, keeping the row's counts", () => {
    client.setQueryData(automationKeys.list, [row({ id: 3, name: "Other" }), row()]);
    const published = automation({ status: "active", published_version: 2, name: "Case study v2", updated_at: "2026-01-06T09:00:00Z" });
    storeAutomation(client, published);
    expect(client.getQueryData(automationKeys.one(7))).toBe(published);
    expect(client.getQueryData(automationKeys.list)).toEqual([
      row({ id: 3, name: "Other" }),
      row({ status: "active", published_version: 2, name: "Case study v2", updated_at: "2026-01-06T09:00:00Z" }),
    ]);
    // asked again for the journeys' counts
    expect(client.getQueryState(automationKeys.list)?.isInvalidated).toBe(true);
  });

  it("a new automation goes first in the list; no list is made up when none was loaded", () => {
    storeAutomation(client, automation({ id: 9, name: "New" }));
    expect(client.getQueryData(automationKeys.list)).toBeUndefined();
    client.setQueryData(automationKeys.list, [row()]);
    storeAutomation(client, automation({ id: 9, name: "New" }));
    const rows = client.getQueryData<AutomationSummary[]>(automationKeys.list)!;
    expect(rows.map((r) => [r.id, r.name, r.running])).toEqual([
      [9, "New", 0],
      [7, "Case study", 4],
    ]);
  });

  it("a deleted automation leaves the cache", () => {
    client.setQueryData(automationKeys.list, [row({ id: 3 }), row()]);
    client.setQueryData(automationKeys.one(7), automation());
    client.setQueryData(automationKeys.version(7, 1), { version: 1 });
    forgetAutomation(client, 7);
    expect(client.getQueryData(automationKeys.one(7))).toBeUndefined();
    expect(client.getQueryData(automationKeys.version(7, 1))).toBeUndefined();
    expect(client.getQueryData<AutomationSummary[]>(automationKeys.list)!.map((r) => r.id)).toEqual([3]);
  });

  it("saving the draft PATCHes the graph and stores the answer", async () => {
    client.setQueryData(automationKeys.list, [row()]);
    const graph = { nodes: [{ id: "x", type: "exit" }], edges: [] };
    const saved = automation({ draft: graph, valid: false, problems: [problem], updated_at: "2026-01-05T11:00:00Z" });
    server.answers.push({ status: 200, body: saved });
    await expect(saveAutomationDraft(client, 7, graph)).resolves.toEqual(saved);
    expect(server.requests).toEqual([{ method: "PATCH", path: "/api/automations/7", body: { graph } }]);
    expect(client.getQueryData(automationKeys.one(7))).toEqual(saved);
    expect(client.getQueryData<AutomationSummary[]>(automationKeys.list)![0]!.updated_at).toBe("2026-01-05T11:00:00Z");
  });

  it("a failed save leaves the cache as it was", async () => {
    const before = automation();
    client.setQueryData(automationKeys.one(7), before);
    server.answers.push({ status: 409, body: { message: "name: an automation named 'X' already exists", field: "name", code: "conflict" } });
    await expect(saveAutomationDraft(client, 7, {})).rejects.toMatchObject({ status: 409 });
    expect(client.getQueryData(automationKeys.one(7))).toBe(before);
  });
});

describe("a refused publication", () => {
  it("carries the draft's problems, for the builder to draw on the nodes", async () => {
    const message = "the draft cannot be published: node 'wait-2d' config.duration: a wait must be longer than zero";
    server.answers.push({
      status: 422,
      body: { message, detail: message, field: "graph", code: "invalid_graph", problems: [problem, { ...problem, node_id: null, severity: "warning" }] },
    });
    const error = await automationApi.publish(7).catch((e: unknown) => e);
    expect(server.requests.at(-1)).toMatchObject({ method: "POST", path: "/api/automations/7/publish" });
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe(message);
    expect(publishProblems(error)).toEqual([problem, { ...problem, node_id: null, severity: "warning" }]);
  });

  it("is told apart from other failures", () => {
    expect(publishProblems(new ApiError(409, "automation 7 is draft"))).toBeNull();
    expect(publishProblems(new ApiError(422, "name: may not be blank", "name", "validation_error", { message: "x" }))).toBeNull();
    expect(publishProblems(new Error("boom"))).toBeNull();
  });
});
