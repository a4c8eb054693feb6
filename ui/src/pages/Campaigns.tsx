import { Link, useNavigate } from "react-router-dom";
import type { Campaign } from "../api/client";
import { useCampaigns } from "../api/queries";
import { CHANNEL_LABELS } from "../campaigns/flow";
import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import { formatDate, formatDateTime, formatNumber, formatPercent } from "../format";
import { useCan } from "../session";

export function Campaigns() {
  const campaigns = useCampaigns({ poll: true });
  const canWrite = useCan("campaigns:write");
  const navigate = useNavigate();
  const rows = campaigns.data ?? [];

  return (
    <>
      <PageHeader
        title="Campaigns"
        subtitle="Each launch runs as a Temporal workflow."
        actions={
          <>
            <Link to="/campaigns/calendar" className="btn btn-secondary">
              Calendar
            </Link>
            {canWrite && (
              <button type="button" className="btn btn-primary" onClick={() => navigate("/campaigns/new")}>
                New campaign
              </button>
            )}
          </>
        }
      />
      <ErrorAlert error={campaigns.error} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table table-clickable">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Audience</th>
                <th>Sends</th>
                <th>Starts</th>
                <th className="col-progress">Latest run</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              <TableState
                colSpan={7}
                loading={campaigns.isPending}
                empty={rows.length === 0}
                emptyText={canWrite ? "No campaigns yet. Create one with “New campaign”." : "No campaigns yet."}
              />
              {rows.map((campaign) => (
                <tr
                  key={campaign.id}
                  data-testid="campaign-row"
                  tabIndex={0}
                  onClick={() => navigate(`/campaigns/${campaign.id}`)}
                  onKeyDown={(event) => {
                    if (event.key === "Enter") navigate(`/campaigns/${campaign.id}`);
                  }}
                >
                  <td className="strong row-title">{campaign.name}</td>
                  <td>
                    <StatusBadge status={campaign.status} />
                  </td>
                  <td>{audienceLabel(campaign)}</td>
                  <td>{sendsLabel(campaign)}</td>
                  <td className="nowrap">{startLabel(campaign)}</td>
                  <td>
                    <LatestRun campaign={campaign} />
                  </td>
                  <td className="nowrap">{formatDate(campaign.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}

function LatestRun({ campaign }: { campaign: Campaign }) {
  const run = campaign.latest_run;
  if (!run) return <span className="muted">Not launched</span>;
  return (
    <div className="run-cell">
      <ProgressBar percent={run.percent} status={run.status} label={`Run ${run.number} progress`} />
      <span className="run-cell-text">
        {formatPercent(run.percent)}
        <span className="muted">
          {" "}
          · run {run.number} · {formatNumber(run.sent)} of {formatNumber(run.total)} sent
        </span>
      </span>
    </div>
  );
}

function audienceLabel(campaign: Campaign) {
  if (campaign.list_name) return campaign.list_name;
  const lists = campaign.list_ids?.length ?? 0;
  if (lists > 1) return `${lists} lists`;
  return <span className="muted">All leads</span>;
}

function sendsLabel(campaign: Campaign) {
  const channels = campaign.channels ?? [];
  if (channels.length > 0) {
    return (
      <span className="tag-list">
        {channels.map((c) => (
          <span key={c} className={`channel-badge channel-${c}`}>
            {CHANNEL_LABELS[c]}
          </span>
        ))}
      </span>
    );
  }
  return campaign.template_name ?? <span className="muted">No step yet</span>;
}

function startLabel(campaign: Campaign) {
  return campaign.scheduled_at ? formatDateTime(campaign.scheduled_at) : <span className="muted">—</span>;
}
