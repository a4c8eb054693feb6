import { afterEach, beforeEach, describe, expect, it } from "vitest";
import example from "../../../tests/fixtures/automations/qualified_case_study.json";
import { discardDraft, loadDraft, saveDraft } from "./storage";
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

describe("the draft, kept in this browser until the automations API exists", () => {
  let storage: MemoryStorage;
  beforeEach(() => {
    storage = new MemoryStorage();
    (globalThis as { window?: unknown }).window = { localStorage: storage };
  });
  afterEach(() => {
    delete (globalThis as { window?: unknown }).window;
  });

  it("saves and loads one draft per workspace", async () => {
    const graph = readGraph(structuredClone(example)).graph!;
    const savedAt = await saveDraft(3, { name: "Case study", graph });
    expect(loadDraft(3)).toEqual({ name: "Case study", graph, savedAt });
    expect(loadDraft(4)).toBeNull();
    discardDraft(3);
    expect(loadDraft(3)).toBeNull();
  });

  it("ignores what it cannot read", () => {
    storage.setItem("herald.automations.draft.1", "{not json");
    storage.setItem("herald.automations.draft.2", JSON.stringify({ name: "x", graph: { nodes: [{ type: "exit" }] } }));
    expect(loadDraft(1)).toBeNull();
    expect(loadDraft(2)).toBeNull();
  });
});
