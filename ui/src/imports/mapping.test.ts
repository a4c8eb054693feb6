import { describe, expect, it } from "vitest";
import type { ImportPreview } from "../api/client";
import {
  IGNORE,
  NEW_FIELD,
  applySavedMapping,
  buildStartPayload,
  defaultOptions,
  formatBytes,
  hasErrorReport,
  initialMapping,
  isImportActive,
  optionsFromSaved,
  placeProblem,
  sampleValues,
  type ColumnMapping,
} from "./mapping";

const TARGETS = [
  { value: "ignore", label: "Do not import", type: "ignore" },
  { value: "email", label: "Email", type: "standard" },
  { value: "phone", label: "Phone", type: "standard" },
  { value: "first_name", label: "First name", type: "standard" },
  { value: "company", label: "Company", type: "standard" },
  { value: "external_id", label: "External id", type: "standard" },
  { value: "custom.tier", label: "Custom: tier", type: "choice" },
];

const PREVIEW: Pick<ImportPreview, "headers" | "suggestions" | "targets" | "rows"> = {
  headers: ["E-mail", "Prénom", "Annual revenue", "Notes"],
  rows: [
    ["ada@example.com", "Ada", "1200", ""],
    ["", "Grace", "", "met at fair"],
    ["alan@example.com", "Alan", "800", "x"],
    ["kay@example.com", "Kay", "5", "y"],
  ],
  suggestions: [
    { column: 0, header: "E-mail", target: "email", reason: "header" },
    { column: 1, header: "Prénom", target: "first_name", reason: "header" },
    {
      column: 2,
      header: "Annual revenue",
      target: "ignore",
      reason: "no match",
      new_custom_field: { key: "annual_revenue", label: "Annual revenue", type: "number", choices: [] },
    },
    { column: 3, header: "Notes", target: "ignore", reason: "no match" },
  ],
  targets: TARGETS,
};

function withTargets(mapping: ColumnMapping[], targets: string[]): ColumnMapping[] {
  return mapping.map((entry, index) => ({ ...entry, target: targets[index] ?? entry.target }));
}

describe("initial mapping", () => {
  it("starts from the suggestions and prefills new custom fields", () => {
    const mapping = initialMapping(PREVIEW);
    expect(mapping.map((m) => m.target)).toEqual(["email", "first_name", IGNORE, IGNORE]);
    expect(mapping[2]?.field).toEqual({ key: "annual_revenue", label: "Annual revenue", type: "number", choices: "" });
    // No suggestion of a field: one is made from the header.
    expect(mapping[3]?.field).toEqual({ key: "notes", label: "Notes", type: "text", choices: "" });
  });

  it("drops a suggested target the server does not offer", () => {
    const mapping = initialMapping({
      ...PREVIEW,
      suggestions: [{ column: 0, header: "E-mail", target: "custom.gone", reason: "header matches a custom field" }],
    });
    expect(mapping[0]?.target).toBe(IGNORE);
    expect(mapping[1]?.target).toBe(IGNORE);
  });

  it("takes three non-empty sample values", () => {
    expect(sampleValues(PREVIEW.rows, 0)).toEqual(["ada@example.com", "alan@example.com", "kay@example.com"]);
    expect(sampleValues(PREVIEW.rows, 3)).toEqual(["met at fair", "x", "y"]);
    expect(sampleValues([], 0)).toEqual([]);
  });
});

