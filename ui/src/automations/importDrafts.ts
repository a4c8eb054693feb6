import { conflictMessage } from "./api";
import { freeName, untitledName } from "./names";
import type { LocalDraft } from "./storage";

export type Imported<A> = { draft: LocalDraft; automation: A } | { draft: LocalDraft; error: unknown };

/** How many other names a draft tries when the one it asked for was taken meanwhile (409). */
const NAME_ATTEMPTS = 3;

/**
 * Stores drafts left in this browser as automations, one after the other: each under its own name, or the next free
 * one ("Case study (2)") when the workspace has it already, "Untitled automation N" when it had none. A draft that
 * fails keeps its error (the caller keeps it in the browser); the others are created.
 */
export async function importDrafts<A extends { name: string }>(
  drafts: readonly LocalDraft[],
  taken: readonly string[],
  create: (name: string, graph: unknown) => Promise<A>,
): Promise<Imported<A>[]> {
  const names = [...taken];
  const results: Imported<A>[] = [];
  for (const draft of drafts) {
    let result: Imported<A> | null = null;
    for (let attempt = 0; attempt < NAME_ATTEMPTS && !result; attempt++) {
      const name = draft.name.trim() ? freeName(draft.name, names) : untitledName(names);
      try {
        const automation = await create(name, draft.graph);
        names.push(automation.name);
        result = { draft, automation };
      } catch (error) {
        if (conflictMessage(error) === null || attempt === NAME_ATTEMPTS - 1) result = { draft, error };
        else names.push(name); // taken meanwhile: the next free one
      }
    }
    if (result) results.push(result);
  }
  return results;
}
