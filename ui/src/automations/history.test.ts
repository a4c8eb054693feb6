import { describe, expect, it } from "vitest";
import { HISTORY_LIMIT, canRedo, canUndo, historyReducer, startHistory, type History } from "./history";

type Doc = { n: number };
const doc = (n: number): Doc => ({ n });
const run = (state: History<Doc>, ...actions: Parameters<typeof historyReducer<Doc>>[1][]) =>
  actions.reduce((s, a) => historyReducer(s, a), state);

describe("undo / redo", () => {
  it("undoes and redoes changes in order; a new change drops what could be redone", () => {
    let state = run(startHistory(doc(0)), { type: "change", next: doc(1) }, { type: "change", next: doc(2) });
    expect(state.present).toEqual(doc(2));
    state = run(state, { type: "undo" });
    expect(state.present).toEqual(doc(1));
    expect(canRedo(state)).toBe(true);
    state = run(state, { type: "undo" }, { type: "undo" }); // one more than there is: nothing happens
    expect(state.present).toEqual(doc(0));
    expect(canUndo(state)).toBe(false);
    state = run(state, { type: "redo" }, { type: "redo" }, { type: "redo" });
    expect(state.present).toEqual(doc(2));
    state = run(state, { type: "undo" }, { type: "change", next: doc(7) });
    expect(canRedo(state)).toBe(false);
    expect(run(state, { type: "undo" }).present).toEqual(doc(1));
  });

  it("makes one step of consecutive changes with the same key (a drag, typing)", () => {
    let state = run(
      startHistory(doc(0)),
      { type: "change", next: doc(1), key: "move:1" },
      { type: "change", next: doc(2), key: "move:1" },
      { type: "change", next: doc(3), key: "move:1" },
      { type: "change", next: doc(4), key: "edit:a" },
    );
    expect(state.past.map((d) => d.n)).toEqual([0, 3]);
    state = run(state, { type: "undo" }, { type: "change", next: doc(5), key: "edit:a" });
    expect(state.past.map((d) => d.n)).toEqual([0, 3]); // after an undo, the same key starts a new step
  });

  it("computes updates from the present, ignores no-op changes, and counts jumps as revisions", () => {
    const start = startHistory(doc(1));
    expect(historyReducer(start, { type: "change", next: start.present })).toBe(start);
    let state = run(start, { type: "update", update: (d) => doc(d.n + 1) }, { type: "update", update: (d) => doc(d.n * 10) });
    expect(state.present).toEqual(doc(20));
    expect(state.revision).toBe(0);
    state = run(state, { type: "undo" }, { type: "redo" }, { type: "change", next: doc(3), replace: true });
    expect(state.revision).toBe(3);
    state = run(state, { type: "reset", present: doc(9) });
    expect(state).toMatchObject({ past: [], present: doc(9), future: [], revision: 4 });
  });

  it("keeps at most HISTORY_LIMIT steps", () => {
    let state = startHistory(doc(0));
    for (let i = 1; i <= HISTORY_LIMIT + 20; i += 1) state = historyReducer(state, { type: "change", next: doc(i) });
    expect(state.past).toHaveLength(HISTORY_LIMIT);
    expect(state.past[0]).toEqual(doc(20));
  });
});
