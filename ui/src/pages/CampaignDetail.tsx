import { useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type CampaignDetail, type Progress, type Run } from "../api/client";
import { isActive, queryKeys } from "../api/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { Icon } from "../components/Icon";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import { formatDateTime, formatNumber, formatPercent } from "../format";
import { can } from "../auth";
import { FlowOutline } from "../campaigns/FlowOutline";
import { CHANNEL_LABELS, toFlow } from "../campaigns/flow";
import { EDITABLE, isWaiting, readStepProgress, type StepProgress } from "../campaigns/model";
import { campaignApi } from "../campaigns/queries";
import { describeStart, describeWeekdays, toSchedule, workspaceTimeZone } from "../campaigns/schedule";
import { StepProgressPanel } from "../campaigns/StepProgress";
import { CampaignReportSection } from "../campaigns/CampaignReport";
import { OBJECTIVES, describeGoal } from "../campaigns/wizard";
import { useSession } from "../session";
import { NotFound } from "./NotFound";

/** How often the progress panel asks for fresh numbers while a run is alive (and while it waits to start). */
export const PROGRESS_POLL_MS = 2000;
export const WAITING_POLL_MS = 5000;

type Action = "pause" | "resume" | "cancel";

export function CampaignDetailPage() {
  const { id } = useParams();
  const campaignId = Number(id);
  if (!Number.isInteger(campaignId) || campaignId <= 0) return <NotFound />;
  return <CampaignView key={campaignId} campaignId={campaignId} />;
}

/** The numbers the progress panel shows, from /progress or, until that answers, from the latest run. */
type RunView = {
  number: number;
  status: string;
  total: number;
  sent: number;
  failed: number;
  skipped: number;
  percent: number;
  workflowId: string;
  temporalUrl: string;
  live: boolean;
  steps: StepProgress[];
};

function fromProgress(p: Progress): RunView {
  return {
    number: p.run_number,
    status: p.paused && p.status === "running" ? "paused" : p.status,
    total: p.total,
    sent: p.sent,
    failed: p.failed,
    skipped: p.skipped,
    percent: p.percent,
    workflowId: p.workflow_id,
    temporalUrl: p.temporal_url,
    live: p.live,
    steps: readStepProgress(p.steps),
  };
}

function fromRun(r: Run): RunView {
  return {
    number: r.number,
    status: r.status,
    total: r.total,
    sent: r.sent,
    failed: r.failed,
    skipped: r.skipped,
    percent: r.percent,
    workflowId: r.workflow_id,
    temporalUrl: r.temporal_url,
    live: false,
    steps: [],
  };
}

