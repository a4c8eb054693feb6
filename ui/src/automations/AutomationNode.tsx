import { Handle, Position, useUpdateNodeInternals, type NodeProps } from "@xyflow/react";
import { memo, useEffect } from "react";
import { NODE_TYPES } from "./catalogue";
import type { AutomationFlowNode } from "./graph";
import { NodeBadges } from "./monitoring/NodeBadges";
import { acceptsIncoming, outcomes } from "./outcomes";
import { countProblems } from "./problems";

const SHOWN_MESSAGES = 2;

/**
 * A node on the canvas: its kind, label and a one-line summary; an input handle on top (not on triggers) and one
 * output handle per outcome at the bottom, named after it. Errors outline the node in red and are listed on it;
 * an outcome with an error (left unconnected where it is required) is outlined too.
 */
export const AutomationNode = memo(function AutomationNode({
  id,
  data,
  selected,
  positionAbsoluteX,
  positionAbsoluteY,
}: NodeProps<AutomationFlowNode>) {
  const { node, problems = [], badOutcomes = [], summary = "", overlay } = data;
  const info = NODE_TYPES[node.type];
  const { required, optional } = outcomes(node);
  const handles = [...required, ...optional];
  const { errors, warnings } = countProblems(problems);
  const updateNodeInternals = useUpdateNodeInternals();
  const handleKey = handles.join("|");
  // A split's branches come and go: xyflow measures the handles again.
  useEffect(() => updateNodeInternals(id), [id, handleKey, updateNodeInternals]);

  const tone = errors ? "has-error" : warnings ? "has-warning" : "";
  const shown = overlay?.highlighted ? "is-highlighted" : overlay?.dimmed ? "is-dimmed" : "";
  return (
    <div
      className={`automation-node category-${info.category} ${tone} ${selected ? "is-selected" : ""} ${shown}`}
      data-testid="automation-node"
      data-node-id={id}
      data-node-type={node.type}
      data-errors={errors}
      data-position={`${Math.round(positionAbsoluteX)},${Math.round(positionAbsoluteY)}`}
      title={problems.map((p) => p.message).join("\n") || undefined}
    >
      {acceptsIncoming(node) && <Handle type="target" position={Position.Top} className="automation-handle-in" />}
      <div className="automation-node-head">
        <span className="automation-node-kind">{info.label}</span>
        <code className="automation-node-id">{id}</code>
      </div>
      <div className="automation-node-title">{node.label || info.label}</div>
      <div className="automation-node-summary">{summary}</div>
      {overlay && overlay.badges.length > 0 && <NodeBadges badges={overlay.badges} />}
      {problems.length > 0 && (
        <ul className="automation-node-problems" data-testid="node-problems">
          {problems.slice(0, SHOWN_MESSAGES).map((p, i) => (
            <li key={i} className={`problem-line problem-${p.severity}`}>
              {p.message}
            </li>
          ))}
          {problems.length > SHOWN_MESSAGES && <li className="muted">+{problems.length - SHOWN_MESSAGES} more</li>}
        </ul>
      )}
      {handles.length > 0 && (
        <div className="automation-node-outcomes">
          {handles.map((outcome) => (
            <div
              key={outcome}
              className={`automation-outcome ${required.includes(outcome) ? "is-required" : "is-optional"} ${badOutcomes.includes(outcome) ? "is-bad" : ""}`}
              data-outcome={outcome}
            >
              <span className="automation-outcome-label">{outcome}</span>
              <Handle
                type="source"
                position={Position.Bottom}
                id={outcome}
                className="automation-handle-out"
                title={required.includes(outcome) ? `${outcome} (must be connected)` : `${outcome} (optional)`}
              />
            </div>
          ))}
        </div>
      )}
    </div>
  );
});
