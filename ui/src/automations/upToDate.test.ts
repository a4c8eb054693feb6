import { describe, expect, it } from "vitest";
import type { PublishInput } from "./publish";
import { draftIsPublished, publishControl } from "./upToDate";

// The validator's normalised graph and the version's: the same graph, keys in another order.
const normalised = {
  nodes: [{ id: "go", type: "external_event", label: null, position: { x: 0, y: 0 }, config: { event: "go", filter: null } }],
  edges: [],
  reentry: "once_ever",
  goals: [],
};
const version = {
  goals: [],
  reentry: "once_ever",
  edges: [],
  nodes: [{ config: { filter: null, event: "go" }, position: { y: 0, x: 0 }, label: null, type: "external_event", id: "go" }],
};
const base: PublishInput = { status: "active", publishedVersion: 2, problems: [], save: "saved", busy: false };

describe("the draft against the published version", () => {
  it("is the same graph whatever the order of keys", () => {
    expect(draftIsPublished(normalised, version)).toBe(true);
  });

  it("differs by any setting or position", () => {
    const moved = { ...normalised, nodes: [{ ...normalised.nodes[0], position: { x: 10, y: 0 } }] };
    expect(draftIsPublished(moved, version)).toBe(false);
    const renamed = { ...normalised, nodes: [{ ...normalised.nodes[0], config: { event: "stop", filter: null } }] };
    expect(draftIsPublished(renamed, version)).toBe(false);
  });

  it("is unknown until both graphs are known, and different when the draft's shape is wrong", () => {
    expect(draftIsPublished(undefined, version)).toBeUndefined();
    expect(draftIsPublished(normalised, undefined)).toBeUndefined();
    expect(draftIsPublished(null, version)).toBe(false);
  });
});

describe("the Publish button's label", () => {
  it("says Published, disabled, when the draft is the published version", () => {
    expect(publishControl({ ...base, upToDate: true })).toEqual({
      label: "Published",
      disabled: true,
      reason: "The draft is version 2 as published: change it to publish again.",
    });
  });

  it("says Publish changes when the draft differs, or while it is unknown", () => {
    expect(publishControl({ ...base, upToDate: false })).toMatchObject({ label: "Publish changes", disabled: false });
    expect(publishControl({ ...base, upToDate: undefined })).toMatchObject({ label: "Publish changes", disabled: false });
  });

  it("says Publish for an automation never published", () => {
    expect(publishControl({ ...base, status: "draft", publishedVersion: null, upToDate: undefined })).toMatchObject({
      label: "Publish",
      disabled: false,
    });
  });

  it("keeps the other reasons to disable it", () => {
    expect(publishControl({ ...base, upToDate: false, problems: undefined })).toMatchObject({
      label: "Publish changes",
      disabled: true,
      reason: "Checking the draft…",
    });
    expect(publishControl({ ...base, upToDate: false, busy: true })).toMatchObject({ disabled: true, reason: "Working…" });
    expect(publishControl({ ...base, upToDate: true, busy: true })).toMatchObject({ label: "Published", disabled: true });
    expect(publishControl({ ...base, upToDate: true, status: "archived" }).label).toBe("Publish changes");
  });
});
