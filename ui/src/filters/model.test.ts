import { describe, expect, it } from "vitest";
import type { RuleGroupType } from "react-querybuilder";
import type { FieldInfo } from "../api/client";
import {
  countRules,
  defaultValue,
  editorKind,
  errorTarget,
  fieldMap,
  filterErrorText,
  isComplete,
  operatorLabel,
  prepareFilter,
  splitList,
  toQuery,
} from "./model";

const FIELDS: FieldInfo[] = [
  { name: "email", label: "Email", type: "text", operators: ["=", "contains", "in", "null", "notNull"] },
  { name: "score", label: "Score", type: "number", operators: ["=", ">", "between", "null"] },
  { name: "created_at", label: "Created", type: "date", operators: ["<", "between", "inLast", "moreThanAgo"] },
  { name: "status", label: "Status", type: "choice", operators: ["=", "in"], choices: ["new", "won"] },
  { name: "tags", label: "Tags", type: "tags", operators: ["containsAny", "containsAll"] },
  { name: "list", label: "List membership", type: "list", operators: ["inList", "notInList"] },
  { name: "engagement.opened", label: "Opened", type: "engagement", operators: ["inLast", "notInLast"] },
  { name: "custom.vip", label: "VIP", type: "boolean", operators: ["=", "null"] },
];
const byName = fieldMap(FIELDS);

describe("value editors", () => {
  it("picks an editor per type and operator", () => {
    expect(editorKind("text", "contains")).toBe("text");
    expect(editorKind("text", "notIn")).toBe("textList");
    expect(editorKind("number", "between")).toBe("numberRange");
    expect(editorKind("number", "notBetween")).toBe("numberRange");
    expect(editorKind("date", "inLast")).toBe("relative");
    expect(editorKind("date", "moreThanAgo")).toBe("relative");
    expect(editorKind("date", "between")).toBe("dateRange");
    expect(editorKind("date", "<")).toBe("date");
    expect(editorKind("choice", "in")).toBe("choiceList");
    expect(editorKind("tags", "containsAll")).toBe("tags");
    expect(editorKind("list", "inList")).toBe("list");
    expect(editorKind("engagement", "notInLast")).toBe("engagement");
    expect(editorKind("boolean", "=")).toBe("boolean");
    expect(editorKind("text", "null")).toBe("none");
    expect(editorKind("tags", "notNull")).toBe("none");
  });

  it("starts each shape with a usable default", () => {
    expect(defaultValue("relative")).toEqual({ amount: 30, unit: "days" });
    expect(defaultValue("engagement")).toEqual({ days: 30, campaign_id: null });
    expect(defaultValue("numberRange")).toEqual(["", ""]);
    expect(defaultValue("tags")).toEqual([]);
    expect(defaultValue("choice", ["new", "won"])).toBe("new");
    expect(defaultValue("boolean")).toBe(true);
    expect(defaultValue("none")).toBeNull();
    expect(defaultValue("text")).toBe("");
  });

  it("knows when a value is complete", () => {
    expect(isComplete("text", "  ")).toBe(false);
    expect(isComplete("text", "gb")).toBe(true);
    expect(isComplete("number", "")).toBe(false);
    expect(isComplete("number", 0)).toBe(true);
    expect(isComplete("numberRange", [1, ""])).toBe(false);
    expect(isComplete("numberRange", [1, 5])).toBe(true);
    expect(isComplete("relative", { amount: 0, unit: "days" })).toBe(false);
    expect(isComplete("relative", { amount: 2, unit: "weeks" })).toBe(true);
    expect(isComplete("relative", { amount: 2, unit: "years" })).toBe(false);
    expect(isComplete("tags", [])).toBe(false);
    expect(isComplete("tags", ["vip"])).toBe(true);
    expect(isComplete("list", "")).toBe(false);
    expect(isComplete("list", 3)).toBe(true);
    expect(isComplete("engagement", { days: 7, campaign_id: null })).toBe(true);
    expect(isComplete("none", undefined)).toBe(true);
  });

  it("labels operators for people", () => {
    expect(operatorLabel("date", "<")).toBe("before");
    expect(operatorLabel("date", ">")).toBe("after");
    expect(operatorLabel("text", "=")).toBe("is");
    expect(operatorLabel("tags", "doesNotContainAny")).toBe("has none of");
    expect(operatorLabel("text", "somethingNew")).toBe("somethingNew");
  });

  it("splits comma-separated lists", () => {
    expect(splitList(" vip, , partner ,")).toEqual(["vip", "partner"]);
    expect(splitList("")).toEqual([]);
  });
});

