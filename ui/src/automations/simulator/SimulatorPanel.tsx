import "./simulator.css";
import { useEffect, useMemo, useState } from "react";
import { ErrorAlert } from "../../components/Alert";
import { formatDateTime, formatNumber } from "../../format";
import { NODE_TYPES } from "../catalogue";
import { FilterEditor } from "../editors";
import type { DraftGraph, Json } from "../model";
import type { GraphOverlay } from "../monitoring/overlay";
import {
  DEFAULT_LIMIT,
  DEFAULT_TEST_DELAY,
  ENGAGEMENTS,
  MAX_LEADS,
  MAX_TEST_DELAY,
  endLine,
  isRunning,
  leadName,
  sendLine,
  simulationBody,
  simulationOverlay,
  stepLine,
  testRunEnded,
  type Engagement,
  type LeadChoice,
  type Simulation,
  type SimulatedLead,
  type SimulatedStep,
} from "./model";
import { useSimulation, useStartSimulation, useStartTestRun, useTestRun } from "./queries";

type Props = {
  automationId: number;
  /** The graph on screen: it is what is simulated (saved or not). */
  graph: DraftGraph;
  /** The results (and the chosen lead's path) to draw on the graph; null: nothing. */
  onOverlay: (overlay: GraphOverlay | null) => void;
};

/**
 * The simulator (#10): the graph on screen run for chosen leads on a time-skipping server with dry-run actions,
 * no event arriving but, if chosen, every lead's open or click of each message it is sent; its counts are drawn on
 * the graph, a lead's path highlighted, and what would have been sent listed. Test mode runs it for real on one lead, every delay cut short.
 */
export function SimulatorPanel({ automationId, graph, onOverlay }: Props) {
  const [simulationId, setSimulationId] = useState<number | null>(null);
  const [leadId, setLeadId] = useState<number | null>(null);
  const simulation = useSimulation(automationId, simulationId);
  const results = simulation.data?.results ?? null;

  const overlay = useMemo(() => (results ? simulationOverlay(results, leadId) : null), [results, leadId]);
  useEffect(() => onOverlay(overlay), [overlay, onOverlay]);
  useEffect(() => () => onOverlay(null), [onOverlay]);

  const names = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n.label || n.id])), [graph.nodes]);
  const nodeName = (id: string) => names.get(id) ?? id;
  const triggers = graph.nodes.filter((n) => NODE_TYPES[n.type]?.category === "trigger");

  return (
    <section className="card automation-simulator" aria-label="Simulator" data-testid="automation-simulator">
      <div className="card-header">
        <h2 className="card-title">Simulate</h2>
        <span className="muted small">Runs the graph on screen with dry-run actions: nothing is sent or changed.</span>
      </div>
      <SimulationForm
        automationId={automationId}
        graph={graph}
        triggers={triggers}
        busy={isRunning(simulation.data?.status)}
        onStarted={(id) => {
          setSimulationId(id);
          setLeadId(null);
        }}
      />
      <ErrorAlert error={simulation.error} />
      {simulation.data && (
        <SimulationView simulation={simulation.data} nodeName={nodeName} chosen={leadId} onLead={setLeadId} />
      )}
      <TestRunForm automationId={automationId} graph={graph} triggers={triggers} nodeName={nodeName} />
    </section>
  );
}

type Trigger = { id: string; label?: string | null };

function TriggerChoice({ triggers, value, onChange }: { triggers: Trigger[]; value: string; onChange: (id: string) => void }) {
  const first = triggers[0];
  if (!first || triggers.length < 2) return null;
  return (
    <label className="field">
      <span className="field-label">Trigger</span>
      <select name="trigger_node" className="input input-sm" value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">The first ({first.label || first.id})</option>
        {triggers.map((t) => (
          <option key={t.id} value={t.id}>
            {t.label || t.id}
          </option>
        ))}
      </select>
    </label>
  );
}

