import { useCallback, useState } from "react";
import type { Selection } from "../Builder";
import type { GraphOverlay } from "./overlay";

/**
 * The editor page's Monitor mode: on or off, the overlay the panel computes (passed to the builder only while on),
 * and the node selected on the canvas (whose errors the panel lists).
 */
export function useMonitorMode() {
  const [on, setOn] = useState(false);
  const [overlay, setOverlay] = useState<GraphOverlay | undefined>(undefined);
  const [selectedNode, setSelectedNode] = useState<string | null>(null);
  const onSelectionChange = useCallback((selection: Selection) => {
    setSelectedNode(selection.nodes.length === 1 && selection.edges.length === 0 ? (selection.nodes[0] ?? null) : null);
  }, []);
  const toggle = useCallback(() => {
    setOn((was) => !was);
    setOverlay(undefined);
  }, []);
  return { on, toggle, overlay: on ? overlay : undefined, setOverlay, selectedNode, onSelectionChange };
}

export type MonitorModeState = ReturnType<typeof useMonitorMode>;

/** The page's "Monitor" switch. */
export function MonitorToggle({ mode }: { mode: MonitorModeState }) {
  return (
    <button
      type="button"
      className={`btn ${mode.on ? "btn-primary" : "btn-secondary"}`}
      aria-pressed={mode.on}
      title="Leads per node, errors and journeys, drawn on the graph and refreshed every few seconds"
      onClick={mode.toggle}
      data-testid="monitor-toggle"
    >
      Monitor
    </button>
  );
}
