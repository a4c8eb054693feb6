import { describe, expect, it } from "vitest";
import { defaultColumns, exportBody, fallbackExportName, isExportDone, toggleExportColumn } from "./export";

const CATALOGUE = [
  { id: "id", label: "Id", type: "number", default: true },
  { id: "email", label: "Email", type: "text", default: true },
  { id: "owner", label: "Owner (email)", type: "text", default: false },
  { id: "status", label: "Status", type: "text", default: true },
  { id: "custom.tier", label: "Tier", type: "choice", default: false },
];

describe("export", () => {
  it("ticks the default columns the catalogue has, in catalogue order", () => {
    expect(defaultColumns(CATALOGUE)).toEqual(["id", "email", "status"]);
    expect(defaultColumns([{ id: "custom.x", label: "X", type: "text", default: false }])).toEqual(["custom.x"]);
  });

  it("keeps the catalogue order when ticking", () => {
    expect(toggleExportColumn(CATALOGUE, ["status", "id"], "custom.tier")).toEqual(["id", "status", "custom.tier"]);
    expect(toggleExportColumn(CATALOGUE, ["id", "status"], "id")).toEqual(["status"]);
  });

  it("exports the ticked rows, or what the search and filter match", () => {
    const filter = { combinator: "and", rules: [{ field: "status", operator: "=", value: "new" }] };
    const ids = { kind: "ids" as const, ids: new Set([3, 5]) };
    expect(exportBody("csv", ["id"], "selected", ids, filter, " ada ")).toEqual({ format: "csv", columns: ["id"], lead_ids: [3, 5] });
    expect(exportBody("xlsx", ["id"], "matching", ids, filter, " ada ")).toEqual({
      format: "xlsx",
      columns: ["id"],
      filter,
      search: "ada",
    });
    // "All matching" of the bulk bar and an empty selection both mean the current search and filter.
    expect(exportBody("json", ["email"], "selected", { kind: "all" }, null, "")).toEqual({ format: "json", columns: ["email"] });
    expect(exportBody("csv", ["email"], "selected", { kind: "ids", ids: new Set() }, null, "x")).toEqual({
      format: "csv",
      columns: ["email"],
      search: "x",
    });
  });

  it("knows when a background export is done, and names a file without a header", () => {
    expect(isExportDone({ status: "running" })).toBe(false);
    expect(isExportDone({ status: "ready" })).toBe(true);
    expect(isExportDone({ status: "failed" })).toBe(true);
    expect(fallbackExportName("xlsx", new Date(2026, 0, 5))).toBe("leads-2026-01-05.xlsx");
  });
});
