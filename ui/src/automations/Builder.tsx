import {
  Background,
  Controls,
  MarkerType,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type IsValidConnection,
  type NodeChange,
  type OnDelete,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./builder.css";
import "./readOnly.css";
import { useCallback, useEffect, useMemo, useReducer, useRef, useState, type DragEvent } from "react";
import { useCampaigns, useLists, useTemplates } from "../api/queries";
import { useDirectory } from "../campaigns/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { AutomationNode } from "./AutomationNode";
import { CATEGORIES, NODE_TYPES, isNodeType, typesOf } from "./catalogue";
import {
  addNode,
  connect,
  freeSpot,
  graphJson,
  moveNodes,
  needsLayout,
  removeElements,
  toFlow,
  type AutomationFlowEdge,
  type AutomationFlowNode,
} from "./graph";
import { canRedo, canUndo, historyReducer, startHistory, type History, type HistoryAction } from "./history";
import { JsonTab } from "./JsonTab";
import { layoutGraph } from "./layout";
import type { DraftGraph, GraphProblem, NodeType, XY } from "./model";
import { edgeOverlayClass, nodeOverlay, type GraphOverlay } from "./monitoring/overlay";
import { acceptsIncoming } from "./outcomes";
import { AutomationPanel, EdgePanel, NodePanel, type Change } from "./panels";
import { countProblems, placeProblems } from "./problems";
import { mergeProblems } from "./publish";
import { useGraphValidation } from "./queries";
import { summary, type Names } from "./summary";

const NODE_TYPES_FOR_FLOW = { automation: AutomationNode };
const DRAG_TYPE = "application/x-herald-node";
const DEFAULT_EDGE = { markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 } };
const DELETE_KEYS = ["Backspace", "Delete"];

export type Selection = { nodes: string[]; edges: string[] };
const NOTHING: Selection = { nodes: [], edges: [] };

type Props = {
  initialGraph: DraftGraph;
  /** Every change of the graph (for saving the draft). */
  onChange: (graph: DraftGraph) => void;
  fileName: string;
  /** Problems known besides the live check (a refused publication of this graph): drawn on the nodes with the live check's. */
  problems?: readonly GraphProblem[];
  /** Drawn over the graph, not part of it: badges per node and a highlighted path (monitoring, simulator). */
  overlay?: GraphOverlay;
  /** The selected nodes and edges (xyflow ids), as they change. */
  onSelectionChange?: (selection: Selection) => void;
  /**
   * For members who may only read: the graph drawn and selectable (its panels show the settings, disabled), nothing
   * to change: no palette, no dragging, connecting or deleting, no JSON apply, no undo or auto-layout. The API's
   * check (campaigns:write) is not asked: `problems` are the ones to draw (the stored draft's).
   */
  readOnly?: boolean;
};

/**
 * The visual builder (#10): a palette of node types, the canvas (xyflow), the panel of the selection, and the graph as
 * JSON. The graph is one document with undo/redo; each change is checked by the API a moment later and the
 * problems are drawn on the nodes.
 */
export function AutomationBuilder(props: Props) {
  return (
    <ReactFlowProvider>
      <Builder {...props} />
    </ReactFlowProvider>
  );
}

