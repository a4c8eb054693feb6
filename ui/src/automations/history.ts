/**
 * Undo and redo over whole documents (the builder's graph): a small stack of states.
 *
 * A change may carry a `key`: consecutive changes with the same key make one step (a node dragged across the canvas,
 * a label typed letter by letter). `revision` counts the jumps (undo, redo, reset) so that editors holding their own
 * copy of a value (the filter builder) start again from the document.
 */

export const HISTORY_LIMIT = 100;

export type History<T> = {
  past: T[];
  present: T;
  future: T[];
  /** The key of the last change, while further changes with it extend the same step. */
  lastKey: string | null;
  revision: number;
};

export type HistoryAction<T> =
  /** `replace`: the whole document comes from elsewhere (the JSON tab, a file): editors start again from it. */
  | { type: "change"; next: T; key?: string; replace?: boolean }
  /** A change computed from the present document (when several may come before the next render). */
  | { type: "update"; update: (present: T) => T; key?: string; replace?: boolean }
  | { type: "undo" }
  | { type: "redo" }
  | { type: "reset"; present: T };

export function startHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: null, revision: 0 };
}

export function historyReducer<T>(state: History<T>, action: HistoryAction<T>): History<T> {
  switch (action.type) {
    case "update": {
      const { update, ...rest } = action;
      return historyReducer(state, { ...rest, type: "change", next: update(state.present) });
    }
    case "change": {
      if (action.next === state.present) return state;
      const key = action.key ?? null;
      if (key !== null && key === state.lastKey) return { ...state, present: action.next, future: [] };
      const past = [...state.past, state.present].slice(-HISTORY_LIMIT);
      const revision = action.replace ? state.revision + 1 : state.revision;
      return { past, present: action.next, future: [], lastKey: key, revision };
    }
    case "undo": {
      const previous = state.past.at(-1);
      if (previous === undefined) return state;
      return {
        past: state.past.slice(0, -1),
        present: previous,
        future: [state.present, ...state.future],
        lastKey: null,
        revision: state.revision + 1,
      };
    }
    case "redo": {
      const [next, ...future] = state.future;
      if (next === undefined) return state;
      return {
        past: [...state.past, state.present].slice(-HISTORY_LIMIT),
        present: next,
        future,
        lastKey: null,
        revision: state.revision + 1,
      };
    }
    case "reset":
      return { ...startHistory(action.present), revision: state.revision + 1 };
  }
}

export const canUndo = (state: History<unknown>) => state.past.length > 0;
export const canRedo = (state: History<unknown>) => state.future.length > 0;
