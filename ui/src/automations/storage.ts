import { readGraph } from "./graph";
import { emptyGraph, type DraftGraph } from "./model";

/**
 * Where a draft automation is kept. The automations API (create, update, publish) is not there yet, so the builder
 * keeps one draft per workspace in this browser (localStorage): a reload does not lose work. `saveDraft` is the one
 * place the builder saves through; wiring the API is a change to it (and to `loadDraft`) alone.
 */

export type Draft = { name: string; graph: DraftGraph; savedAt: string | null };

export const DEFAULT_NAME = "Untitled automation";

const storageKey = (workspaceId: number) => `herald.automations.draft.${workspaceId}`;

export function newDraft(): Draft {
  return { name: DEFAULT_NAME, graph: emptyGraph(), savedAt: null };
}

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null; // storage disabled
  }
}

/** The workspace's draft in this browser, or null (none, or unreadable). */
export function loadDraft(workspaceId: number): Draft | null {
  const raw = storage()?.getItem(storageKey(workspaceId));
  if (!raw) return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return null;
    const { name, graph, savedAt } = value as { name?: unknown; graph?: unknown; savedAt?: unknown };
    const read = readGraph(graph);
    if (!read.graph) return null;
    return {
      name: typeof name === "string" ? name : DEFAULT_NAME,
      graph: read.graph,
      savedAt: typeof savedAt === "string" ? savedAt : null,
    };
  } catch {
    return null;
  }
}

/** Saves the draft; resolves with when it was saved. */
export async function saveDraft(workspaceId: number, draft: Omit<Draft, "savedAt">): Promise<string> {
  const savedAt = new Date().toISOString();
  storage()?.setItem(storageKey(workspaceId), JSON.stringify({ ...draft, savedAt }));
  return savedAt;
}

export function discardDraft(workspaceId: number): void {
  storage()?.removeItem(storageKey(workspaceId));
}