function Builder({ initialGraph, onChange, fileName, problems: extraProblems, overlay, onSelectionChange, readOnly = false }: Props) {
  const [history, dispatch] = useReducer(
    historyReducer as (state: History<DraftGraph>, action: HistoryAction<DraftGraph>) => History<DraftGraph>,
    initialGraph,
    (graph) => startHistory(needsLayout(graph) ? layoutGraph(graph) : graph),
  );
  const graph = history.present;
  const [tab, setTab] = useState<"canvas" | "json">("canvas");
  const [selection, setSelection] = useState<Selection>(NOTHING);
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const [fitRequest, setFitRequest] = useState(0);
  const dragSession = useRef(0);
  const canvasRef = useRef<HTMLDivElement>(null);
  const flow = useReactFlow<AutomationFlowNode, AutomationFlowEdge>();

  // The latest graph for callbacks (xyflow may call several in one frame).
  const graphRef = useRef(graph);
  graphRef.current = graph;

  useEffect(() => onChange(graph), [graph, onChange]);
  useEffect(() => onSelectionChange?.(selection), [selection, onSelectionChange]);

  const change = useCallback<Change>((update, key) => dispatch({ type: "update", update, key }), []);

  const { query: validation, checking } = useGraphValidation(graph, !readOnly);
  const problems = useMemo(() => mergeProblems(validation.data?.problems ?? [], extraProblems), [validation.data, extraProblems]);
  const placed = useMemo(() => placeProblems(graph, problems), [graph, problems]);
  const names = useNames();

  // Undo / redo from the keyboard, except while typing in a field (which has its own).
  useEffect(() => {
    if (readOnly) return;
    function onKey(event: KeyboardEvent) {
      if (!(event.ctrlKey || event.metaKey)) return;
      const target = event.target as HTMLElement | null;
      if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
      const key = event.key.toLowerCase();
      if (key === "z" && !event.shiftKey) dispatch({ type: "undo" });
      else if ((key === "z" && event.shiftKey) || key === "y") dispatch({ type: "redo" });
      else return;
      event.preventDefault();
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [readOnly]);

  useEffect(() => {
    if (fitRequest === 0 || tab !== "canvas") return;
    const frame = requestAnimationFrame(() => void flow.fitView({ padding: 0.15, maxZoom: 1 }));
    return () => cancelAnimationFrame(frame);
  }, [fitRequest, tab, flow]);

  const base = useMemo(() => toFlow(graph), [graph]);
  const nodes = useMemo(
    () =>
      base.nodes.map((node): AutomationFlowNode => ({
        ...node,
        selected: selection.nodes.includes(node.id),
        measured: measured[node.id],
        data: {
          ...node.data,
          problems: placed.byNode.get(node.id) ?? [],
          badOutcomes: [...(placed.outcomes.get(node.id) ?? [])],
          summary: summary(node.data.node, names),
          overlay: nodeOverlay(overlay, node.id),
        },
      })),
    [base, selection, measured, placed, names, overlay],
  );
  const edges = useMemo(
    () =>
      base.edges.map((edge): AutomationFlowEdge => {
        const outcome = edge.sourceHandle ?? "";
        return {
          ...edge,
          selected: selection.edges.includes(edge.id),
          label: outcome === "next" ? undefined : outcome,
          className: `automation-edge automation-edge-${/^[a-z0-9_-]+$/.test(outcome) ? outcome : "other"} ${placed.edges.has(edge.id) ? "is-bad" : ""} ${edgeOverlayClass(overlay, edge.source, outcome)}`,
        };
      }),
    [base, selection, placed, overlay],
  );

  const onNodesChange = useCallback((changes: NodeChange<AutomationFlowNode>[]) => {
    const positions = new Map<string, XY>();
    const sizes: Record<string, { width: number; height: number }> = {};
    const picks: Pick[] = [];
    for (const c of changes) {
      if (c.type === "position" && c.position) positions.set(c.id, c.position);
      else if (c.type === "dimensions" && c.dimensions) sizes[c.id] = c.dimensions;
      else if (c.type === "select") picks.push({ id: c.id, selected: c.selected });
    }
    if (positions.size && !readOnly) {
      dispatch({ type: "update", update: (g) => moveNodes(g, positions), key: `move:${dragSession.current}` });
    }
    if (Object.keys(sizes).length) setMeasured((old) => ({ ...old, ...sizes }));
    if (picks.length) setSelection((old) => pick(old, "nodes", picks));
  }, [readOnly]);

  const onEdgesChange = useCallback((changes: EdgeChange<AutomationFlowEdge>[]) => {
    const picks = changes.flatMap((c) => (c.type === "select" ? [{ id: c.id, selected: c.selected }] : []));
    if (picks.length) setSelection((old) => pick(old, "edges", picks));
  }, []);

  // Keyboard deletion (Backspace, Delete) of the selection: one undo step for the nodes and edges together.
  const onDelete = useCallback<OnDelete<AutomationFlowNode, AutomationFlowEdge>>(({ nodes: gone, edges: cut }) => {
    const indexes = cut.flatMap((edge) => (edge.data ? [edge.data.index] : []));
    dispatch({ type: "update", update: (g) => removeElements(g, gone.map((n) => n.id), indexes) });
    setSelection(NOTHING);
  }, []);

  const onConnect = useCallback((connection: Connection) => {
    if (!connection.sourceHandle) return;
    const outcome = connection.sourceHandle;
    dispatch({ type: "update", update: (g) => connect(g, connection.source, outcome, connection.target) });
  }, []);

  const isValidConnection = useCallback<IsValidConnection<AutomationFlowEdge>>((connection) => {
    if (connection.source === connection.target) return false;
    const target = graphRef.current.nodes.find((node) => node.id === connection.target);
    return Boolean(target && acceptsIncoming(target));
  }, []);

  const place = useCallback(
    (type: NodeType, position: XY) => {
      const added = addNode(graphRef.current, type, position);
      dispatch({ type: "change", next: added.graph });
      setSelection({ nodes: [added.id], edges: [] });
    },
    [],
  );

  /** A palette click: the new node goes in the middle of what the canvas shows. */
  const addAtCenter = (type: NodeType) => {
    const rect = canvasRef.current?.getBoundingClientRect();
    const center = rect ? flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }) : { x: 0, y: 0 };
    place(type, freeSpot(graphRef.current, { x: center.x - 120, y: center.y - 50 }));
  };

  const onDrop = (event: DragEvent) => {
    if (readOnly) return;
    const type = event.dataTransfer.getData(DRAG_TYPE);
    if (!isNodeType(type)) return;
    event.preventDefault();
    const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
    place(type, { x: at.x - 120, y: at.y - 20 });
  };

  const layout = () => {
    dispatch({ type: "update", update: (g) => layoutGraph(g, measured) });
    setFitRequest((n) => n + 1);
  };

  const selectedNode = selection.nodes.length === 1 && selection.edges.length === 0 ? graph.nodes.find((n) => n.id === selection.nodes[0]) : undefined;
  const selectedEdge = selection.edges.length === 1 && selection.nodes.length === 0 ? base.edges.find((e) => e.id === selection.edges[0]) : undefined;
  const sends = graph.nodes.filter((n) => n.type === "send_message");
  const { errors, warnings } = countProblems(problems);

  return (
    <div className="automation-builder">
      <div className="automation-toolbar">
        <div className="tabs" role="tablist" aria-label="Builder view">
          <button type="button" role="tab" aria-selected={tab === "canvas"} className={`tab ${tab === "canvas" ? "active" : ""}`} onClick={() => setTab("canvas")}>
            Canvas
          </button>
          <button type="button" role="tab" aria-selected={tab === "json"} className={`tab ${tab === "json" ? "active" : ""}`} onClick={() => setTab("json")}>
            JSON
          </button>
        </div>
        <div className="automation-tools" role="group" aria-label={readOnly ? "View" : "Edit"}>
          {!readOnly && (
            <EditTools
              canUndo={canUndo(history)}
              canRedo={canRedo(history)}
              empty={graph.nodes.length === 0}
              blank={graph.nodes.length === 0 && graph.edges.length === 0}
              onUndo={() => dispatch({ type: "undo" })}
              onRedo={() => dispatch({ type: "redo" })}
              onLayout={layout}
              onClear={() => {
                dispatch({ type: "update", update: (g) => ({ ...g, nodes: [], edges: [] }), replace: true });
                setSelection(NOTHING);
              }}
            />
          )}
          <button type="button" className="btn btn-secondary btn-sm" disabled={tab !== "canvas" || graph.nodes.length === 0} onClick={() => setFitRequest((n) => n + 1)}>
            Fit view
          </button>
        </div>
        <span className="flex-spacer" />
        {readOnly && (
          <span className="muted small" data-testid="read-only">
            Read-only
          </span>
        )}
        <ValidationSummary checking={checking} errors={errors} warnings={warnings} ready={readOnly || validation.data !== undefined} />
      </div>
      <ErrorAlert error={validation.error} />
      {validation.data && validation.data.graph === null && graph.nodes.length > 0 && (
        <p className="muted small" data-testid="shape-first">
          Some settings are missing or malformed (outlined on their nodes). The rest of the automation (connections,
          references, reachability) is checked once they are right.
        </p>
      )}
      {placed.general.length > 0 && (
        <div data-testid="graph-problems">
          <Alert tone={placed.general.some((p) => p.severity === "error") ? "error" : "info"}>
            <ul className="automation-general-problems">
              {placed.general.map((p, i) => (
                <li key={i} className={`problem-line problem-${p.severity}`}>
                  {p.message}
                  {p.field && <span className="muted"> · {p.node_id ? `${p.node_id} · ` : ""}{p.field}</span>}
                </li>
              ))}
            </ul>
          </Alert>
        </div>
      )}
      {tab === "json" && readOnly ? (
        <JsonView graph={graph} />
      ) : tab === "json" ? (
        <JsonTab
          graph={graph}
          fileName={fileName}
          onApply={(next) => {
            dispatch({ type: "change", next: needsLayout(next) ? layoutGraph(next) : next, replace: true });
            setSelection(NOTHING);
            setFitRequest((n) => n + 1);
          }}
        />
      ) : (
        <div className={`automation-workspace ${readOnly ? "is-read-only" : ""}`}>
          {!readOnly && <Palette onAdd={addAtCenter} />}
          <div
            className={`automation-canvas ${readOnly ? "is-read-only" : ""}`}
            ref={canvasRef}
            onDragOver={readOnly ? undefined : (event) => { event.preventDefault(); event.dataTransfer.dropEffect = "move"; }}
            onDrop={onDrop}
            data-testid="automation-canvas"
            data-read-only={readOnly}
          >
            <ReactFlow<AutomationFlowNode, AutomationFlowEdge>
              nodes={nodes}
              edges={edges}
              nodeTypes={NODE_TYPES_FOR_FLOW}
              defaultEdgeOptions={DEFAULT_EDGE}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onDelete={readOnly ? undefined : onDelete}
              onConnect={readOnly ? undefined : onConnect}
              isValidConnection={isValidConnection}
              onNodeDragStart={() => void (dragSession.current += 1)}
              onNodeDragStop={() => void (dragSession.current += 1)}
              onPaneClick={() => setSelection(NOTHING)}
              deleteKeyCode={readOnly ? null : DELETE_KEYS}
              nodesDraggable={!readOnly}
              nodesConnectable={!readOnly}
              fitView
              fitViewOptions={{ padding: 0.15, maxZoom: 1 }}
              minZoom={0.2}
              proOptions={{ hideAttribution: true }}
            >
              <Background gap={20} />
              <Controls showInteractive={false} />
              <MiniMap pannable zoomable className="automation-minimap" />
            </ReactFlow>
            {graph.nodes.length === 0 && (
              <div className="automation-empty">
                {readOnly ? (
                  <p>The draft has no node yet.</p>
                ) : (
                  <>
                    <p>Drag a trigger from the palette to start, or click one to add it.</p>
                    <p className="muted small">Engineers: paste a graph in the JSON tab.</p>
                  </>
                )}
              </div>
            )}
          </div>
          <aside className="automation-side" aria-label="Selection">
            {selectedNode ? (
              <NodePanel
                key={`${selectedNode.id}:${history.revision}`}
                node={selectedNode}
                graph={graph}
                problems={placed.byNode.get(selectedNode.id) ?? []}
                change={change}
                readOnly={readOnly}
                onDelete={() => {
                  dispatch({ type: "update", update: (g) => removeElements(g, [selectedNode.id]) });
                  setSelection(NOTHING);
                }}
              />
            ) : selectedEdge?.data ? (
              <EdgePanel
                edge={selectedEdge.data.edge}
                readOnly={readOnly}
                onDelete={() => {
                  const index = selectedEdge.data?.index;
                  if (index !== undefined) dispatch({ type: "update", update: (g) => removeElements(g, [], [index]) });
                  setSelection(NOTHING);
                }}
              />
            ) : (
              <AutomationPanel key={history.revision} graph={graph} problems={placed.general} change={change} sends={sends} readOnly={readOnly} />
            )}
          </aside>
        </div>
      )}
    </div>
  );
}

