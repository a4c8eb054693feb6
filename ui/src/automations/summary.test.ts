import { describe, expect, it } from "vitest";
import example from "../../../tests/fixtures/automations/qualified_case_study.json";
import { readGraph } from "./graph";
import { formatDuration, summary } from "./summary";

describe("node summaries", () => {
  it("says what each node of the example does, with the workspace's names when known", () => {
    const graph = readGraph(structuredClone(example)).graph!;
    const names = { template: (id: number) => (id === 11 ? "Case study" : undefined), user: () => undefined };
    expect(Object.fromEntries(graph.nodes.map((node) => [node.id, summary(node, names)]))).toEqual({
      qualified: "→ qualified",
      "wait-2d": "2 days",
      "case-study": "Email · Case study",
      "wait-open": "opened case-study, up to 3 days",
      "sms-nudge": "SMS · template 21",
      "wait-click": "clicked case-study, up to 7 days",
      "assign-sales": "round robin · 2 users",
      "notify-owner": "the owner: {{ lead.first_name }} clicked the case study",
      done: "the lead leaves",
    });
  });

  it("formats durations and survives configs being edited", () => {
    expect(formatDuration({ days: 1, hours: 6 })).toBe("1 day 6 hours");
    expect(formatDuration({ days: 0 })).toBe("no duration");
    expect(formatDuration("soon")).toBe("no duration");
    expect(summary({ type: "send_message", config: {} })).toBe("? · no template");
    expect(summary({ type: "random_split", config: { branches: [{ key: "a", percent: 30 }, { key: "b", percent: 70 }] } })).toBe("a 30% · b 70%");
    expect(summary({ type: "call_webhook", config: { url: "not a url" } })).toBe("POST no URL");
  });
});
