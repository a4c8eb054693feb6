import { describe, expect, it } from "vitest";
import type { Automation } from "./api";
import { changedElsewhere, readDraft } from "./draft";
import { emptyGraph } from "./model";

const automation = (over: Partial<Automation> = {}): Automation => ({
  id: 7,
  name: "Case study",
  status: "draft",
  published_version: null,
  draft: { nodes: [], edges: [], reentry: "once_ever" },
  valid: true,
  problems: [],
  versions: [],
  created_at: "2026-01-05T10:00:00Z",
  updated_at: "2026-01-05T10:00:00Z",
  ...over,
});

describe("the stored draft", () => {
  it("opens an automation without a graph on an empty one, and refuses what cannot be drawn", () => {
    expect(readDraft(null)).toEqual({ graph: emptyGraph(), errors: [] });
    expect(readDraft({})).toEqual({ graph: emptyGraph(), errors: [] });
    expect(readDraft({ nodes: [{ id: "a", type: "exit" }], edges: [] }).graph?.nodes).toHaveLength(1);
    const bad = readDraft({ nodes: [{ id: "a", type: "teleport" }] });
    expect(bad.graph).toBeNull();
    expect(bad.errors[0]).toContain('unknown type "teleport"');
  });

  it("is changed elsewhere when a later read has another draft than our latest answer", () => {
    const ours = automation();
    // our own answer, or an older read, or the same draft with its keys reordered by the database: no
    expect(changedElsewhere(ours, ours)).toBe(false);
    expect(changedElsewhere(ours, automation({ updated_at: "2026-01-05T09:00:00Z", draft: { nodes: ["old"] } }))).toBe(false);
    expect(changedElsewhere(ours, automation({ updated_at: "2026-01-05T10:05:00Z", draft: { reentry: "once_ever", edges: [], nodes: [] } }))).toBe(false);
    // paused or renamed elsewhere: the draft is the same, no
    expect(changedElsewhere(ours, automation({ updated_at: "2026-01-05T10:05:00Z", status: "paused", name: "Other" }))).toBe(false);
    // saved elsewhere: yes
    expect(changedElsewhere(ours, automation({ updated_at: "2026-01-05T10:05:00Z", draft: { nodes: [{ id: "x", type: "exit" }], edges: [] } }))).toBe(true);
  });
});
