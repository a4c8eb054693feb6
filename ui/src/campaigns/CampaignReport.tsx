import { Suspense, lazy, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type CampaignReport, type ReportFunnel } from "../api/client";
import { queryKeys } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { formatNumber, formatPercent } from "../format";

const ReportChart = lazy(() => import("./ReportChart"));
const FunnelChart = lazy(() => import("./FunnelChart"));

/** How often the report refreshes while the run is alive (opens and clicks keep coming after it ends, too). */
export const REPORT_POLL_MS = 5000;

type Bucket = "hour" | "day";

/** The latest run's report: polled while the run is alive, so opens and clicks show up within seconds. */
export function CampaignReportSection({ campaignId, live }: { campaignId: number; live: boolean }) {
  const [bucket, setBucket] = useState<Bucket>("day");
  const report = useQuery({
    queryKey: queryKeys.report(campaignId, bucket),
    queryFn: () =>
      unwrap(
        api.GET("/api/campaigns/{campaign_id}/report", {
          params: { path: { campaign_id: campaignId }, query: { bucket } },
        }),
      ),
    refetchInterval: live ? REPORT_POLL_MS : false,
  });
  return (
    <section className="card report" aria-label="Report" data-testid="campaign-report">
      <div className="card-header">
        <h2>Report{report.data ? ` · run ${report.data.run_number}` : ""}</h2>
        <label className="inline-field">
          Series by{" "}
          <select value={bucket} onChange={(e) => setBucket(e.target.value as Bucket)} aria-label="Series bucket">
            <option value="day">day</option>
            <option value="hour">hour</option>
          </select>
        </label>
      </div>
      {report.data ? <ReportPanel report={report.data} /> : <p className="muted">Loading the report…</p>}
      <ErrorAlert error={report.error} />
    </section>
  );
}

/** Rates are fractions (0.25) or null when there is nothing to measure. */
export function rate(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : formatPercent(value * 100);
}