describe("saved mappings", () => {
  it("maps by header name and applies the saved options", () => {
    const current = initialMapping(PREVIEW);
    const saved = {
      columns: { "e-mail": "ignore", Prénom: "first_name", "Annual revenue": "custom.tier", Phone: "phone" },
      options: { dedupe_key: "phone" as const, on_duplicate: "overwrite" as const, date_order: "dmy" as const, source: "fair", tags: ["a", "b"] },
    };
    const applied = applySavedMapping(PREVIEW.headers, current, saved, TARGETS);
    // "e-mail" matches "E-mail" ignoring case; "Notes" is unknown to the mapping and keeps its target.
    expect(applied.mapping.map((m) => m.target)).toEqual([IGNORE, "first_name", "custom.tier", IGNORE]);
    expect(applied.matched).toBe(3);
    expect(applied.unknownTargets).toEqual([]);

    const options = optionsFromSaved(saved.options, { ...defaultOptions(), saveAs: "keep me" });
    expect(options).toMatchObject({ dedupeKey: "phone", onDuplicate: "overwrite", dateOrder: "dmy", source: "fair", tags: "a, b", saveAs: "keep me" });
  });

  it("ignores targets that no longer exist and frees targets the saved mapping takes", () => {
    const current = withTargets(initialMapping(PREVIEW), ["email", "first_name", IGNORE, "company"]);
    const saved = { columns: { "E-mail": "custom.deleted", "Annual revenue": "company" } };
    const applied = applySavedMapping(PREVIEW.headers, current, saved, TARGETS);
    expect(applied.mapping.map((m) => m.target)).toEqual([IGNORE, "first_name", "company", IGNORE]);
    expect(applied.unknownTargets).toEqual(["custom.deleted"]);
  });
});

describe("start payload", () => {
  it("sends one target per column, new custom fields as ignore plus a definition", () => {
    const mapping = withTargets(initialMapping(PREVIEW), ["email", "first_name", NEW_FIELD, IGNORE]);
    const built = buildStartPayload(mapping, {
      ...defaultOptions(),
      listId: "7",
      tags: "fair, 2025 ,",
      consentChannels: ["sms", "email"],
      consentSource: " Fair form ",
      consentWording: "I agree",
      defaultRegion: "fr",
      defaultStatus: "new",
      saveAs: " Fair ",
    });
    if ("problem" in built) throw new Error(built.problem.message);
    expect(built.newFieldColumns).toEqual([2]);
    expect(built.body).toEqual({
      mapping: ["email", "first_name", "ignore", "ignore"],
      new_custom_fields: [{ column: 2, key: "annual_revenue", label: "Annual revenue", type: "number", choices: [] }],
      options: {
        dedupe_key: "email",
        on_duplicate: "skip",
        list_id: 7,
        tags: ["fair", "2025"],
        consent: { channels: ["email", "sms"], source: "Fair form", wording: "I agree" },
        default_region: "FR",
        default_status: "new",
        date_order: "auto",
        source: "import",
      },
      save_mapping_as: "Fair",
    });
  });

  it("sends choices of a new choice field, and no consent or list when none is chosen", () => {
    const mapping = withTargets(initialMapping(PREVIEW), ["email", IGNORE, IGNORE, NEW_FIELD]);
    const notes = mapping[3];
    if (!notes) throw new Error("no column");
    mapping[3] = { ...notes, field: { key: "tier2", label: "", type: "choice", choices: "gold, silver" } };
    const built = buildStartPayload(mapping, defaultOptions());
    if ("problem" in built) throw new Error(built.problem.message);
    expect(built.body.new_custom_fields).toEqual([{ column: 3, key: "tier2", label: "tier2", type: "choice", choices: ["gold", "silver"] }]);
    expect(built.body.options).toMatchObject({ list_id: null, consent: null, default_region: null, default_status: null, tags: [] });
    expect(built.body.save_mapping_as).toBeUndefined();
  });

  it("refuses what the server would refuse, naming the same field", () => {
    const base = initialMapping(PREVIEW);
    const problem = (mapping: ColumnMapping[], options = defaultOptions()) => {
      const built = buildStartPayload(mapping, options);
      return "problem" in built ? built.problem.field : null;
    };
    expect(problem(withTargets(base, ["email", "email"]))).toBe("mapping[1]");
    expect(problem(withTargets(base, ["phone"]))).toBe("options.dedupe_key");
    expect(problem(base, { ...defaultOptions(), consentChannels: ["email"] })).toBe("options.consent.source");
    expect(problem(base, { ...defaultOptions(), consentChannels: ["email"], consentSource: "x" })).toBe("options.consent.wording");
    expect(problem(base, { ...defaultOptions(), defaultRegion: "FRA" })).toBe("options.default_region");

    const badKey = withTargets(base, ["email", IGNORE, NEW_FIELD, NEW_FIELD]);
    const notes = badKey[3];
    if (!notes) throw new Error("no column");
    badKey[3] = { ...notes, field: { ...notes.field, key: "9lives" } };
    expect(problem(badKey)).toBe("new_custom_fields[1].key");

    const noChoices = withTargets(base, ["email", IGNORE, NEW_FIELD]);
    const revenue = noChoices[2];
    if (!revenue) throw new Error("no column");
    noChoices[2] = { ...revenue, field: { ...revenue.field, type: "choice", choices: " , " } };
    expect(problem(noChoices)).toBe("new_custom_fields[0].choices");

    const sameKey = withTargets(base, ["email", IGNORE, NEW_FIELD, NEW_FIELD]);
    const last = sameKey[3];
    if (!last) throw new Error("no column");
    sameKey[3] = { ...last, field: { ...last.field, key: "annual_revenue" } };
    expect(problem(sameKey)).toBe("new_custom_fields[1].key");
  });
});