function SimulationForm({
  automationId,
  graph,
  triggers,
  busy,
  onStarted,
}: {
  automationId: number;
  graph: DraftGraph;
  triggers: Trigger[];
  busy: boolean;
  onStarted: (id: number) => void;
}) {
  const [by, setBy] = useState<LeadChoice["by"]>("ids");
  const [text, setText] = useState("");
  const [filter, setFilter] = useState<Json>({ combinator: "and", rules: [] });
  const [limit, setLimit] = useState(DEFAULT_LIMIT);
  const [trigger, setTrigger] = useState("");
  const [engagement, setEngagement] = useState<Engagement>("none");
  const [problem, setProblem] = useState<string | null>(null);
  const start = useStartSimulation(automationId);

  const submit = () => {
    const choice: LeadChoice = by === "ids" ? { by, text } : { by, filter, limit };
    const { body, error } = simulationBody(choice, graph, trigger || null, engagement);
    setProblem(error);
    if (!body) return;
    start.mutate(body, { onSuccess: (started) => onStarted(started.id) });
  };

  return (
    <form
      className="automation-simulator-form"
      data-testid="simulation-form"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <fieldset className="automation-simulator-choice">
        <legend className="field-label">Leads</legend>
        <label>
          <input type="radio" name="leads_by" value="ids" checked={by === "ids"} onChange={() => setBy("ids")} /> These leads
        </label>
        <label>
          <input type="radio" name="leads_by" value="filter" checked={by === "filter"} onChange={() => setBy("filter")} /> Leads
          matching a filter
        </label>
      </fieldset>
      {by === "ids" ? (
        <label className="field">
          <span className="field-label">Lead ids</span>
          <input
            name="lead_ids"
            className="input"
            placeholder="12, 15, 20"
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-invalid={!!problem}
          />
          <span className="muted small">Up to {MAX_LEADS}, separated by commas or spaces.</span>
        </label>
      ) : (
        <>
          <FilterEditor value={filter} onChange={setFilter} problems={[]} prefix="filter" />
          <label className="field">
            <span className="field-label">At most</span>
            <input
              name="limit"
              type="number"
              className="input input-sm"
              min={1}
              max={MAX_LEADS}
              value={limit}
              onChange={(e) => setLimit(Number(e.target.value))}
            />
            <span className="muted small">leads (the first ones, by id)</span>
          </label>
        </>
      )}
      <TriggerChoice triggers={triggers} value={trigger} onChange={setTrigger} />
      <label className="field">
        <span className="field-label">Messages</span>
        <select
          name="engagement"
          className="input input-sm"
          value={engagement}
          onChange={(e) => setEngagement(e.target.value as Engagement)}
        >
          {ENGAGEMENTS.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
      </label>
      {problem && (
        <p className="field-error" role="alert" data-testid="simulation-input-error">
          {problem}
        </p>
      )}
      <ErrorAlert error={start.error} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={start.isPending || busy} data-testid="simulate">
          {busy ? "Simulating…" : "Simulate"}
        </button>
      </div>
    </form>
  );
}

export function SimulationView({
  simulation,
  nodeName,
  chosen,
  onLead,
}: {
  simulation: Simulation;
  nodeName: (id: string) => string;
  chosen: number | null;
  onLead: (id: number | null) => void;
}) {
  const results = simulation.results;
  if (isRunning(simulation.status)) {
    return (
      <p className="muted" data-testid="simulation-status" data-status={simulation.status} aria-live="polite">
        Simulating {simulation.status === "queued" ? "(queued)" : ""}…
      </p>
    );
  }
  if (simulation.status === "failed" || !results) {
    return (
      <p className="problem-error" data-testid="simulation-status" data-status="failed" role="alert">
        The simulation failed: {simulation.error ?? "no results"}
      </p>
    );
  }
  const lead = chosen === null ? undefined : results.leads.find((l) => l.lead_id === chosen);
  return (
    <div data-testid="simulation-results" data-status={simulation.status}>
      <p className="muted small" data-testid="simulation-assumed">
        Assumed: {results.assumed}. Simulated from {formatDateTime(results.started_at)} to {formatDateTime(results.ended_at)}
        {simulation.version ? ` · version ${simulation.version}` : " · the draft"}.
        {results.unfinished ? ` Some journeys were ${results.unfinished}.` : ""}
      </p>
      <dl className="automation-monitor-totals" data-testid="simulation-totals">
        {Object.entries(results.totals).map(([key, value]) => (
          <div key={key} className={`automation-monitor-total total-${key}`} data-testid="simulation-total" data-key={key}>
            <dt>{key.replace("_", " ")}</dt>
            <dd>{formatNumber(value)}</dd>
          </div>
        ))}
      </dl>
      <div className="automation-simulator-grid">
        <LeadTable leads={results.leads} nodeName={nodeName} chosen={chosen} onLead={onLead} />
        <WouldSendList results={results} nodeName={nodeName} />
      </div>
      {lead && <LeadPath lead={lead} nodeName={nodeName} onClose={() => onLead(null)} />}
    </div>
  );
}

function LeadTable({
  leads,
  nodeName,
  chosen,
  onLead,
}: {
  leads: readonly SimulatedLead[];
  nodeName: (id: string) => string;
  chosen: number | null;
  onLead: (id: number | null) => void;
}) {
  return (
    <section aria-label="Simulated leads" data-testid="simulated-leads">
      <h3>Leads</h3>
      <p className="muted small">Choose one to see its path on the graph.</p>
      <div className="table-wrap">
        <table className="table table-compact table-clickable">
          <thead>
            <tr>
              <th>Lead</th>
              <th>End</th>
              <th>Steps</th>
            </tr>
          </thead>
          <tbody>
            {leads.map((l) => (
              <tr
                key={l.lead_id}
                className={chosen === l.lead_id ? "selected" : ""}
                data-testid="simulated-lead"
                data-lead-id={l.lead_id}
                aria-selected={chosen === l.lead_id}
                tabIndex={0}
                onClick={() => onLead(chosen === l.lead_id ? null : l.lead_id)}
                onKeyDown={(e) => {
                  if (e.key === "Enter" || e.key === " ") onLead(chosen === l.lead_id ? null : l.lead_id);
                }}
              >
                <td title={`Lead ${l.lead_id}${l.reentry ? ` · live re-entry: ${l.reentry.replace(/_/g, " ")}` : ""}`}>{leadName(l)}</td>
                <td>{endLine(l, nodeName)}</td>
                <td>{l.path?.length ?? 0}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function WouldSendList({ results, nodeName }: { results: NonNullable<Simulation["results"]>; nodeName: (id: string) => string }) {
  const names = new Map(results.leads.map((l) => [l.lead_id, leadName(l)]));
  return (
    <section aria-label="What would have been sent" data-testid="would-send">
      <h3>What would have been sent</h3>
      {results.would_send.length === 0 ? (
        <p className="muted" data-testid="would-send-empty">
          Nothing.
        </p>
      ) : (
        <ul className="automation-monitor-list">
          {results.would_send.map((s, index) => (
            <li key={index} data-testid="would-send-row" data-kind={s.kind} data-node-id={s.node_id}>
              <div className="small">
                <strong>{nodeName(s.node_id)}</strong> · {names.get(s.lead_id) ?? `Lead ${s.lead_id}`}
              </div>
              <div className="small">{sendLine(s)}</div>
              <div className="muted small">{formatDateTime(s.at)}</div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Steps({ steps, nodeName }: { steps: readonly SimulatedStep[]; nodeName: (id: string) => string }) {
  return (
    <ol className="automation-monitor-steps">
      {steps.map((s, index) => (
        <li key={index} data-testid="simulated-step" data-node-id={s.node_id}>
          <span className="nowrap muted small">{formatDateTime(s.at)}</span> <strong>{nodeName(s.node_id)}</strong>{" "}
          <span className="small">{stepLine(s)}</span>
          {s.wake_at && <span className="muted small"> · until {formatDateTime(s.wake_at)}</span>}
          {s.next_node && <span className="muted small"> → {nodeName(s.next_node)}</span>}
        </li>
      ))}
    </ol>
  );
}

function LeadPath({ lead, nodeName, onClose }: { lead: SimulatedLead; nodeName: (id: string) => string; onClose: () => void }) {
  return (
    <section className="automation-monitor-path" aria-label="Simulated path" data-testid="simulated-path">
      <div className="automation-monitor-line">
        <h3>Path of {leadName(lead)}</h3>
        <span className="flex-spacer" />
        <button type="button" className="btn btn-ghost btn-sm" onClick={onClose}>
          Clear
        </button>
      </div>
      <p className="muted small">{endLine(lead, nodeName)}</p>
      <Steps steps={lead.path ?? []} nodeName={nodeName} />
    </section>
  );
}

function TestRunForm({
  automationId,
  graph,
  triggers,
  nodeName,
}: {
  automationId: number;
  graph: DraftGraph;
  triggers: Trigger[];
  nodeName: (id: string) => string;
}) {
  const [leadText, setLeadText] = useState("");
  const [delay, setDelay] = useState(DEFAULT_TEST_DELAY);
  const [trigger, setTrigger] = useState("");
  const [workflowId, setWorkflowId] = useState<string | null>(null);
  const start = useStartTestRun(automationId);
  const progress = useTestRun(automationId, workflowId);
  const leadId = /^[1-9]\d*$/.test(leadText.trim()) ? Number(leadText.trim()) : null;
  const delayOk = Number.isInteger(delay) && delay >= 1 && delay <= MAX_TEST_DELAY;

  const submit = () => {
    if (leadId === null || !delayOk) return;
    if (!window.confirm(`Run the automation for real on lead ${leadId}? Its messages are sent and its changes made.`)) return;
    start.mutate(
      { lead_id: leadId, max_delay_seconds: delay, graph, ...(trigger ? { trigger_node: trigger } : {}) },
      { onSuccess: (run) => setWorkflowId(run.workflow_id) },
    );
  };
  const data = progress.data;
  return (
    <form
      className="automation-simulator-form automation-test-run"
      aria-label="Test mode"
      data-testid="test-run-form"
      onSubmit={(event) => {
        event.preventDefault();
        submit();
      }}
    >
      <h3>Test mode</h3>
      <p className="muted small">Runs it for real on one lead (messages are sent), every delay and wait cut short.</p>
      <div className="automation-simulator-row">
        <label className="field">
          <span className="field-label">Lead id</span>
          <input
            name="test_lead_id"
            className="input input-sm"
            inputMode="numeric"
            value={leadText}
            aria-invalid={leadText.trim() !== "" && leadId === null}
            onChange={(e) => setLeadText(e.target.value)}
          />
        </label>
        <label className="field">
          <span className="field-label">Delays at most (seconds)</span>
          <input
            name="max_delay_seconds"
            type="number"
            className="input input-sm"
            min={1}
            max={MAX_TEST_DELAY}
            value={delay}
            aria-invalid={!delayOk}
            onChange={(e) => setDelay(Number(e.target.value))}
          />
        </label>
        <TriggerChoice triggers={triggers} value={trigger} onChange={setTrigger} />
        <button type="submit" className="btn btn-secondary" disabled={start.isPending || leadId === null || !delayOk} data-testid="test-run">
          Run for real
        </button>
      </div>
      <ErrorAlert error={start.error ?? progress.error} />
      {workflowId && (
        <div data-testid="test-run-progress" data-status={data?.status ?? "starting"}>
          <p className="muted small" aria-live="polite">
            {data?.status
              ? `${data.status.replace("_", " ")}${data.current_node ? ` at ${nodeName(data.current_node)}` : ""}${
                  data.waiting_until && !testRunEnded(data) ? ` until ${formatDateTime(data.waiting_until)}` : ""
                }`
              : "Starting…"}
          </p>
          {data && <Steps steps={data.path ?? []} nodeName={nodeName} />}
        </div>
      )}
    </form>
  );
}
