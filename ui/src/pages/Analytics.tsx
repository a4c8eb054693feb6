import { Suspense, lazy, useState } from "react";
import { Link } from "react-router-dom";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type AnalyticsOverview, type CampaignComparison } from "../api/client";
import { useCampaigns } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { Kpi, rate } from "../campaigns/CampaignReport";
import { formatNumber } from "../format";

const TrendChart = lazy(() => import("../campaigns/TrendChart"));
const PERIODS = [7, 30, 90] as const;
const MAX_COMPARED = 5;
const COMPARED_RATES = [
  ["open_rate", "Open rate"],
  ["click_rate", "Click rate"],
  ["click_to_open", "Click-to-open"],
  ["unsubscribe_rate", "Unsubscribe rate"],
  ["bounce_rate", "Bounce rate"],
  ["conversion_rate", "Conversion rate"],
] as const;

export function Analytics() {
  return (
    <div className="page">
      <div className="page-header">
        <h1>Analytics</h1>
      </div>
      <OverviewSection />
      <CompareSection />
    </div>
  );
}

function OverviewSection() {
  const [days, setDays] = useState<number>(30);
  const overview = useQuery({
    queryKey: ["analytics", "overview", days] as const,
    queryFn: () => unwrap(api.GET("/api/analytics/overview", { params: { query: { days } } })),
  });
  return (
    <section className="card report" aria-label="Overview">
      <div className="card-header">
        <h2>Last {days} days</h2>
        <label className="inline-field">
          Period{" "}
          <select value={days} onChange={(e) => setDays(Number(e.target.value))} aria-label="Period">
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                {p} days
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorAlert error={overview.error} />
      {overview.data ? <OverviewPanel overview={overview.data} /> : <p className="muted">Loading…</p>}
    </section>
  );
}

export function OverviewPanel({ overview }: { overview: AnalyticsOverview }) {
  const t = overview.totals;
  return (
    <>
      <div className="stats stats-wrap">
        <Kpi label="Messages sent" value={formatNumber(t.sent)} testId="overview-sent" />
        <Kpi label="Open rate" value={rate(t.open_rate)} testId="overview-open-rate" />
        <Kpi label="Click rate" value={rate(t.click_rate)} testId="overview-click-rate" />
        <Kpi label="Unsubscribes" value={formatNumber(t.unsubscribes)} testId="overview-unsubscribes" />
        <Kpi label="Conversions" value={formatNumber(t.conversions)} hint={t.revenue.toFixed(2)} testId="overview-conversions" />
      </div>
      {overview.trend.some((d) => d.sent || d.opens || d.clicks) && (
        <Suspense fallback={<p className="muted small">Loading the chart…</p>}>
          <TrendChart trend={overview.trend} />
        </Suspense>
      )}
      <div className="detail-grid">
        <div>
          <h3 className="section-title">Top campaigns</h3>
          {overview.top_campaigns.length === 0 ? (
            <p className="muted small">Nothing sent in this period.</p>
          ) : (
            <table className="table" data-testid="top-campaigns">
              <thead>
                <tr>
                  <th>Campaign</th>
                  <th>Sent</th>
                  <th>Open rate</th>
                  <th>Click rate</th>
                </tr>
              </thead>
              <tbody>
                {overview.top_campaigns.map((c) => (
                  <tr key={c.campaign_id} data-testid="top-campaign">
                    <td>
                      <Link to={`/campaigns/${c.campaign_id}`}>{c.name}</Link>
                    </td>
                    <td>{formatNumber(c.sent)}</td>
                    <td>{rate(c.open_rate)}</td>
                    <td>{rate(c.click_rate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h3 className="section-title">List growth</h3>
          {overview.list_growth.length === 0 ? (
            <p className="muted small">No list snapshots in this period yet (they are taken every night).</p>
          ) : (
            <table className="table" data-testid="list-growth">
              <thead>
                <tr>
                  <th>List</th>
                  <th>From</th>
                  <th>To</th>
                  <th>Change</th>
                </tr>
              </thead>
              <tbody>
                {overview.list_growth.map((g) => (
                  <tr key={g.list_id}>
                    <td>
                      <Link to={`/lists/${g.list_id}`}>{g.name}</Link>
                    </td>
                    <td>{formatNumber(g.first_size)}</td>
                    <td>{formatNumber(g.last_size)}</td>
                    <td>{`${g.change > 0 ? "+" : ""}${formatNumber(g.change)}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </>
  );
}

function CompareSection() {
  const campaigns = useCampaigns();
  const [chosen, setChosen] = useState<number[]>([]);
  const ready = chosen.length >= 2;
  const comparison = useQuery({
    queryKey: ["analytics", "compare", chosen] as const,
    queryFn: () => unwrap(api.GET("/api/analytics/compare", { params: { query: { campaign_ids: chosen } } })),
    enabled: ready,
  });
  const launched = (campaigns.data ?? []).filter((c) => c.latest_run);
  const toggle = (id: number) =>
    setChosen((current) =>
      current.includes(id) ? current.filter((x) => x !== id) : current.length < MAX_COMPARED ? [...current, id] : current,
    );
  return (
    <section className="card report" aria-label="Compare campaigns">
      <div className="card-header">
        <h2>Compare campaigns</h2>
        <span className="muted small">Pick 2 to {MAX_COMPARED}; differences are against the first one picked.</span>
      </div>
      <div className="compare-picker">
        {launched.map((c) => (
          <label key={c.id} className="checkbox">
            <input
              type="checkbox"
              checked={chosen.includes(c.id)}
              disabled={!chosen.includes(c.id) && chosen.length >= MAX_COMPARED}
              onChange={() => toggle(c.id)}
            />{" "}
            {c.name}
          </label>
        ))}
        {campaigns.data && launched.length < 2 && <p className="muted small">Launch at least two campaigns to compare them.</p>}
      </div>
      <ErrorAlert error={comparison.error} />
      {ready && comparison.data && <ComparisonTable comparison={comparison.data} />}
    </section>
  );
}

/** A difference of rates (fractions) in percentage points, signed. */
export function points(delta: number | null | undefined): string {
  if (delta === null || delta === undefined) return "";
  const value = Math.round(delta * 1000) / 10;
  return value === 0 ? "±0 pts" : `${value > 0 ? "+" : ""}${value.toFixed(1)} pts`;
}

export function ComparisonTable({ comparison }: { comparison: CampaignComparison }) {
  const [first, ...rest] = comparison.campaigns;
  return (
    <table className="table" data-testid="comparison">
      <thead>
        <tr>
          <th />
          {comparison.campaigns.map((c) => (
            <th key={c.campaign_id}>
              <Link to={`/campaigns/${c.campaign_id}`}>{c.name}</Link>
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        <tr>
          <td>Sent</td>
          {comparison.campaigns.map((c) => (
            <td key={c.campaign_id}>{formatNumber(c.totals.sent)}</td>
          ))}
        </tr>
        {COMPARED_RATES.map(([key, label]) => (
          <tr key={key} data-testid={`compare-${key}`}>
            <td>{label}</td>
            <td>{rate(first?.totals[key])}</td>
            {rest.map((c) => (
              <td key={c.campaign_id}>
                {rate(c.totals[key])} <span className="muted small">{points(c.deltas[key])}</span>
              </td>
            ))}
          </tr>
        ))}
        <tr>
          <td>Revenue</td>
          {comparison.campaigns.map((c) => (
            <td key={c.campaign_id}>{c.totals.revenue.toFixed(2)}</td>
          ))}
        </tr>
      </tbody>
    </table>
  );
}