function CampaignView({ campaignId }: { campaignId: number }) {
  const queryClient = useQueryClient();
  const me = useSession();
  // Launching needs campaigns:launch; where the workspace requires approval, a launch by someone who may not approve
  // waits for a manager's decision. Pause, resume and cancel need campaigns:launch too.
  const mayLaunch = can(me, "campaigns:launch");
  const mayControl = can(me, "campaigns:launch");
  const mayApprove = can(me, "campaigns:approve");
  const approvalNeeded = me.workspace.requires_approval && !mayApprove;

  const campaign = useQuery({
    queryKey: queryKeys.campaign(campaignId),
    queryFn: () => unwrap(api.GET("/api/campaigns/{campaign_id}", { params: { path: { campaign_id: campaignId } } })),
    // The runs table refreshes now and then while a run is alive; the panel below polls faster.
    refetchInterval: (query) =>
      isActive(query.state.data?.status) || isWaiting(query.state.data?.status) ? WAITING_POLL_MS : false,
  });

  const detail = campaign.data;
  const hasRun = Boolean(detail?.latest_run) || (detail?.runs?.length ?? 0) > 0;

  const progress = useQuery({
    queryKey: queryKeys.progress(campaignId),
    queryFn: () =>
      unwrap(api.GET("/api/campaigns/{campaign_id}/progress", { params: { path: { campaign_id: campaignId } } })),
    enabled: hasRun,
    // Poll every 2 s while the run is running or paused, slower while it waits for its start or a decision; stop once
    // it is completed, cancelled, rejected or failed.
    refetchInterval: (query) => {
      const data = query.state.data;
      if (data) {
        if (isActive(data.status) || data.paused) return PROGRESS_POLL_MS;
        return isWaiting(data.status) ? WAITING_POLL_MS : false;
      }
      if (isActive(detail?.status)) return PROGRESS_POLL_MS;
      return isWaiting(detail?.status) ? WAITING_POLL_MS : false;
    },
    refetchIntervalInBackground: true,
  });

  const run: RunView | null = progress.data
    ? fromProgress(progress.data)
    : detail?.latest_run
      ? fromRun(detail.latest_run)
      : null;
  const runStatus = run?.status ?? null;
  const active =
    isActive(runStatus) || isWaiting(runStatus) || (run === null && (isActive(detail?.status) || isWaiting(detail?.status)));

  // When the run changes state (e.g. finishes), refresh the campaign and its runs table.
  const previousStatus = useRef<string | null>(null);
  useEffect(() => {
    const status = progress.data ? fromProgress(progress.data).status : null;
    if (status === null) return;
    if (previousStatus.current !== null && previousStatus.current !== status) {
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(campaignId), exact: true });
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
      if (!isActive(status)) void queryClient.invalidateQueries({ queryKey: ["outbox"] });
    }
    previousStatus.current = status;
  }, [progress.data, campaignId, queryClient]);

  const [actionError, setActionError] = useState<unknown>(null);

  const launch = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/campaigns/{campaign_id}/launch", { params: { path: { campaign_id: campaignId } } })),
    onMutate: () => setActionError(null),
    onSuccess: (newRun) => {
      // Show the new run at once; the progress query takes over from here.
      queryClient.setQueryData<CampaignDetail>(queryKeys.campaign(campaignId), (old) =>
        old ? { ...old, status: newRun.status, latest_run: newRun, runs: [newRun, ...(old.runs ?? [])] } : old,
      );
      void queryClient.resetQueries({ queryKey: queryKeys.progress(campaignId), exact: true });
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(campaignId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
    },
    onError: (error) => {
      setActionError(error);
      // A 409 may mean another tab launched it: show the real state.
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(campaignId) });
    },
  });

  const control = useMutation({
    mutationFn: (action: Action) => {
      const options = { params: { path: { campaign_id: campaignId } } };
      switch (action) {
        case "pause":
          return unwrap(api.POST("/api/campaigns/{campaign_id}/pause", options));
        case "resume":
          return unwrap(api.POST("/api/campaigns/{campaign_id}/resume", options));
        case "cancel":
          return unwrap(api.POST("/api/campaigns/{campaign_id}/cancel", options));
      }
    },
    onMutate: () => setActionError(null),
    onSuccess: (data) => {
      queryClient.setQueryData(queryKeys.progress(campaignId), data);
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(campaignId), exact: true });
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
    },
    onError: (error) => {
      setActionError(error);
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(campaignId) });
    },
  });

  const [comment, setComment] = useState("");
  const decide = useMutation({
    mutationFn: (decision: "approve" | "reject") =>
      decision === "approve"
        ? campaignApi.approve(campaignId, comment.trim() || null)
        : campaignApi.reject(campaignId, comment.trim()),
    onMutate: () => setActionError(null),
    onSuccess: () => {
      setComment("");
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(campaignId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.progress(campaignId) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
    },
    onError: (error) => setActionError(error),
  });

  const cancelRun = () => {
    if (window.confirm("Cancel this campaign run? Messages already sent stay sent; the rest are not sent.")) {
      control.mutate("cancel");
    }
  };

  if (campaign.isPending) {
    return <p className="muted">Loading campaign…</p>;
  }
  if (campaign.error) {
    if (campaign.error instanceof ApiError && campaign.error.status === 404) {
      return (
        <>
          <BackLink />
          <div className="card card-placeholder">
            <p>{campaign.error.message}</p>
          </div>
        </>
      );
    }
    return (
      <>
        <BackLink />
        <ErrorAlert error={campaign.error} />
      </>
    );
  }

  const data = campaign.data;
  const flow = data.flow ? toFlow(data.flow) : null;
  const schedule = toSchedule(data.schedule);
  const timeZone = workspaceTimeZone(me.workspace.timezone);
  const channels = data.channels ?? [];
  const tags = data.tags ?? [];
  const objective = OBJECTIVES.find((o) => o.value === data.objective)?.label;
  const goal = describeGoal(data.goal_metric, data.goal_target ?? null);
  const approvalComment = data.approval_comment ?? null;
  const approvedBy = data.approved_by ?? null;
  const scheduledAt = data.scheduled_at ?? null;
  const status = data.status;
  const pending = status === "pending_approval" || runStatus === "pending_approval";
  const busy = launch.isPending || control.isPending || decide.isPending;
  const runs = data.runs ?? [];
  const editable = can(me, "campaigns:write") && EDITABLE.has(status);
  const launchable = !flow || flow.steps.length > 0;
  // A failed progress read while no run numbers are known at all is worth showing; a 409 just means "never launched".
  const progressError =
    progress.error && !(progress.error instanceof ApiError && progress.error.status === 409) ? progress.error : null;
  const listCount = data.list_ids?.length ?? 0;
  const audience = data.list_name ?? (listCount > 1 ? `${listCount} lists` : "All leads");

  return (
    <>
      <BackLink />
      <div className="page-header">
        <div>
          <div className="title-row">
            <h1>{data.name}</h1>
            <StatusBadge status={status} testId="campaign-status" />
          </div>
          <p className="page-subtitle">
            {flow ? (
              <>
                {flow.steps.length} step{flow.steps.length === 1 ? "" : "s"}
                {channels.length > 0 && <> on {channels.map((c) => CHANNEL_LABELS[c]).join(", ")}</>}
              </>
            ) : (
              <>
                Template{" "}
                {data.template_id !== null ? (
                  <Link to={`/templates/${data.template_id}`} className="strong">
                    {data.template_name}
                  </Link>
                ) : (
                  <span className="muted">none</span>
                )}
                {data.template_version !== null && <span data-testid="template-version-pinned"> (version {data.template_version})</span>}
              </>
            )}{" "}
            · Audience <strong>{audience}</strong>
          </p>
        </div>
        <div className="page-actions">
          {editable && (
            <Link to={`/campaigns/${campaignId}/edit`} className="btn btn-secondary">
              Edit
            </Link>
          )}
          {mayControl && runStatus === "running" && (
            <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => control.mutate("pause")}>
              Pause
            </button>
          )}
          {mayControl && runStatus === "paused" && (
            <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => control.mutate("resume")}>
              Resume
            </button>
          )}
          {mayControl && (isActive(runStatus) || isWaiting(runStatus) || isWaiting(status)) && (
            <button type="button" className="btn btn-danger" disabled={busy} onClick={cancelRun}>
              Cancel
            </button>
          )}
          {mayLaunch && !pending && (
            <button
              type="button"
              className="btn btn-primary"
              disabled={active || busy || !launchable}
              title={active ? "A run is in progress" : !launchable ? "The flow has no steps" : undefined}
              onClick={() => launch.mutate()}
            >
              {approvalNeeded ? "Submit for approval" : "Launch"}
            </button>
          )}
        </div>
      </div>

      {pending && (
        <section className="card approval" aria-label="Approval" data-testid="approval-panel">
          <div className="card-header">
            <h2>Waiting for approval</h2>
          </div>
          {mayApprove ? (
            <>
              <p className="muted">The run waits for your decision. A rejection needs a comment; its author reads it.</p>
              <label className="field">
                <span className="field-label">Comment</span>
                <textarea
                  name="approval_comment"
                  className="input textarea"
                  rows={2}
                  value={comment}
                  onChange={(event) => setComment(event.target.value)}
                />
              </label>
              <div className="form-actions">
                <button type="button" className="btn btn-primary" disabled={busy} onClick={() => decide.mutate("approve")}>
                  Approve
                </button>
                <button
                  type="button"
                  className="btn btn-danger"
                  disabled={busy || comment.trim() === ""}
                  title={comment.trim() === "" ? "Say why in the comment" : undefined}
                  onClick={() => decide.mutate("reject")}
                >
                  Reject
                </button>
              </div>
            </>
          ) : (
            <p className="muted">{me.workspace.name} requires approval: a manager or an admin approves or rejects this launch.</p>
          )}
        </section>
      )}
      {status === "rejected" && (
        <Alert tone="error">
          Rejected{approvedBy ? ` by ${approvedBy}` : ""}
          {approvalComment ? <>: “<span data-testid="rejection-comment">{approvalComment}</span>”</> : "."} Edit the campaign and launch
          it again.
        </Alert>
      )}
      {status === "scheduled" && (
        <Alert tone="info">
          Scheduled: {scheduledAt ? formatDateTime(scheduledAt) : describeStart(schedule, timeZone)}.{" "}
          <Link to="/campaigns/calendar">See the calendar</Link>
        </Alert>
      )}

      {Boolean(actionError) && <ErrorAlert error={actionError} onDismiss={() => setActionError(null)} />}

      <div className="detail-grid">
        <section className="card progress-card" aria-label="Progress">
          {run ? (
            <RunProgress run={run} />
          ) : (
            <div className="empty-progress">
              <h2>Not launched yet</h2>
              <p className="muted">
                {flow
                  ? "Launch starts a Temporal workflow that runs the flow for every lead of the audience, step by step."
                  : `Launch starts a Temporal workflow that sends “${data.template_name ?? "the template"}” to ${
                      data.list_name ? `the members of “${data.list_name}”` : "every lead"
                    } who agreed to email.`}
              </p>
            </div>
          )}
          {run && <StepProgressPanel steps={run.steps} />}
          <ErrorAlert error={progressError} />
        </section>

        <section className="card facts" aria-label="Details">
          <h2>Details</h2>
          <dl className="headers">
            {objective && (
              <>
                <dt>Objective</dt>
                <dd>{objective}</dd>
                <dt>Goal</dt>
                <dd>{goal}</dd>
              </>
            )}
            {!flow && (
              <>
                <dt>Template</dt>
                <dd>
                  {data.template_name ?? "—"}
                  {data.template_version !== null && <span className="muted"> · version {data.template_version}</span>}
                </dd>
              </>
            )}
            <dt>Audience</dt>
            <dd>{audience}</dd>
            <dt>Start</dt>
            <dd>{describeStart(schedule, timeZone)}</dd>
            <dt>Sending</dt>
            <dd>
              {describeWeekdays(schedule.weekdays)}
              {schedule.quiet_hours && ` · quiet ${schedule.quiet_hours.start}–${schedule.quiet_hours.end}`}
              {schedule.frequency_cap && ` · cap ${schedule.frequency_cap.max_messages}/${schedule.frequency_cap.days} d`}
            </dd>
            {tags.length > 0 && (
              <>
                <dt>Tags</dt>
                <dd className="tag-list">
                  {tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </dd>
              </>
            )}
            {data.cost > 0 && (
              <>
                <dt>Cost</dt>
                <dd>{data.cost.toFixed(2)}</dd>
              </>
            )}
            <dt>Runs</dt>
            <dd>{formatNumber(runs.length)}</dd>
            <dt>Created</dt>
            <dd>{formatDateTime(data.created_at)}</dd>
            <dt>Updated</dt>
            <dd>{formatDateTime(data.updated_at)}</dd>
          </dl>
          {flow && (
            <>
              <h3 className="section-title">Flow</h3>
              <FlowOutline steps={flow.steps} />
            </>
          )}
          {can(me, "audit:read") && (
            <Link to={`/settings/audit?entity_type=campaign&entity_id=${data.id}`} className="facts-link">
              View history →
            </Link>
          )}
        </section>
      </div>

      {run && <CampaignReportSection campaignId={campaignId} live={isActive(runStatus)} />}

      <section className="card card-table" aria-label="Runs">
        <div className="card-header">
          <h2>Runs</h2>
        </div>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th className="num">#</th>
                <th>Status</th>
                <th className="num">Sent</th>
                <th className="num">Failed</th>
                <th className="num">Skipped</th>
                <th className="num">Total</th>
                <th>Started</th>
                <th>Finished</th>
                <th>Temporal</th>
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={9} loading={false} empty={runs.length === 0} emptyText="No runs yet." />
              {runs.map((r) => (
                <tr key={r.id} data-testid="run-row">
                  <td className="num strong">{r.number}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td className="num">{formatNumber(r.sent)}</td>
                  <td className="num">{formatNumber(r.failed)}</td>
                  <td className="num">{formatNumber(r.skipped)}</td>
                  <td className="num">{formatNumber(r.total)}</td>
                  <td className="nowrap">{formatDateTime(r.started_at)}</td>
                  <td className="nowrap">{r.finished_at ? formatDateTime(r.finished_at) : <span className="muted">—</span>}</td>
                  <td className="nowrap">
                    <a href={r.temporal_url} target="_blank" rel="noopener noreferrer" className="mono-link">
                      {r.workflow_id}
                    </a>
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

function BackLink() {
  return (
    <Link to="/campaigns" className="back-link">
      ← Back
    </Link>
  );
}

function RunProgress({ run }: { run: RunView }) {
  const done = run.sent + run.failed + run.skipped;
  const sendSteps = run.steps.filter((s) => s.type === "send").length;
  return (
    <>
      <div className="card-header">
        <h2>
          Run {run.number} <StatusBadge status={run.status} testId="run-status" />
        </h2>
        {run.live && isActive(run.status) && (
          <span className="live" title="Read from the running workflow">
            <span className="live-dot" aria-hidden="true" />
            Live
          </span>
        )}
      </div>
      <div className="progress-headline">
        <span className="progress-percent" data-testid="progress-percent">
          {formatPercent(run.percent)}
        </span>
        <span className="muted">
          {sendSteps > 1
            ? `${formatNumber(done)} messages over ${sendSteps} send steps, to ${formatNumber(run.total)} leads`
            : `${formatNumber(done)} of ${formatNumber(run.total)} processed`}
        </span>
      </div>
      <ProgressBar percent={run.percent} status={run.status} size="lg" label={`Run ${run.number} progress`} />
      <div className="stats">
        <Stat label="Total" value={run.total} testId="progress-total" />
        <Stat label="Sent" value={run.sent} testId="progress-sent" tone="ok" />
        <Stat label="Failed" value={run.failed} testId="progress-failed" tone={run.failed > 0 ? "bad" : undefined} />
        <Stat label="Skipped" value={run.skipped} testId="progress-skipped" />
      </div>
      <div className="temporal-link">
        <a href={run.temporalUrl} target="_blank" rel="noopener noreferrer" className="btn btn-secondary btn-sm">
          Open in Temporal UI
          <Icon name="external" size={14} />
        </a>
        <code data-testid="workflow-id">{run.workflowId}</code>
      </div>
    </>
  );
}

function Stat({ label, value, testId, tone }: { label: string; value: number; testId: string; tone?: "ok" | "bad" }) {
  return (
    <div className={`stat ${tone ? `stat-${tone}` : ""}`}>
      <div className="stat-value" data-testid={testId}>
        {formatNumber(value)}
      </div>
      <div className="stat-label">{label}</div>
    </div>
  );
}
