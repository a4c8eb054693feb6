import type { RuleGroupType, RuleType } from "react-querybuilder";
import type { FieldInfo } from "../api/client";
import type { FilterJson } from "../api/queries";

/**
 * The lead filter as react-querybuilder edits it, and the JSON the API takes.
 *
 * The builder keeps its own ids on every rule and group; the API ignores them, but knows where a rule sits by its
 * path ("rules[1].rules[0]"), which is how a 422 is pinned on the rule it is about.
 */

/** The value editor a field type and operator call for. */
export type EditorKind =
  | "none"
  | "text"
  | "number"
  | "date"
  | "numberRange"
  | "dateRange"
  | "relative"
  | "textList"
  | "choice"
  | "choiceList"
  | "tags"
  | "boolean"
  | "list"
  | "engagement";

export const RELATIVE_UNITS = ["days", "weeks", "months"] as const;
export type RelativeUnit = (typeof RELATIVE_UNITS)[number];
export type RelativeValue = { amount: number | ""; unit: RelativeUnit };
export type EngagementValue = { days: number | ""; campaign_id: number | null };

const NO_VALUE = new Set(["null", "notNull"]);

export function editorKind(type: string, operator: string): EditorKind {
  if (NO_VALUE.has(operator)) return "none";
  const ranged = operator === "between" || operator === "notBetween";
  const several = operator === "in" || operator === "notIn";
  switch (type) {
    case "number":
      return ranged ? "numberRange" : "number";
    case "date":
      if (ranged) return "dateRange";
      if (operator === "inLast" || operator === "moreThanAgo") return "relative";
      return "date";
    case "boolean":
      return "boolean";
    case "choice":
      return several ? "choiceList" : "choice";
    case "tags":
      return "tags";
    case "list":
      return "list";
    case "engagement":
      return "engagement";
    default:
      return several ? "textList" : "text";
  }
}

/** The value a new rule (or a rule whose operator just changed) starts with. */
export function defaultValue(kind: EditorKind, choices?: readonly string[] | null): unknown {
  switch (kind) {
    case "none":
      return null;
    case "numberRange":
    case "dateRange":
      return ["", ""];
    case "relative":
      return { amount: 30, unit: "days" } satisfies RelativeValue;
    case "engagement":
      return { days: 30, campaign_id: null } satisfies EngagementValue;
    case "textList":
    case "choiceList":
    case "tags":
      return [];
    case "boolean":
      return true;
    case "choice":
      return choices?.[0] ?? "";
    default:
      return "";
  }
}

const LABELS: Record<string, string> = {
  "=": "is",
  "!=": "is not",
  contains: "contains",
  doesNotContain: "does not contain",
  beginsWith: "begins with",
  endsWith: "ends with",
  in: "is one of",
  notIn: "is none of",
  null: "is empty",
  notNull: "is not empty",
  "<": "<",
  "<=": "≤",
  ">": ">",
  ">=": "≥",
  between: "between",
  notBetween: "not between",
  inLast: "in the last",
  moreThanAgo: "more than … ago",
  containsAny: "has any of",
  containsAll: "has all of",
  doesNotContainAny: "has none of",
  inList: "is in list",
  notInList: "is not in list",
  notInLast: "not in the last",
};

/** A readable operator label; a few read differently on dates and numbers. */
export function operatorLabel(type: string, operator: string): string {
  if (type === "date") {
    if (operator === "<") return "before";
    if (operator === ">") return "after";
  }
  if (type === "number") {
    if (operator === "=") return "=";
    if (operator === "!=") return "≠";
  }
  return LABELS[operator] ?? operator;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.trim() !== "";
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** "a, b ,, c" -> ["a", "b", "c"] */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

/** Whether a value is complete enough to send (the server still checks it). */
export function isComplete(kind: EditorKind, value: unknown): boolean {
  switch (kind) {
    case "none":
      return true;
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "numberRange":
      return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v));
    case "dateRange":
      return Array.isArray(value) && value.length === 2 && value.every(isNonEmptyString);
    case "relative":
      return isRecord(value) && isPositiveInteger(value.amount) && RELATIVE_UNITS.includes(value.unit as RelativeUnit);
    case "engagement":
      return isRecord(value) && isPositiveInteger(value.days);
    case "textList":
    case "choiceList":
    case "tags":
      return Array.isArray(value) && value.length > 0 && value.every(isNonEmptyString);
    case "boolean":
      return typeof value === "boolean";
    case "list":
      return isPositiveInteger(value);
    default:
      return isNonEmptyString(value);
  }
}

/** The value as the API takes it: trimmed strings, no UI leftovers. */
function apiValue(kind: EditorKind, value: unknown): unknown {
  switch (kind) {
    case "text":
    case "date":
    case "choice":
      return typeof value === "string" ? value.trim() : value;
    case "textList":
    case "choiceList":
    case "tags":
    case "dateRange":
      return Array.isArray(value) ? value.map((v) => (typeof v === "string" ? v.trim() : v)) : value;
    case "relative":
      return isRecord(value) ? { amount: value.amount, unit: value.unit } : value;
    case "engagement":
      return isRecord(value) ? { days: value.days, campaign_id: value.campaign_id ?? null } : value;
    default:
      return value;
  }
}

