import { useCallback, useState } from "react";
import type { GraphOverlay } from "../monitoring/overlay";

/** The editor page's Simulate mode: on or off, and the overlay of the results (passed to the builder only while on). */
export function useSimulateMode() {
  const [on, setOn] = useState(false);
  const [overlay, setOverlay] = useState<GraphOverlay | null>(null);
  const toggle = useCallback(() => {
    setOn((was) => !was);
    setOverlay(null);
  }, []);
  return { on, toggle, overlay: on ? (overlay ?? undefined) : undefined, setOverlay };
}

export type SimulateModeState = ReturnType<typeof useSimulateMode>;

/** The page's "Simulate" switch. */
export function SimulateToggle({ mode }: { mode: SimulateModeState }) {
  return (
    <button
      type="button"
      className={`btn ${mode.on ? "btn-primary" : "btn-secondary"}`}
      aria-pressed={mode.on}
      title="Run the graph for chosen leads with dry-run actions, or for real on a test lead with delays cut"
      onClick={mode.toggle}
      data-testid="simulate-toggle"
    >
      Simulate
    </button>
  );
}
