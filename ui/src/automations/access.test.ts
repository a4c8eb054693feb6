import { describe, expect, it } from "vitest";
import { can, type Permission } from "../auth";
import { automationControls } from "./access";

const VIEWER: Permission[] = ["workspace:read"];
const MARKETER: Permission[] = ["workspace:read", "leads:write", "lists:write", "templates:write", "media:write", "campaigns:write", "campaigns:launch"];

const controlsOf = (permissions: Permission[]) => automationControls((permission) => can({ permissions }, permission));

describe("what the automation page offers", () => {
  it("offers a member who may only read the graph and Monitor, and nothing that changes the automation", () => {
    expect(controlsOf(VIEWER)).toEqual({
      edit: false,
      rename: false,
      publish: false,
      pause: false,
      remove: false,
      simulate: false,
      copyVersion: false,
      monitor: true,
    });
  });

  it("offers a member with campaigns:write every control", () => {
    const controls = controlsOf(MARKETER);
    expect(Object.entries(controls).filter(([, shown]) => !shown)).toEqual([]);
  });

  it("goes by campaigns:write alone for the changes (as the API does)", () => {
    expect(controlsOf(["workspace:read", "campaigns:launch", "analytics:read"]).edit).toBe(false);
    expect(controlsOf(["workspace:read", "campaigns:write"]).publish).toBe(true);
  });
});