export type PreparedFilter = {
  /** The tree for the API. */
  filter: FilterJson;
  /** API path of each rule and group ("" for the root, "rules[0].rules[2]") -> the builder's id. */
  ids: Record<string, string>;
  /** Rules left out because their value is incomplete (only with `dropIncomplete`). */
  skipped: number;
  /** How many rules went into `filter`. */
  rules: number;
};

type Options = { dropIncomplete?: boolean };

/**
 * The builder's query as the API's filter JSON. With `dropIncomplete` (previews while typing), rules still being
 * filled in are left out, and so are groups left empty by that; saving sends everything for the server to check.
 */
export function prepareFilter(
  query: RuleGroupType,
  fields: ReadonlyMap<string, FieldInfo>,
  options: Options = {},
): PreparedFilter {
  const ids: Record<string, string> = {};
  let skipped = 0;
  let rules = 0;

  const group = (node: RuleGroupType, path: string): FilterJson => {
    if (node.id) ids[path] = node.id;
    const out: unknown[] = [];
    for (const child of node.rules) {
      if (typeof child === "string") continue; // independent combinators are not used
      const childPath = `${path ? `${path}.` : ""}rules[${out.length}]`;
      if ("rules" in child) {
        const sub = group(child, childPath);
        if (options.dropIncomplete && (sub.rules as unknown[]).length === 0) {
          delete ids[childPath];
          continue;
        }
        out.push(sub);
        continue;
      }
      const rule = child as RuleType;
      const info = fields.get(rule.field);
      const kind = editorKind(info?.type ?? "text", rule.operator);
      if (options.dropIncomplete && (!info || !isComplete(kind, rule.value))) {
        skipped += 1;
        continue;
      }
      if (rule.id) ids[childPath] = rule.id;
      rules += 1;
      out.push(kind === "none" ? { field: rule.field, operator: rule.operator } : {
        field: rule.field,
        operator: rule.operator,
        value: apiValue(kind, rule.value),
      });
    }
    const result: FilterJson = { combinator: node.combinator === "or" ? "or" : "and", rules: out };
    if (node.not) result.not = true;
    return result;
  };

  return { filter: group(query, ""), ids, skipped, rules };
}

/** The builder id of the rule or group a 422's `field` ("filter.rules[1].rules[0].operator") points at. */
export function errorTarget(field: string | null | undefined, ids: Record<string, string>): string | null {
  if (!field) return null;
  const path = field.replace(/^filter\.?/, "");
  const match = /^rules\[\d+\](?:\.rules\[\d+\])*/.exec(path);
  if (match) {
    // The deepest rule or group named; fall back to the enclosing ones.
    let candidate = match[0];
    while (candidate) {
      const id = ids[candidate];
      if (id) return id;
      const cut = candidate.lastIndexOf(".rules[");
      candidate = cut > 0 ? candidate.slice(0, cut) : "";
    }
  }
  return ids[""] ?? null;
}

/** "filter.rules[0].value: the low end is greater…" -> "The low end is greater…" (the rule is outlined instead). */
export function filterErrorText(message: string): string {
  const match = /^filter(?:\.[\w[\].]*)?: (.+)$/s.exec(message);
  if (!match?.[1]) return message;
  return match[1].charAt(0).toUpperCase() + match[1].slice(1);
}

/** An empty query (matches every lead). */
export function emptyQuery(): RuleGroupType {
  return { combinator: "and", rules: [] };
}

/** A saved filter (or anything) as a query the builder can edit; unusable parts are dropped. */
export function toQuery(filter: unknown): RuleGroupType {
  if (!isRecord(filter) || !Array.isArray(filter.rules)) return emptyQuery();
  const rules: RuleGroupType["rules"] = [];
  for (const child of filter.rules) {
    if (!isRecord(child)) continue;
    if (Array.isArray(child.rules)) rules.push(toQuery(child));
    else if (typeof child.field === "string" && typeof child.operator === "string") {
      rules.push({ field: child.field, operator: child.operator, value: child.value ?? null });
    }
  }
  const group: RuleGroupType = { combinator: filter.combinator === "or" ? "or" : "and", rules };
  if (filter.not === true) group.not = true;
  return group;
}

/** How many rules a query holds, nested groups included. */
export function countRules(query: RuleGroupType): number {
  let n = 0;
  for (const child of query.rules) {
    if (typeof child === "string") continue;
    n += "rules" in child ? countRules(child) : 1;
  }
  return n;
}

/** The catalogue by field name. */
export function fieldMap(fields: readonly FieldInfo[] | undefined): Map<string, FieldInfo> {
  return new Map((fields ?? []).map((field) => [field.name, field]));
}
