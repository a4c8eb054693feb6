import "./monitoring.css";
import { useEffect, useMemo, useState } from "react";
import { ErrorAlert } from "../../components/Alert";
import { formatDateTime, formatNumber } from "../../format";
import {
  JOURNEY_STATUSES,
  attemptsLabel,
  countedElsewhere,
  journeyHighlight,
  leadLabel,
  monitorOverlay,
  stepLine,
  type ErrorEntry,
  type Journey,
  type JourneyStatus,
  type Monitor,
  type MonitorMode,
} from "./model";
import type { GraphOverlay } from "./overlay";
import { useErrorLog, useJourney, useJourneys, useMonitorCounts, type JourneyFilters, type MonitorScope } from "./queries";

type Props = {
  automationId: number;
  /** The nodes on screen: the node filter's choices and their names. */
  nodes: readonly { id: string; label?: string | null }[];
  /** The node selected on the canvas: its error log is shown. */
  selectedNode: string | null;
  /** The counts (and the chosen journey's path) to draw on the graph. */
  onOverlay: (overlay: GraphOverlay) => void;
};

/**
 * The monitoring of an automation (#10) under its graph: totals, the error log (the selected node's), the journeys
 * (by status, node, lead) and a chosen journey's steps, whose path is highlighted on the graph. Everything is asked
 * again every few seconds.
 */
export function MonitorPanel({ automationId, nodes, selectedNode, onOverlay }: Props) {
  const [mode, setMode] = useState<MonitorMode>("live");
  const [version, setVersion] = useState<number | null>(null);
  const [journeyId, setJourneyId] = useState<number | null>(null);
  const scope: MonitorScope = { automationId, mode, version };
  const counts = useMonitorCounts(scope);
  const journey = useJourney(automationId, journeyId);

  const detail = journey.data;
  const overlay = useMemo(() => monitorOverlay(counts.data, detail ? journeyHighlight(detail) : undefined), [counts.data, detail]);
  useEffect(() => onOverlay(overlay), [overlay, onOverlay]);

  const names = useMemo(() => new Map(nodes.map((n) => [n.id, n.label || n.id])), [nodes]);
  const nodeName = (id: string | null | undefined) => (id ? (names.get(id) ?? id) : "—");
  const elsewhere = countedElsewhere(counts.data, nodes.map((n) => n.id));

  return (
    <section className="card automation-monitor" aria-label="Monitoring" data-testid="automation-monitor">
      <div className="card-header">
        <h2 className="card-title">Monitoring</h2>
        <select
          name="monitor_mode"
          aria-label="Journeys"
          className="input input-sm automation-monitor-choice"
          value={mode}
          onChange={(e) => setMode(e.target.value as MonitorMode)}
        >
          <option value="live">Live journeys</option>
          <option value="test">Test runs</option>
        </select>
        <select
          name="monitor_version"
          aria-label="Version"
          className="input input-sm automation-monitor-choice"
          value={version ?? ""}
          onChange={(e) => setVersion(e.target.value ? Number(e.target.value) : null)}
        >
          <option value="">All versions</option>
          {(counts.data?.versions ?? []).map((v) => (
            <option key={v} value={v}>
              Version {v}
            </option>
          ))}
        </select>
        <span className="flex-spacer" />
        <span className="muted small" data-testid="monitor-updated" aria-live="polite">
          {counts.data ? `Updated ${formatDateTime(counts.data.as_of)}${counts.isFetching ? " · refreshing…" : ""}` : "Loading…"}
        </span>
      </div>
      <ErrorAlert error={counts.error} />
      {counts.data && <Totals totals={counts.data.totals} />}
      {elsewhere.length > 0 && (
        <p className="muted small" data-testid="counted-elsewhere">
          Also counted at nodes this draft no longer has: {elsewhere.join(", ")}.
        </p>
      )}
      <div className="automation-monitor-grid">
        <ErrorLog scope={scope} nodeId={selectedNode} nodeName={nodeName} onJourney={setJourneyId} />
        <Journeys scope={scope} nodes={nodes} nodeName={nodeName} chosen={journeyId} onJourney={setJourneyId} />
      </div>
      {journeyId !== null && (
        <JourneyPath
          loading={journey.isPending}
          error={journey.error}
          detail={detail}
          nodeName={nodeName}
          onClose={() => setJourneyId(null)}
        />
      )}
    </section>
  );
}

