import type { ExportColumn, ExportFormat, ExportJob, ExportRequest } from "../api/client";
import type { FilterJson } from "../api/queries";
import type { Selection } from "./bulk";

export const EXPORT_FORMATS: readonly { value: ExportFormat; label: string }[] = [
  { value: "csv", label: "CSV" },
  { value: "xlsx", label: "Excel (XLSX)" },
  { value: "json", label: "JSON" },
];

/** The columns ticked at first: the API's defaults, in catalogue order (all of them if it marks none). */
export function defaultColumns(catalogue: readonly ExportColumn[]): string[] {
  const chosen = catalogue.filter((c) => c.default).map((c) => c.id);
  return chosen.length > 0 ? chosen : catalogue.map((c) => c.id);
}

/** Tick or untick a column, keeping the catalogue's order (the file's column order). */
export function toggleExportColumn(catalogue: readonly ExportColumn[], chosen: readonly string[], id: string): string[] {
  const set = new Set(chosen);
  if (set.has(id)) set.delete(id);
  else set.add(id);
  return catalogue.filter((c) => set.has(c.id)).map((c) => c.id);
}

/** Which leads: the ticked rows, or everything the table's search and filter match. */
export type ExportScope = "selected" | "matching";

/** The body of POST /api/leads/export. */
export function exportBody(
  format: ExportFormat,
  columns: readonly string[],
  scope: ExportScope,
  selection: Selection,
  filter: FilterJson | null,
  search: string,
): ExportRequest {
  const body: ExportRequest = { format, columns: [...columns] };
  if (scope === "selected" && selection.kind === "ids" && selection.ids.size > 0) {
    body.lead_ids = [...selection.ids];
    return body;
  }
  if (filter) body.filter = filter;
  const words = search.trim();
  if (words) body.search = words;
  return body;
}

/** Whether a background export has stopped changing. */
export function isExportDone(job: Pick<ExportJob, "status"> | undefined): boolean {
  return job?.status === "ready" || job?.status === "failed";
}

/** The file name a download falls back to when the answer does not name one. */
export function fallbackExportName(format: ExportFormat, day: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `leads-${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}.${format}`;
}