describe("placing a 422", () => {
  it("finds the column or option a field path names, in both path styles", () => {
    expect(placeProblem("mapping[3]", [], 4)).toEqual({ kind: "column", column: 3, part: "target" });
    expect(placeProblem("mapping.1", [], 4)).toEqual({ kind: "column", column: 1, part: "target" });
    expect(placeProblem("mapping[9]", [], 4)).toEqual({ kind: "general" });
    expect(placeProblem("new_custom_fields[1].key", [0, 3], 4)).toEqual({ kind: "column", column: 3, part: "key" });
    expect(placeProblem("new_custom_fields.0.type", [2], 4)).toEqual({ kind: "column", column: 2, part: "type" });
    expect(placeProblem("new_custom_fields", [2], 4)).toEqual({ kind: "general" });
    expect(placeProblem("options.dedupe_key", [], 4)).toEqual({ kind: "option", name: "dedupe_key" });
    expect(placeProblem("options.consent.wording", [], 4)).toEqual({ kind: "option", name: "consent" });
    expect(placeProblem("options.tags.2", [], 4)).toEqual({ kind: "option", name: "tags" });
    expect(placeProblem("save_mapping_as", [], 4)).toEqual({ kind: "option", name: "save_mapping_as" });
    expect(placeProblem("mapping", [], 4)).toEqual({ kind: "general" });
    expect(placeProblem(null, [], 4)).toEqual({ kind: "general" });
  });
});

describe("progress helpers", () => {
  it("polls queued and running imports only", () => {
    expect(isImportActive("queued")).toBe(true);
    expect(isImportActive("running")).toBe(true);
    expect(isImportActive("completed")).toBe(false);
    expect(isImportActive("uploaded")).toBe(false);
  });

  it("offers the error report when rows were skipped or rejected", () => {
    expect(hasErrorReport({ skipped: 0, rejected: 0 })).toBe(false);
    expect(hasErrorReport({ skipped: 2, rejected: 0 })).toBe(true);
    expect(hasErrorReport({ skipped: 0, rejected: 1 })).toBe(true);
    // Existing leads left alone by "skip" are not report rows.
    expect(hasErrorReport({ skipped: 3, rejected: 0, reported: 0 })).toBe(false);
    expect(hasErrorReport({ skipped: 3, rejected: 0, reported: 1 })).toBe(true);
  });

  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(200 * 1024 * 1024)).toBe("200 MB");
  });
});