export function ReportPanel({ report }: { report: CampaignReport }) {
  const t = report.totals;
  const sendSteps = report.steps.filter((s) => s.type === "send");
  return (
    <>
      <div className="stats stats-wrap">
        <Kpi label="Sent" value={formatNumber(t.sent)} testId="report-sent" />
        <Kpi label="Delivered" value={formatNumber(t.delivered)} hint={rate(t.delivery_rate)} testId="report-delivered" />
        <Kpi label="Open rate" value={rate(t.open_rate)} hint={`${formatNumber(t.unique_opens)} opened`} testId="report-open-rate" />
        <Kpi label="Click rate" value={rate(t.click_rate)} hint={`${formatNumber(t.unique_clicks)} clicked`} testId="report-click-rate" />
        <Kpi label="Click-to-open" value={rate(t.click_to_open)} testId="report-ctor" />
        <Kpi label="Unsubscribes" value={formatNumber(t.unsubscribes)} hint={rate(t.unsubscribe_rate)} testId="report-unsubscribes" />
        <Kpi label="Bounces" value={formatNumber(t.hard_bounces)} hint={`${formatNumber(t.bounces)} notices`} testId="report-bounces" />
        <Kpi label="Complaints" value={formatNumber(t.complaints)} testId="report-complaints" />
        <Kpi label="Conversions" value={formatNumber(t.conversions)} hint={rate(t.conversion_rate)} testId="report-conversions" />
        <Kpi label="Revenue" value={t.revenue.toFixed(2)} hint={t.roi === null || t.roi === undefined ? undefined : `ROI ${rate(t.roi)}`} testId="report-revenue" />
      </div>
      <p className="muted small" data-testid="report-machine-opens">
        {formatNumber(t.machine_opens)} automated opens (mail privacy proxies, link scanners) are counted apart, in no rate.
      </p>

      {t.sent > 0 && (
        <Suspense fallback={<p className="muted small">Loading the funnel…</p>}>
          <FunnelChart funnel={t} />
        </Suspense>
      )}

      {report.series.length > 0 && (
        <Suspense fallback={<p className="muted small">Loading the chart…</p>}>
          <ReportChart series={report.series} bucket={report.bucket} />
        </Suspense>
      )}

      {sendSteps.length > 0 && (
        <>
          <h3 className="section-title">Per step</h3>
          <table className="table" data-testid="report-steps">
            <thead>
              <tr>
                <th>Step</th>
                <th>Sent</th>
                <th>Open rate</th>
                <th>Click rate</th>
                <th>Unsubscribes</th>
                <th>Conversions</th>
              </tr>
            </thead>
            <tbody>
              {sendSteps.flatMap((step) => [
                <FunnelRow key={step.step_id} label={step.step_id} funnel={step.funnel} />,
                ...step.variants.map((v) => (
                  <FunnelRow key={`${step.step_id}/${v.variant}`} label={`  variant ${v.variant}`} funnel={v.funnel} nested />
                )),
              ])}
            </tbody>
          </table>
        </>
      )}

      {report.ab_tests.map((test) => (
        <div key={test.step_id} className="ab-result" data-testid="report-ab">
          <h3 className="section-title">A/B test “{test.step_id}” by {test.metric.replace("_", " ")}</h3>
          <p>
            Winner: <strong data-testid="report-ab-winner">{test.winner}</strong>{" "}
            ({Object.entries(test.rates)
              .map(([variant, value]) => `${variant}: ${rate(value)}`)
              .join(", ")}
            ).{" "}
            <span data-testid="report-ab-significance">
              {test.runner_up === null
                ? "Only one variant."
                : test.significant
                  ? `Significant against ${test.runner_up} (p = ${test.p_value.toFixed(3)}).`
                  : `Not significant against ${test.runner_up} yet (p = ${test.p_value.toFixed(3)}).`}
            </span>
          </p>
        </div>
      ))}

      <h3 className="section-title">Breakdown</h3>
      <div className="detail-grid breakdown">
        <BreakdownTable title="Channel" rows={report.by_channel} testId="report-by-channel" />
        <BreakdownTable title="Country" rows={report.by_country} testId="report-by-country" />
        <table className="table" data-testid="report-by-device">
          <thead>
            <tr>
              <th>Device</th>
              <th>Opened</th>
              <th>Clicked</th>
            </tr>
          </thead>
          <tbody>
            {report.by_device.map((row) => (
              <tr key={row.device}>
                <td>{row.device}</td>
                <td>{formatNumber(row.opened)}</td>
                <td>{formatNumber(row.clicked)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h3 className="section-title">Links</h3>
      {report.links.length === 0 ? (
        <p className="muted small">No clicks yet.</p>
      ) : (
        <table className="table" data-testid="report-links">
          <thead>
            <tr>
              <th>Link</th>
              <th>Clicks</th>
              <th>Unique</th>
            </tr>
          </thead>
          <tbody>
            {report.links.map((link) => (
              <tr key={link.url} data-testid="report-link">
                <td className="truncate" title={link.url}>
                  {link.url}
                </td>
                <td>{formatNumber(link.clicks)}</td>
                <td>{formatNumber(link.unique_clicks)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function BreakdownTable({ title, rows, testId }: { title: string; rows: CampaignReport["by_channel"]; testId: string }) {
  return (
    <table className="table" data-testid={testId}>
      <thead>
        <tr>
          <th>{title}</th>
          <th>Sent</th>
          <th>Opens</th>
          <th>Clicks</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key} data-testid="breakdown-row">
            <td>{row.key || "—"}</td>
            <td>{formatNumber(row.sent)}</td>
            <td>{rate(row.open_rate)}</td>
            <td>{rate(row.click_rate)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FunnelRow({ label, funnel, nested }: { label: string; funnel: ReportFunnel; nested?: boolean }) {
  return (
    <tr className={nested ? "nested" : undefined} data-testid="report-step-row">
      <td>{label}</td>
      <td>{formatNumber(funnel.sent)}</td>
      <td>{rate(funnel.open_rate)}</td>
      <td>{rate(funnel.click_rate)}</td>
      <td>{formatNumber(funnel.unsubscribes)}</td>
      <td>{formatNumber(funnel.conversions)}</td>
    </tr>
  );
}

export function Kpi({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <div className="stat">
      <div className="stat-value" data-testid={testId}>
        {value}
      </div>
      <div className="stat-label">
        {label}
        {hint && <span className="muted"> · {hint}</span>}
      </div>
    </div>
  );
}
