import { describe, expect, it } from "vitest";
import table from "../../../tests/fixtures/automations/outcomes.json";
import { CATEGORIES, NODE_TYPES, NODE_TYPE_NAMES, isNodeType, typesOf } from "./catalogue";
import { acceptsIncoming, allowedOutcomes, outcomes } from "./outcomes";

describe("outcomes per node type", () => {
  // The same table tests domain/automation_graph.py `outcomes` (tests/test_automation_drafts.py).
  it.each(table.nodes)("$type: as the domain says", (row) => {
    expect(isNodeType(row.type)).toBe(true);
    if (!isNodeType(row.type)) return;
    expect(NODE_TYPES[row.type].category).toBe(row.category);
    expect(outcomes({ type: row.type, config: row.config })).toEqual({ required: row.required, optional: row.optional });
  });

  it("covers every node type the builder offers, each in one palette category", () => {
    expect(table.nodes.map((row) => row.type).sort()).toEqual([...NODE_TYPE_NAMES].sort());
    expect(CATEGORIES.flatMap((c) => typesOf(c.key)).sort()).toEqual([...NODE_TYPE_NAMES].sort());
    expect(typesOf("trigger")).toHaveLength(9);
    expect(typesOf("condition")).toHaveLength(3);
    expect(typesOf("action")).toHaveLength(11);
    expect(typesOf("delay")).toHaveLength(4);
  });

  it("follows a split's branch keys, each once, while it is edited", () => {
    const split = (branches: unknown) => ({ type: "random_split" as const, config: { branches } });
    expect(allowedOutcomes(split([{ key: "a" }, { key: "b" }, { key: "a" }, { key: "" }, { percent: 3 }]))).toEqual(["a", "b"]);
    expect(allowedOutcomes(split("nonsense"))).toEqual([]);
    expect(allowedOutcomes({ type: "send_message" })).toEqual(["next", "fallback"]);
    expect(allowedOutcomes({ type: "wait_until_date_field" })).toEqual(["next", "skipped"]);
    expect(allowedOutcomes({ type: "exit" })).toEqual([]);
  });

  it("accepts incoming edges everywhere but on triggers", () => {
    expect(acceptsIncoming({ type: "lead_status_changed" })).toBe(false);
    expect(acceptsIncoming({ type: "exit" })).toBe(true);
    expect(acceptsIncoming({ type: "wait_for_event" })).toBe(true);
  });
});
