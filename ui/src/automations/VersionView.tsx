import { Background, Controls, MarkerType, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./builder.css";
import { useMemo } from "react";
import { ErrorAlert } from "../components/Alert";
import { formatDateTime } from "../format";
import { AutomationNode } from "./AutomationNode";
import { needsLayout, readGraph, toFlow, type AutomationFlowEdge, type AutomationFlowNode } from "./graph";
import { layoutGraph } from "./layout";
import type { DraftGraph } from "./model";
import { useAutomationVersion } from "./queries";
import { summary } from "./summary";

const NODE_TYPES_FOR_FLOW = { automation: AutomationNode };
const EDGE_OPTIONS = { markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 } };

type Props = {
  automationId: number;
  version: number;
  /** Whose id `published_by` is: a member's name. */
  publisher: (userId: number | null) => string;
  onClose: () => void;
  /** Replaces the draft with this version's graph (absent: not offered). */
  onCopy?: (graph: DraftGraph) => void;
};

/** A published version, read-only: its graph drawn as the builder draws it, nothing to edit. */
export function VersionView({ automationId, version, publisher, onClose, onCopy }: Props) {
  const query = useAutomationVersion(automationId, version);
  const read = useMemo(() => (query.data ? readGraph(query.data.graph) : null), [query.data]);
  const graph = useMemo(() => (read?.graph ? (needsLayout(read.graph) ? layoutGraph(read.graph) : read.graph) : null), [read]);
  const flow = useMemo(() => (graph ? drawn(graph) : null), [graph]);

  return (
    <section className="card automation-version-view" aria-label={`Version ${version}`} data-testid="version-view">
      <div className="card-header">
        <h2 className="card-title">Version {version}</h2>
        {query.data && (
          <span className="muted small">
            published {formatDateTime(query.data.published_at)} by {publisher(query.data.published_by ?? null)} · read-only
          </span>
        )}
        <span className="flex-spacer" />
        {onCopy && graph && (
          <button
            type="button"
            className="btn btn-secondary btn-sm"
            title="The draft becomes this version's graph (your unsaved and unpublished changes are replaced)"
            onClick={() => onCopy(graph)}
          >
            Copy into the draft
          </button>
        )}
        <button type="button" className="btn btn-ghost btn-sm" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorAlert error={query.error} />
      {query.isPending && <p className="muted">Loading…</p>}
      {read && !read.graph && <ErrorAlert error={new Error(`This version cannot be drawn: ${read.errors.join("; ")}`)} />}
      {flow && (
        <div className="automation-builder automation-version-canvas">
          <ReactFlowProvider>
            <ReactFlow<AutomationFlowNode, AutomationFlowEdge>
              nodes={flow.nodes}
              edges={flow.edges}
              nodeTypes={NODE_TYPES_FOR_FLOW}
              defaultEdgeOptions={EDGE_OPTIONS}
              nodesDraggable={false}
              nodesConnectable={false}
              elementsSelectable={false}
              deleteKeyCode={null}
              fitView
              fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
              minZoom={0.2}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={20} />
              <Controls showInteractive={false} />
            </ReactFlow>
          </ReactFlowProvider>
        </div>
      )}
    </section>
  );
}

function drawn(graph: DraftGraph) {
  const { nodes, edges } = toFlow(graph);
  return {
    nodes: nodes.map((node): AutomationFlowNode => ({ ...node, data: { ...node.data, summary: summary(node.data.node, {}) } })),
    edges: edges.map((edge): AutomationFlowEdge => {
      const outcome = edge.sourceHandle ?? "";
      return {
        ...edge,
        label: outcome === "next" ? undefined : outcome,
        className: `automation-edge automation-edge-${/^[a-z0-9_-]+$/.test(outcome) ? outcome : "other"}`,
      };
    }),
  };
}
