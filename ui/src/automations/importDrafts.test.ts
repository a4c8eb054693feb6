import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/client";
import { importDrafts } from "./importDrafts";
import { emptyGraph } from "./model";
import { freeName, untitledName } from "./names";
import type { LocalDraft } from "./storage";

const draft = (name: string, nodes = 0): LocalDraft => ({
  name,
  graph: { ...emptyGraph(), nodes: Array.from({ length: nodes }, (_, i) => ({ id: `n${i}`, type: "exit" as const })) },
  savedAt: null,
});

const taken = (name: string) => new ApiError(409, `name: an automation named '${name}' already exists`, "name", "conflict");

describe("names of new automations", () => {
  it("numbers untitled automations from 1, the first number free", () => {
    expect(untitledName([])).toBe("Untitled automation 1");
    expect(untitledName(["Untitled automation 1", "untitled automation 2", "Untitled automation 4"])).toBe("Untitled automation 3");
  });

  it("keeps a free name, else numbers it", () => {
    expect(freeName("  Case study ", ["Welcome"])).toBe("Case study");
    expect(freeName("Case study", ["Case study", "Case study (2)"])).toBe("Case study (3)");
  });
});

describe("importing the drafts left in this browser", () => {
  it("creates each draft with its graph, under the next free name when the workspace has it already", async () => {
    const create = vi.fn(async (name: string, graph: unknown) => ({ id: 1, name, graph }));
    const results = await importDrafts([draft("Case study", 2), draft("  ")], ["Case study", "Untitled automation 1"], create);
    expect(create.mock.calls.map(([name]) => name)).toEqual(["Case study (2)", "Untitled automation 2"]);
    expect(create.mock.calls[0]![1]).toEqual(draft("Case study", 2).graph);
    expect(results.map((r) => ("automation" in r ? r.automation.name : "failed"))).toEqual([
      "Case study (2)",
      "Untitled automation 2",
    ]);
  });

  it("tries the next name when the one asked for was taken meanwhile", async () => {
    const create = vi
      .fn<(name: string, graph: unknown) => Promise<{ id: number; name: string }>>()
      .mockRejectedValueOnce(taken("Nurture"))
      .mockImplementation(async (name) => ({ id: 2, name }));
    const [result] = await importDrafts([draft("Nurture")], [], create);
    expect(create.mock.calls.map(([name]) => name)).toEqual(["Nurture", "Nurture (2)"]);
    expect(result).toMatchObject({ automation: { name: "Nurture (2)" } });
  });

  it("keeps the error of a draft that cannot be created, and goes on with the others", async () => {
    const down = new ApiError(0, "Cannot reach the Herald API (fetch failed)", null, "network");
    const create = vi
      .fn<(name: string, graph: unknown) => Promise<{ id: number; name: string }>>()
      .mockRejectedValueOnce(down)
      .mockImplementation(async (name) => ({ id: 3, name }));
    const results = await importDrafts([draft("A"), draft("B")], [], create);
    expect(create).toHaveBeenCalledTimes(2); // no other name tried after a failure that is not a 409
    expect(results[0]).toEqual({ draft: draft("A"), error: down });
    expect(results[1]).toMatchObject({ automation: { name: "B" } });
  });

  it("gives up after a few names all taken", async () => {
    const create = vi.fn(async (name: string): Promise<{ id: number; name: string }> => {
      throw taken(name);
    });
    const [result] = await importDrafts([draft("Busy")], [], create);
    expect(create).toHaveBeenCalledTimes(3);
    expect(result && "error" in result && (result.error as ApiError).status).toBe(409);
  });
});
