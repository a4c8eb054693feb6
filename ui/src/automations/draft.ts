import type { Automation } from "./api";
import { readGraph } from "./graph";
import { emptyGraph, isRecord, type DraftGraph } from "./model";
import { canonicalJson } from "./saver";

/** The stored draft as the builder opens it (null: it cannot be drawn, see `errors`); none yet is an empty graph. */
export function readDraft(draft: unknown): { graph: DraftGraph | null; errors: string[] } {
  if (draft === null || draft === undefined || (isRecord(draft) && Object.keys(draft).length === 0)) {
    return { graph: emptyGraph(), errors: [] };
  }
  return readGraph(draft);
}

/**
 * Whether the automation as last read (`current`) has another draft than our latest answer (`known`), written after
 * it: someone saved it elsewhere (another tab, another member). The API has no version check, so the editor asks
 * which draft to keep instead of saving over it.
 */
export function changedElsewhere(known: Automation, current: Automation): boolean {
  if (current === known || Date.parse(current.updated_at) <= Date.parse(known.updated_at)) return false;
  return canonicalJson(current.draft) !== canonicalJson(known.draft);
}