type Pick = { id: string; selected: boolean };

/** The selection after xyflow's select changes (a click: "this one selected, the others not", nodes and edges
 * reported apart). */
function pick(current: Selection, kind: "nodes" | "edges", picks: readonly Pick[]): Selection {
  let ids = current[kind];
  for (const { id, selected } of picks) ids = selected ? [...ids.filter((x) => x !== id), id] : ids.filter((x) => x !== id);
  return { ...current, [kind]: ids };
}

function Palette({ onAdd }: { onAdd: (type: NodeType) => void }) {
  return (
    <nav className="automation-palette" aria-label="Node palette">
      {CATEGORIES.map((category) => (
        <section key={category.key} className={`automation-palette-group category-${category.key}`}>
          <h3>{category.label}</h3>
          {typesOf(category.key).map((type) => (
            <button
              key={type}
              type="button"
              draggable
              className={`automation-palette-item category-${category.key}`}
              title={`${NODE_TYPES[type].hint}. Drag onto the canvas, or click to add.`}
              aria-label={`Add ${NODE_TYPES[type].label}`}
              data-node-type={type}
              onDragStart={(event) => {
                event.dataTransfer.setData(DRAG_TYPE, type);
                event.dataTransfer.effectAllowed = "move";
              }}
              onClick={() => onAdd(type)}
            >
              {NODE_TYPES[type].label}
            </button>
          ))}
        </section>
      ))}
    </nav>
  );
}

