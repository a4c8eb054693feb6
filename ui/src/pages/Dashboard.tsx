import type { ReactNode } from "react";
import { Link, useNavigate } from "react-router-dom";
import { isActive, useCampaigns, useHealth, useLeadCount, useOutbox } from "../api/queries";
import { PageHeader } from "../components/PageHeader";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { summarizeHealth } from "../components/HealthIndicator";
import { formatNumber, formatPercent } from "../format";

export function Dashboard() {
  const leads = useLeadCount();
  const campaigns = useCampaigns({ poll: true });
  const outbox = useOutbox(0, "", 1);
  const health = useHealth();
  const navigate = useNavigate();
  const summary = summarizeHealth(health.error ? undefined : health.data, health.error);
  const running = campaigns.data?.filter((c) => isActive(c.latest_run?.status ?? c.status)).length ?? 0;
  const recent = (campaigns.data ?? []).slice(0, 5);

  return (
    <>
      <PageHeader title="Dashboard" subtitle="Your audience, your campaigns and what they sent, at a glance." />
      <div className="summary-grid">
        <SummaryCard
          title="Leads"
          value={leads.data ? formatNumber(leads.data.total) : leads.error ? "—" : "…"}
          note="people you can reach"
          to="/leads"
          testId="summary-leads"
        />
        <SummaryCard
          title="Campaigns"
          value={campaigns.data ? formatNumber(campaigns.data.length) : campaigns.error ? "—" : "…"}
          note={running > 0 ? `${running} sending now` : "none sending now"}
          to="/campaigns"
          testId="summary-campaigns"
        />
        <SummaryCard
          title="Outbox"
          value={outbox.data ? formatNumber(outbox.data.total) : outbox.error ? "—" : "…"}
          note="messages captured"
          to="/outbox"
          testId="summary-outbox"
        />
        <SummaryCard
          title="System health"
          value={
            <span className={`health health-${summary.tone} health-large`}>
              <span className="health-dot" aria-hidden="true" />
              <span className="health-text">{summary.text}</span>
            </span>
          }
          note={health.data ? `Herald ${health.data.version}` : "checked every 15 seconds"}
          testId="summary-health"
          tooltip={summary.detail}
        />
      </div>

      <section className="card card-table">
        <div className="card-header">
          <h2>Recent campaigns</h2>
        </div>
        <div className="table-wrap">
          <table className="table table-clickable">
            <tbody>
              {campaigns.isPending && (
                <tr className="table-state">
                  <td colSpan={3}>Loading…</td>
                </tr>
              )}
              {campaigns.isSuccess && recent.length === 0 && (
                <tr className="table-state">
                  <td colSpan={3}>No campaigns yet.</td>
                </tr>
              )}
              {recent.map((campaign) => (
                <tr
                  key={campaign.id}
                  tabIndex={0}
                  onClick={() => navigate(`/campaigns/${campaign.id}`)}
                  onKeyDown={(event) => {
                    if (event.key === "Enter") navigate(`/campaigns/${campaign.id}`);
                  }}
                >
                  <td className="strong">{campaign.name}</td>
                  <td>
                    <StatusBadge status={campaign.status} />
                  </td>
                  <td className="col-progress">
                    {campaign.latest_run ? (
                      <div className="run-cell">
                        <ProgressBar percent={campaign.latest_run.percent} status={campaign.latest_run.status} />
                        <span className="run-cell-text">{formatPercent(campaign.latest_run.percent)}</span>
                      </div>
                    ) : (
                      <span className="muted">Not launched</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

type CardProps = { title: string; value: ReactNode; note: string; to?: string; testId: string; tooltip?: string };

function SummaryCard({ title, value, note, to, testId, tooltip }: CardProps) {
  return (
    <div className="card summary-card" data-testid={testId} title={tooltip}>
      <div className="summary-title">{title}</div>
      <div className="summary-value">{value}</div>
      <div className="summary-foot">
        <span className="muted">{note}</span>
        {/* The link text avoids the page names so the sidebar links stay unambiguous. */}
        {to && (
          <Link to={to} className="summary-link">
            Open →
          </Link>
        )}
      </div>
    </div>
  );
}
