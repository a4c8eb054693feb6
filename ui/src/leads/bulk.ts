import type { BulkAction, BulkRequest, LeadSelection } from "../api/client";
import type { FilterJson } from "../api/queries";
import { formatNumber } from "../format";
import { splitList } from "../filters/model";

export const BULK_ACTIONS: readonly { value: BulkAction; label: string }[] = [
  { value: "tag", label: "Add tags" },
  { value: "untag", label: "Remove tags" },
  { value: "set_status", label: "Set status" },
  { value: "set_owner", label: "Set owner" },
  { value: "add_to_list", label: "Add to list" },
  { value: "remove_from_list", label: "Remove from list" },
  { value: "delete", label: "Delete" },
];

/** Which leads a bulk action is for: ticked rows, or everything the current search and filter match. */
export type Selection = { kind: "ids"; ids: ReadonlySet<number> } | { kind: "all" };

export function selectionBody(selection: Selection, filter: FilterJson | null, search: string): LeadSelection {
  if (selection.kind === "ids") return { lead_ids: [...selection.ids] };
  // "Everything" still needs a filter for the API: an empty group matches every lead.
  return { filter: filter ?? { combinator: "and", rules: [] }, search: search || null };
}

/**
 * The `value` of a bulk request from what the form holds (text for tags and owner ids, a choice otherwise),
 * or an error message when it cannot be sent.
 */
export function bulkValue(action: BulkAction, raw: string): { value: BulkRequest["value"] } | { error: string } {
  switch (action) {
    case "tag":
    case "untag": {
      const tags = splitList(raw);
      return tags.length > 0 ? { value: tags } : { error: "Type one or more tags, separated by commas." };
    }
    case "set_status":
      return raw ? { value: raw } : { error: "Choose a status." };
    case "set_owner": {
      const text = raw.trim();
      if (text === "") return { value: null }; // nobody
      const id = Number(text);
      return Number.isInteger(id) && id > 0 ? { value: id } : { error: "The owner is a user id (a whole number)." };
    }
    case "add_to_list":
    case "remove_from_list": {
      const id = Number(raw);
      return raw && Number.isInteger(id) && id > 0 ? { value: id } : { error: "Choose a list." };
    }
    default:
      return { value: null };
  }
}

/** "3 leads updated", "1 lead deleted". */
export function bulkResultText(action: string, affected: number): string {
  const noun = affected === 1 ? "lead" : "leads";
  return `${formatNumber(affected)} ${noun} ${action === "delete" ? "deleted" : "updated"}`;
}
