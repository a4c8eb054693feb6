import type { Permission } from "../auth";

/**
 * What the automation page offers a member. Reading it (the graph, the panel of a node as text, the published
 * versions, Monitor: counts on the nodes, the error log, the journeys and their paths) needs workspace:read only,
 * like the API's GETs; every change (the draft, its name, publishing, pausing, deleting, simulating) needs
 * campaigns:write, which the API asks for too.
 */
export type AutomationControls = {
  /** The builder edits the draft (palette, dragging, connecting, deleting, the panels' fields, JSON apply, undo,
   * auto-layout) and saves it; false: the builder is read-only and nothing is saved. */
  edit: boolean;
  rename: boolean;
  publish: boolean;
  /** Pause and Resume. */
  pause: boolean;
  remove: boolean;
  simulate: boolean;
  /** "Copy into the draft" on a published version. */
  copyVersion: boolean;
  monitor: boolean;
};

export function automationControls(can: (permission: Permission) => boolean): AutomationControls {
  const write = can("campaigns:write");
  return {
    edit: write,
    rename: write,
    publish: write,
    pause: write,
    remove: write,
    simulate: write,
    copyVersion: write,
    monitor: can("workspace:read"),
  };
}
