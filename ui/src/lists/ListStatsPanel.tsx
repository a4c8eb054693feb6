import { Suspense, lazy } from "react";
import type { Reachability } from "../api/client";
import { useListStats } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { formatNumber, formatPercent } from "../format";

const ListCharts = lazy(() => import("./ListCharts"));

/** Size, reachability per channel, breakdowns and history of a saved list. */
export function ListStatsPanel({ listId }: { listId: number }) {
  const stats = useListStats(listId);
  return (
    <section className="card" aria-label="Statistics">
      <div className="card-header">
        <h2>Statistics</h2>
        {stats.isFetching && !stats.isPending && <span className="muted small">Refreshing…</span>}
      </div>
      <ErrorAlert error={stats.error} />
      {stats.isPending && <p className="muted">Loading…</p>}
      {stats.data && (
        <>
          <ReachStats size={stats.data.size} reachable={stats.data.reachable} testIdPrefix="stats" />
          <Suspense fallback={<p className="muted">Loading charts…</p>}>
            <ListCharts stats={stats.data} />
          </Suspense>
        </>
      )}
    </section>
  );
}

const CHANNELS: { key: keyof Reachability; label: string }[] = [
  { key: "email", label: "Reachable by email" },
  { key: "sms", label: "Reachable by SMS" },
  { key: "whatsapp", label: "Reachable by WhatsApp" },
];

/** Four numbers: the size, and how many can be reached on each channel (with the share of the size). */
export function ReachStats({
  size,
  reachable,
  testIdPrefix,
  sizeLabel = "Leads",
}: {
  size: number;
  reachable: Reachability;
  testIdPrefix: string;
  sizeLabel?: string;
}) {
  return (
    <div className="stats">
      <div className="stat">
        <div className="stat-value" data-testid={`${testIdPrefix}-total`}>
          {formatNumber(size)}
        </div>
        <div className="stat-label">{sizeLabel}</div>
      </div>
      {CHANNELS.map(({ key, label }) => (
        <div className="stat" key={key}>
          <div className="stat-value" data-testid={`${testIdPrefix}-${key}`}>
            {formatNumber(reachable[key])}
          </div>
          <div className="stat-label">
            {label}
            {size > 0 && <span className="muted"> · {formatPercent((reachable[key] / size) * 100)}</span>}
          </div>
        </div>
      ))}
    </div>
  );
}
