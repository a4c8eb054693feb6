import { afterEach, beforeEach, describe, expect, it } from "vitest";
import example from "../../../tests/fixtures/automations/qualified_case_study.json";
import { discardDraft, loadDraft, localDrafts } from "./storage";
import { readGraph } from "./graph";

class MemoryStorage {
  items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
  removeItem(key: string) {
    this.items.delete(key);
  }
}

describe("drafts the builder left in this browser", () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage();
    (globalThis as { window?: unknown }).window = { localStorage: storage };
  });
  afterEach(() => {
    delete (globalThis as { window?: unknown }).window;
  });

  it("reads the one draft of each workspace, and drops it", () => {
    const graph = readGraph(structuredClone(example)).graph!;
    const savedAt = "2026-01-05T10:00:00.000Z";
    storage.setItem("herald.automations.draft.3", JSON.stringify({ name: "Case study", graph, savedAt }));
    expect(loadDraft(3)).toEqual({ name: "Case study", graph, savedAt });
    expect(localDrafts(3)).toEqual([{ name: "Case study", graph, savedAt }]);
    expect(loadDraft(4)).toBeNull();
    expect(localDrafts(4)).toEqual([]);
    discardDraft(3);
    expect(loadDraft(3)).toBeNull();
    expect(storage.items.size).toBe(0);
  });

  it("ignores what it cannot read", () => {
    storage.setItem("herald.automations.draft.1", "{not json");
    storage.setItem("herald.automations.draft.2", JSON.stringify({ name: "x", graph: { nodes: [{ type: "exit" }] } }));
    expect(loadDraft(1)).toBeNull();
    expect(loadDraft(2)).toBeNull();
    expect(localDrafts(2)).toEqual([]);
  });
});