const QUERY: RuleGroupType = {
  id: "root",
  combinator: "and",
  rules: [
    { id: "r0", field: "email", operator: "contains", value: " @acme.com " },
    {
      id: "g1",
      combinator: "or",
      not: true,
      rules: [
        { id: "r10", field: "score", operator: "between", value: [10, 90] },
        { id: "r11", field: "created_at", operator: "inLast", value: { amount: 2, unit: "weeks" } },
        { id: "r12", field: "custom.vip", operator: "null", value: "" },
      ],
    },
    { id: "r2", field: "tags", operator: "containsAny", value: ["vip"] },
    { id: "r3", field: "list", operator: "inList", value: 4 },
    { id: "r4", field: "engagement.opened", operator: "inLast", value: { days: 30, campaign_id: 2 } },
  ],
};

describe("prepareFilter", () => {
  it("turns the builder's query into the API's JSON, without ids", () => {
    const { filter, rules, skipped } = prepareFilter(QUERY, byName);
    expect(rules).toBe(7);
    expect(skipped).toBe(0);
    expect(filter).toEqual({
      combinator: "and",
      rules: [
        { field: "email", operator: "contains", value: "@acme.com" },
        {
          combinator: "or",
          not: true,
          rules: [
            { field: "score", operator: "between", value: [10, 90] },
            { field: "created_at", operator: "inLast", value: { amount: 2, unit: "weeks" } },
            { field: "custom.vip", operator: "null" },
          ],
        },
        { field: "tags", operator: "containsAny", value: ["vip"] },
        { field: "list", operator: "inList", value: 4 },
        { field: "engagement.opened", operator: "inLast", value: { days: 30, campaign_id: 2 } },
      ],
    });
    expect(JSON.stringify(filter)).not.toContain('"id"');
  });

  it("maps API paths to builder ids", () => {
    const { ids } = prepareFilter(QUERY, byName);
    expect(ids[""]).toBe("root");
    expect(ids["rules[1]"]).toBe("g1");
    expect(ids["rules[1].rules[2]"]).toBe("r12");
    expect(ids["rules[4]"]).toBe("r4");
  });

  it("leaves out incomplete rules and the groups they empty, for previews", () => {
    const query: RuleGroupType = {
      id: "root",
      combinator: "and",
      rules: [
        { id: "a", field: "email", operator: "=", value: "" },
        { id: "g", combinator: "or", rules: [{ id: "b", field: "score", operator: ">", value: "" }] },
        { id: "c", field: "score", operator: ">", value: 5 },
      ],
    };
    const live = prepareFilter(query, byName, { dropIncomplete: true });
    expect(live.filter).toEqual({ combinator: "and", rules: [{ field: "score", operator: ">", value: 5 }] });
    expect(live.skipped).toBe(2);
    // Paths follow what is sent: the kept rule is rules[0].
    expect(live.ids["rules[0]"]).toBe("c");
    // Saving sends everything for the server to judge.
    expect(prepareFilter(query, byName).filter.rules).toHaveLength(3);
  });

  it("drops rules on fields the catalogue does not know when previewing", () => {
    const query: RuleGroupType = { combinator: "and", rules: [{ field: "custom.gone", operator: "=", value: "x" }] };
    expect(prepareFilter(query, byName, { dropIncomplete: true }).filter.rules).toEqual([]);
  });
});

describe("errors on the builder", () => {
  const { ids } = prepareFilter(QUERY, byName);

  it("finds the rule a 422 points at", () => {
    expect(errorTarget("filter.rules[1].rules[0].value", ids)).toBe("r10");
    expect(errorTarget("filter.rules[0].operator", ids)).toBe("r0");
    expect(errorTarget("filter.rules[1].combinator", ids)).toBe("g1");
  });

  it("falls back to the enclosing group, then the root", () => {
    expect(errorTarget("filter.rules[1].rules[9].field", ids)).toBe("g1");
    expect(errorTarget("filter.combinator", ids)).toBe("root");
    expect(errorTarget(null, ids)).toBeNull();
  });

  it("shows the message without the path", () => {
    expect(filterErrorText("filter.rules[1].rules[0].value: the low end is greater than the high end")).toBe(
      "The low end is greater than the high end",
    );
    expect(filterErrorText("filter: a group must be an object")).toBe("A group must be an object");
    expect(filterErrorText("name: already taken")).toBe("name: already taken");
  });
});

describe("saved filters", () => {
  it("load into the builder and count their rules", () => {
    const { filter } = prepareFilter(QUERY, byName);
    const query = toQuery(filter);
    expect(countRules(query)).toBe(7);
    expect(query.rules[1]).toMatchObject({ combinator: "or", not: true });
    expect(prepareFilter(query, byName).filter).toEqual(filter);
  });

  it("tolerate nothing or junk", () => {
    expect(toQuery(null)).toEqual({ combinator: "and", rules: [] });
    expect(toQuery({ combinator: "xor", rules: [1, { field: "email" }, { field: "email", operator: "null" }] })).toEqual({
      combinator: "and",
      rules: [{ field: "email", operator: "null", value: null }],
    });
  });
});
