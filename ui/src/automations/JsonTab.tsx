import { useEffect, useRef, useState } from "react";
import { Alert } from "../components/Alert";
import { graphJson, parseGraphJson } from "./graph";
import type { DraftGraph } from "./model";

type Props = {
  graph: DraftGraph;
  /** A graph read from the text (or a file): the builder takes it as one undoable change. */
  onApply: (graph: DraftGraph) => void;
  fileName: string;
};

/**
 * The graph as JSON, for engineers who write flows as code: edit and apply, download, or open a file. Text that
 * cannot be drawn (not JSON, a node without an id or of an unknown type...) is refused with the reasons; the rest
 * is checked by the API once applied, and shown on the nodes.
 */
export function JsonTab({ graph, onApply, fileName }: Props) {
  const [text, setText] = useState(() => graphJson(graph));
  const [dirty, setDirty] = useState(false);
  const [errors, setErrors] = useState<string[]>([]);
  const [applied, setApplied] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  // Follow the canvas (undo, redo) until the text is edited here.
  useEffect(() => {
    if (!dirty) setText(graphJson(graph));
  }, [graph, dirty]);

  function apply(source: string) {
    const read = parseGraphJson(source);
    if (!read.graph) {
      setErrors(read.errors);
      setApplied(null);
      return;
    }
    setErrors([]);
    setDirty(false);
    setApplied(`Applied: ${read.graph.nodes.length} nodes, ${read.graph.edges.length} edges.`);
    onApply(read.graph);
  }

  function download() {
    const blob = new Blob([graphJson(graph)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = fileName;
    link.click();
    URL.revokeObjectURL(url);
  }

  return (
    <div className="automation-json" data-testid="json-tab">
      <p className="muted small">
        The automation as the API takes it: <code>{"{nodes, edges, reentry, goals}"}</code> (see docs/automations.md). Edit it
        and apply, or paste one written as code.
      </p>
      <textarea
        name="graph-json"
        aria-label="Automation JSON"
        className={`input mono automation-json-text ${errors.length ? "invalid" : ""}`}
        spellCheck={false}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          setDirty(true);
          setApplied(null);
        }}
      />
      {errors.length > 0 && (
        <div data-testid="json-errors">
          <Alert tone="error">
            <p>This JSON cannot be drawn:</p>
            <ul>
              {errors.map((error, i) => (
                <li key={i}>{error}</li>
              ))}
            </ul>
          </Alert>
        </div>
      )}
      {applied && <Alert tone="success">{applied}</Alert>}
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={() => apply(text)} disabled={!dirty}>
          Apply JSON
        </button>
        <button
          type="button"
          className="btn btn-secondary"
          disabled={!dirty}
          onClick={() => {
            setText(graphJson(graph));
            setDirty(false);
            setErrors([]);
          }}
        >
          Revert
        </button>
        <span className="flex-spacer" />
        <button type="button" className="btn btn-secondary" onClick={download}>
          Download .json
        </button>
        <button type="button" className="btn btn-secondary" onClick={() => fileInput.current?.click()}>
          Open a file…
        </button>
        <input
          ref={fileInput}
          type="file"
          accept="application/json,.json"
          hidden
          data-testid="json-file"
          onChange={async (event) => {
            const file = event.target.files?.[0];
            event.target.value = "";
            if (!file) return;
            const content = await file.text();
            setText(content);
            setDirty(true);
            apply(content);
          }}
        />
      </div>
    </div>
  );
}