function Totals({ totals }: { totals: Monitor["totals"] }) {
  const items: [string, string, number][] = [
    ["entered", "Entered", totals.entered],
    ...JOURNEY_STATUSES.map(({ key, label }): [string, string, number] => [key, label, totals[key]]),
  ];
  return (
    <dl className="automation-monitor-totals" data-testid="monitor-totals">
      {items.map(([key, label, value]) => (
        <div key={key} className={`automation-monitor-total total-${key} ${value > 0 ? "is-nonzero" : ""}`} data-testid="monitor-total" data-status={key}>
          <dt>{label}</dt>
          <dd>{formatNumber(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

type NodeName = (id: string | null | undefined) => string;

function ErrorLog({
  scope,
  nodeId,
  nodeName,
  onJourney,
}: {
  scope: MonitorScope;
  nodeId: string | null;
  nodeName: NodeName;
  onJourney: (id: number) => void;
}) {
  const log = useErrorLog(scope, nodeId);
  const entries: ErrorEntry[] = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="automation-monitor-section" aria-label="Error log" data-testid="error-log">
      <h3>{nodeId ? `Errors at ${nodeName(nodeId)}` : "Errors, all nodes"}</h3>
      {!nodeId && <p className="muted small">Select a node on the graph for its errors alone.</p>}
      <ErrorAlert error={log.error} />
      {log.isPending ? (
        <p className="muted">Loading…</p>
      ) : entries.length === 0 ? (
        <p className="muted" data-testid="error-log-empty">
          No errors.
        </p>
      ) : (
        <ul className="automation-monitor-list">
          {entries.map((e) => (
            <li key={e.id} className="automation-monitor-error" data-testid="error-row" data-node-id={e.node_id}>
              <div className="automation-monitor-line">
                <strong className="problem-error">{e.error}</strong>
                {e.error_type && <code className="muted">{e.error_type}</code>}
              </div>
              <div className="muted small">
                {formatDateTime(e.at)} · {nodeName(e.node_id)} ·{" "}
                <button type="button" className="link-button" onClick={() => onJourney(e.journey_id)}>
                  {leadLabel(e.lead)}
                </button>
              </div>
              <div className="small">
                {[attemptsLabel(e), e.retry_state, e.fallback_taken ? "fallback taken" : e.end_status === "failed" ? "journey failed" : ""]
                  .filter(Boolean)
                  .join(" · ")}{" "}
                · <TemporalLink url={e.temporal_url} />
              </div>
            </li>
          ))}
        </ul>
      )}
      <MoreButton query={log} />
    </section>
  );
}

function Journeys({
  scope,
  nodes,
  nodeName,
  chosen,
  onJourney,
}: {
  scope: MonitorScope;
  nodes: Props["nodes"];
  nodeName: NodeName;
  chosen: number | null;
  onJourney: (id: number) => void;
}) {
  const [filters, setFilters] = useState<JourneyFilters>({ status: null, nodeId: null, leadId: null });
  const [leadText, setLeadText] = useState("");
  const list = useJourneys(scope, filters);
  const journeys: Journey[] = list.data?.pages.flatMap((p) => p.items) ?? [];
  const badLead = leadText.trim() !== "" && !/^[1-9]\d*$/.test(leadText.trim());

  return (
    <section className="automation-monitor-section" aria-label="Journeys" data-testid="journey-list">
      <h3>Journeys</h3>
      <div className="automation-monitor-filters">
        <select
          name="journey_status"
          aria-label="Status"
          className="input input-sm"
          value={filters.status ?? ""}
          onChange={(e) => setFilters({ ...filters, status: (e.target.value || null) as JourneyStatus | null })}
        >
          <option value="">Any status</option>
          {JOURNEY_STATUSES.map((s) => (
            <option key={s.key} value={s.key}>
              {s.label}
            </option>
          ))}
        </select>
        <select
          name="journey_node"
          aria-label="Node"
          className="input input-sm"
          value={filters.nodeId ?? ""}
          onChange={(e) => setFilters({ ...filters, nodeId: e.target.value || null })}
        >
          <option value="">At any node</option>
          {nodes.map((n) => (
            <option key={n.id} value={n.id}>
              {n.label || n.id}
            </option>
          ))}
        </select>
        <input
          name="journey_lead"
          aria-label="Lead id"
          className={`input input-sm ${badLead ? "invalid" : ""}`}
          inputMode="numeric"
          placeholder="Lead id"
          value={leadText}
          onChange={(e) => {
            const text = e.target.value;
            setLeadText(text);
            const id = /^[1-9]\d*$/.test(text.trim()) ? Number(text.trim()) : null;
            if (text.trim() === "" || id !== null) setFilters((old) => ({ ...old, leadId: id }));
          }}
        />
      </div>
      <ErrorAlert error={list.error} />
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : journeys.length === 0 ? (
        <p className="muted" data-testid="journey-list-empty">
          No journeys.
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table table-compact table-clickable">
            <thead>
              <tr>
                <th>Lead</th>
                <th>Status</th>
                <th>Node</th>
                <th>Entered</th>
              </tr>
            </thead>
            <tbody>
              {journeys.map((j) => (
                <tr
                  key={j.id}
                  className={chosen === j.id ? "selected" : ""}
                  data-testid="journey-row"
                  data-journey-id={j.id}
                  aria-selected={chosen === j.id}
                  tabIndex={0}
                  onClick={() => onJourney(j.id)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" || e.key === " ") onJourney(j.id);
                  }}
                >
                  <td title={`Lead ${j.lead_id} · entry ${j.entry} · version ${j.version}`}>{leadLabel(j.lead)}</td>
                  <td>
                    <span className={`automation-monitor-status status-${j.status}`}>{j.status.replace("_", " ")}</span>
                    {j.waiting_until && <div className="muted small">until {formatDateTime(j.waiting_until)}</div>}
                  </td>
                  <td>{nodeName(j.current_node)}</td>
                  <td className="nowrap">{formatDateTime(j.entered_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <MoreButton query={list} />
    </section>
  );
}

function JourneyPath({
  loading,
  error,
  detail,
  nodeName,
  onClose,
}: {
  loading: boolean;
  error: unknown;
  detail: ReturnType<typeof useJourney>["data"];
  nodeName: NodeName;
  onClose: () => void;
}) {
  return (
    <section className="automation-monitor-section automation-monitor-path" aria-label="Journey" data-testid="journey-path">
      <div className="automation-monitor-line">
        <h3>{detail ? `Journey of ${leadLabel(detail.journey.lead)}` : "Journey"}</h3>
        <span className="flex-spacer" />
        {detail && <TemporalLink url={detail.journey.temporal_url} label="Open in Temporal" />}
        <button type="button" className="btn btn-ghost btn-sm" onClick={onClose}>
          Clear
        </button>
      </div>
      <ErrorAlert error={error} />
      {loading && <p className="muted">Loading…</p>}
      {detail && (
        <>
          <p className="muted small" data-testid="journey-summary">
            {detail.journey.status.replace("_", " ")}
            {detail.journey.end_reason ? ` (${detail.journey.end_reason})` : ""} · version {detail.journey.version} · entry{" "}
            {detail.journey.entry} · entered {formatDateTime(detail.journey.entered_at)}
            {detail.journey.finished_at ? ` · ended ${formatDateTime(detail.journey.finished_at)}` : ""}
            {detail.journey.waiting_until ? ` · waiting until ${formatDateTime(detail.journey.waiting_until)}` : ""}
            {detail.total_steps > detail.steps.length ? ` · the latest ${detail.steps.length} of ${detail.total_steps} steps` : ""}
          </p>
          <ol className="automation-monitor-steps">
            {detail.steps.map((s) => (
              <li key={s.seq} data-testid="journey-step" data-node-id={s.node_id} className={s.detail?.error ? "has-error" : ""}>
                <span className="nowrap muted small">{formatDateTime(s.at)}</span> <strong>{nodeName(s.node_id)}</strong>{" "}
                <span className="small">{stepLine(s)}</span>
                {s.next_node && <span className="muted small"> → {nodeName(s.next_node)}</span>}
              </li>
            ))}
            {["active", "waiting"].includes(detail.journey.status) && detail.journey.current_node && (
              <li data-testid="journey-step" data-node-id={detail.journey.current_node} className="is-current">
                <strong>{nodeName(detail.journey.current_node)}</strong>{" "}
                <span className="small">{detail.journey.status === "waiting" ? "waiting here" : "here now"}</span>
              </li>
            )}
          </ol>
        </>
      )}
    </section>
  );
}

function TemporalLink({ url, label = "Temporal" }: { url: string; label?: string }) {
  return (
    <a href={url} target="_blank" rel="noopener noreferrer" className="mono-link" data-testid="temporal-link">
      {label}
    </a>
  );
}

function MoreButton({ query }: { query: { hasNextPage: boolean; isFetchingNextPage: boolean; fetchNextPage: () => unknown } }) {
  if (!query.hasNextPage) return null;
  return (
    <button type="button" className="btn btn-secondary btn-sm" disabled={query.isFetchingNextPage} onClick={() => void query.fetchNextPage()}>
      {query.isFetchingNextPage ? "Loading…" : "Load more"}
    </button>
  );
}