/** Undo, redo, auto-layout and clear: the toolbar's edits (not offered read-only). */
function EditTools(props: {
  canUndo: boolean;
  canRedo: boolean;
  empty: boolean;
  blank: boolean;
  onUndo: () => void;
  onRedo: () => void;
  onLayout: () => void;
  onClear: () => void;
}) {
  return (
    <>
      <button type="button" className="btn btn-secondary btn-sm" disabled={!props.canUndo} onClick={props.onUndo} title="Undo (Ctrl+Z)">
        Undo
      </button>
      <button type="button" className="btn btn-secondary btn-sm" disabled={!props.canRedo} onClick={props.onRedo} title="Redo (Ctrl+Shift+Z)">
        Redo
      </button>
      <button type="button" className="btn btn-secondary btn-sm" disabled={props.empty} onClick={props.onLayout}>
        Auto-layout
      </button>
      <button type="button" className="btn btn-ghost btn-sm" disabled={props.blank} title="Empty the canvas (undo brings it back)" onClick={props.onClear}>
        Clear
      </button>
    </>
  );
}

/** The graph as JSON, to read or copy (the JSON tab of a reader: nothing to apply). */
function JsonView({ graph }: { graph: DraftGraph }) {
  return (
    <div className="automation-json" data-testid="json-tab">
      <p className="muted small">
        The automation as the API takes it: <code>{"{nodes, edges, reentry, goals}"}</code> (see docs/automations.md).
      </p>
      <textarea name="graph-json" aria-label="Automation JSON" className="input mono automation-json-text" spellCheck={false} readOnly value={graphJson(graph)} />
    </div>
  );
}

