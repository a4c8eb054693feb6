import { readGraph } from "./graph";
import type { DraftGraph } from "./model";

/**
 * Drafts the builder kept in this browser (localStorage, one per workspace) before the automations API stored them.
 * Nothing is written here any more: the automations page offers to import such a draft (see ./importDrafts) or to
 * drop it, and then removes it.
 */

export type LocalDraft = { name: string; graph: DraftGraph; savedAt: string | null };

const storageKey = (workspaceId: number) => `herald.automations.draft.${workspaceId}`;

function storage(): Storage | null {
  try {
    return typeof window === "undefined" ? null : window.localStorage;
  } catch {
    return null; // storage disabled
  }
}

/** The workspace's draft left in this browser, or null (none, or unreadable). */
export function loadDraft(workspaceId: number): LocalDraft | null {
  const raw = storage()?.getItem(storageKey(workspaceId));
  if (!raw) return null;
  try {
    const value: unknown = JSON.parse(raw);
    if (typeof value !== "object" || value === null) return null;
    const { name, graph, savedAt } = value as { name?: unknown; graph?: unknown; savedAt?: unknown };
    const read = readGraph(graph);
    if (!read.graph) return null;
    return {
      name: typeof name === "string" ? name : "",
      graph: read.graph,
      savedAt: typeof savedAt === "string" ? savedAt : null,
    };
  } catch {
    return null;
  }
}

/** The drafts of the workspace left in this browser (the old builder kept one at most). */
export function localDrafts(workspaceId: number): LocalDraft[] {
  const draft = loadDraft(workspaceId);
  return draft ? [draft] : [];
}

export function discardDraft(workspaceId: number): void {
  storage()?.removeItem(storageKey(workspaceId));
}