function ValidationSummary({ checking, errors, warnings, ready }: { checking: boolean; errors: number; warnings: number; ready: boolean }) {
  let text: string;
  if (!ready) text = "Checking…";
  else if (errors === 0 && warnings === 0) text = "No problems";
  else text = [errors ? `${errors} error${errors === 1 ? "" : "s"}` : "", warnings ? `${warnings} warning${warnings === 1 ? "" : "s"}` : ""].filter(Boolean).join(", ");
  return (
    <span
      className={`automation-status ${!ready ? "" : errors ? "is-bad" : warnings ? "is-warn" : "is-ok"} ${checking ? "is-checking" : ""}`}
      data-testid="validation-summary"
      data-checking={checking}
      aria-live="polite"
    >
      {text}
    </span>
  );
}

/** Names of templates, lists, members and campaigns for the nodes' summaries (as loaded; ids until then). */
function useNames(): Names {
  const templates = useTemplates();
  const lists = useLists();
  const people = useDirectory();
  const campaigns = useCampaigns();
  return useMemo(() => {
    const byId = <T,>(items: readonly T[] | undefined, id: (item: T) => number, name: (item: T) => string) => {
      const map = new Map((items ?? []).map((item) => [id(item), name(item)]));
      return (key: number) => map.get(key);
    };
    return {
      template: byId(templates.data, (t) => t.id, (t) => t.name),
      list: byId(lists.data, (l) => l.id, (l) => l.name),
      user: byId(people.data, (p) => p.user_id, (p) => p.name || p.email),
      campaign: byId(campaigns.data, (c) => c.id, (c) => c.name),
    };
  }, [templates.data, lists.data, people.data, campaigns.data]);
}
