import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { useLists } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { formatNumber } from "../format";
import { parseAddresses } from "../templates/model";
import { CHANNELS, CHANNEL_LABELS, STEP_TYPE_LABELS, countSteps, flowChannels, getStep, placeProblems, sendSteps, type Problem } from "./flow";
import { reasonLabel, type ChannelCounts, type DryRunStep } from "./model";
import { campaignApi, useDirectory } from "./queries";
import { describeStart, describeWeekdays } from "./schedule";
import { GOAL_METRICS, OBJECTIVES, describeGoal, type CampaignDraft } from "./wizard";

type Props = {
  draft: CampaignDraft;
  problems: readonly Problem[];
  estimate: ChannelCounts | null;
  checking: boolean;
  validationError: unknown;
  timeZone: string;
  /** Saves the campaign if needed and gives its id (dry run and test send work on the saved campaign). */
  ensureSaved: () => Promise<number>;
  onGoToFlow: () => void;
};

/** Everything the campaign will do, its problems, a dry run and a test send, before launching. */
export function ReviewStep({ draft, problems, estimate, checking, validationError, timeZone, ensureSaved, onGoToFlow }: Props) {
  const lists = useLists();
  const directory = useDirectory();
  const listName = (id: number) => lists.data?.find((l) => l.id === id)?.name ?? `List ${id}`;
  const { byStep, general } = placeProblems(draft.flow, problems);
  const errors = problems.filter((p) => p.severity !== "warning");
  const warnings = problems.filter((p) => p.severity === "warning");
  const owner = directory.data?.find((m) => m.user_id === draft.owner_id);
  const schedule = draft.schedule;

  return (
    <>
      <section className={`card ${checking ? "is-stale" : ""}`} aria-label="Problems" aria-busy={checking}>
        <div className="card-header">
          <h2>
            Problems{" "}
            <span className="muted small" data-testid="review-problem-count">
              {errors.length} error{errors.length === 1 ? "" : "s"} · {warnings.length} warning{warnings.length === 1 ? "" : "s"}
            </span>
          </h2>
          {checking && <span className="muted small">Checking…</span>}
        </div>
        <ErrorAlert error={validationError} />
        {problems.length === 0 && !checking && !validationError && (
          <p className="muted" data-testid="review-ready">
            No problems: the flow, its templates and the brand rules are fine.
          </p>
        )}
        {problems.length > 0 && (
          <ul className="problem-list">
            {[...byStep.entries()].flatMap(([path, list]) =>
              list.map((p, i) => (
                <li key={`${path}-${i}`} className={`problem problem-${p.severity}`} data-testid="review-problem">
                  <span className={`badge badge-${p.severity === "error" ? "failed" : "paused"}`}>{p.severity}</span>
                  <span className="problem-text">
                    <span>{p.message}</span>
                    <span className="small">
                      {isContentRule(p.rule) && (
                        <span className="tag" data-testid="problem-rule">
                          {p.rule}
                        </span>
                      )}{" "}
                      <button type="button" className="link-button small" onClick={onGoToFlow}>
                        step {stepIdAt(draft, path)}
                        {p.field ? ` · ${p.field}` : ""}
                      </button>
                    </span>
                  </span>
                </li>
              )),
            )}
            {general.map((p, i) => (
              <li key={`general-${i}`} className={`problem problem-${p.severity}`} data-testid="review-problem">
                <span className={`badge badge-${p.severity === "error" ? "failed" : "paused"}`}>{p.severity}</span>
                <span className="problem-text">
                  <span>{p.message}</span>
                  {p.field && <span className="muted small">{p.field}</span>}
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <div className="detail-grid review-grid">
        <section className="card facts" aria-label="Summary">
          <h2>Summary</h2>
          <dl className="headers">
            <dt>Name</dt>
            <dd data-testid="review-name">{draft.name}</dd>
            <dt>Objective</dt>
            <dd>{OBJECTIVES.find((o) => o.value === draft.objective)?.label}</dd>
            <dt>Goal</dt>
            <dd>
              {draft.goal_metric === "none"
                ? GOAL_METRICS[0].label
                : describeGoal(draft.goal_metric, draft.goal_target)}
            </dd>
            <dt>Owner</dt>
            <dd>{owner ? owner.name || owner.email : <span className="muted">Nobody</span>}</dd>
            {draft.tags.length > 0 && (
              <>
                <dt>Tags</dt>
                <dd className="tag-list">
                  {draft.tags.map((t) => (
                    <span key={t} className="tag">
                      {t}
                    </span>
                  ))}
                </dd>
              </>
            )}
            <dt>Cost</dt>
            <dd>{draft.cost.toFixed(2)}</dd>
            <dt>Audience</dt>
            <dd>
              {draft.list_ids.length === 0 ? "Every lead" : draft.list_ids.map(listName).join(", ")}
              {draft.exclude_list_ids.length > 0 && <span className="muted"> · minus {draft.exclude_list_ids.map(listName).join(", ")}</span>}
              {draft.exclude_filter && <span className="muted"> · minus a filter</span>}
            </dd>
            <dt>Flow</dt>
            <dd>
              {countSteps(draft.flow)} step{countSteps(draft.flow) === 1 ? "" : "s"}, {sendSteps(draft.flow).length} send
              {sendSteps(draft.flow).length === 1 ? "" : "s"} on {flowChannels(draft.flow).map((c) => CHANNEL_LABELS[c]).join(", ") || "—"}
              {draft.flow.exit_on_statuses.length > 0 && (
                <span className="muted"> · exits on {draft.flow.exit_on_statuses.join(", ")}</span>
              )}
            </dd>
            <dt>Start</dt>
            <dd data-testid="review-start">{describeStart(schedule, timeZone)}</dd>
            <dt>Rules</dt>
            <dd>
              {describeWeekdays(schedule.weekdays)}
              {schedule.quiet_hours && ` · quiet ${schedule.quiet_hours.start}–${schedule.quiet_hours.end}`}
              {schedule.frequency_cap &&
                ` · at most ${schedule.frequency_cap.max_messages} per ${schedule.frequency_cap.days} days`}
              {schedule.throttle_per_minute &&
                Object.entries(schedule.throttle_per_minute).map(([c, n]) => ` · ${CHANNEL_LABELS[c as keyof typeof CHANNEL_LABELS] ?? c} ${n}/min`)}
            </dd>
          </dl>
        </section>
        <section className="card" aria-label="Estimated sends">
          <div className="card-header">
            <h2>Estimated sends</h2>
          </div>
          {estimate ? (
            <div className="stats">
              {CHANNELS.map((channel) => (
                <div className="stat" key={channel}>
                  <div className="stat-value" data-testid={`estimate-${channel}`}>
                    {formatNumber(estimate[channel])}
                  </div>
                  <div className="stat-label">{CHANNEL_LABELS[channel]}</div>
                </div>
              ))}
            </div>
          ) : (
            <p className="muted">{checking ? "Estimating…" : "No estimate yet."}</p>
          )}
          <p className="muted small">Messages if every lead who can be reached goes through every send step on its path.</p>
        </section>
      </div>

      <DryRun draft={draft} ensureSaved={ensureSaved} />
      <TestSend ensureSaved={ensureSaved} />
    </>
  );
}

/** A template or brand rule (as opposed to the flow's, the schedule's or the audience's own checks). */
function isContentRule(rule: string | null | undefined): rule is string {
  return Boolean(rule) && !["flow", "schedule", "audience"].includes(rule as string);
}

function stepIdAt(draft: CampaignDraft, path: string): string {
  return getStep(draft.flow, path)?.id ?? path;
}

function DryRun({ draft, ensureSaved }: { draft: CampaignDraft; ensureSaved: () => Promise<number> }) {
  const run = useMutation({
    mutationFn: async () => {
      const id = await ensureSaved();
      return campaignApi.dryRun(id);
    },
  });
  const typeOf = (stepId: string) => {
    const step = sendSteps(draft.flow).find((s) => s.step.id === stepId)?.step;
    return step ? STEP_TYPE_LABELS[step.type] : "";
  };
  return (
    <section className="card card-table" aria-label="Dry run">
      <div className="card-header">
        <h2>Dry run</h2>
        <button type="button" className="btn btn-secondary btn-sm" disabled={run.isPending} onClick={() => run.mutate()}>
          {run.isPending ? "Running…" : run.data ? "Run again" : "Run a dry run"}
        </button>
      </div>
      {!run.data && !run.error && (
        <p className="card-note muted">How many leads each send step would reach and why others would be skipped, without sending.</p>
      )}
      <ErrorAlert error={run.error} />
      {run.data && (
        <>
          {run.data.audience !== null && (
            <p className="card-note">
              <span className="strong" data-testid="dry-run-audience">
                {formatNumber(run.data.audience)}
              </span>{" "}
              lead{run.data.audience === 1 ? "" : "s"} in the audience now.
            </p>
          )}
          {run.data.problems.map((problem) => (
            <p key={problem} className="card-note field-error">
              {problem}
            </p>
          ))}
          <DryRunTable steps={run.data.steps} typeOf={typeOf} />
        </>
      )}
    </section>
  );
}

function DryRunTable({ steps, typeOf }: { steps: DryRunStep[]; typeOf: (id: string) => string }) {
  return (
    <div className="table-wrap">
      <table className="table" data-testid="dry-run">
        <thead>
          <tr>
            <th>Step</th>
            <th>Channel</th>
            <th className="num">Reach the step</th>
            <th className="num">Would send</th>
            <th className="num">By fallback</th>
            <th>Skipped</th>
          </tr>
        </thead>
        <tbody>
          {steps.length === 0 && (
            <tr className="table-state">
              <td colSpan={6} className="muted">
                No send step.
              </td>
            </tr>
          )}
          {steps.map((s) => (
            <tr key={s.stepId} data-testid="dry-run-row">
              <td>
                <code>{s.stepId}</code> <span className="muted small">{typeOf(s.stepId)}</span>
              </td>
              <td>{s.channel ? (CHANNEL_LABELS[s.channel as keyof typeof CHANNEL_LABELS] ?? s.channel) : "—"}</td>
              <td className="num">
                {s.exact ? "" : "up to "}
                {formatNumber(s.reach)}
              </td>
              <td className="num" data-testid="dry-run-sendable">
                {s.sendable === null ? "—" : formatNumber(s.sendable)}
              </td>
              <td className="num">{formatNumber(s.fallbackSendable)}</td>
              <td>
                {Object.entries(s.skipped).filter(([, n]) => n > 0).length === 0 ? (
                  <span className="muted">none</span>
                ) : (
                  Object.entries(s.skipped)
                    .filter(([, n]) => n > 0)
                    .map(([reason, n]) => `${reasonLabel(reason)} ${formatNumber(n)}`)
                    .join(" · ")
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TestSend({ ensureSaved }: { ensureSaved: () => Promise<number> }) {
  const [raw, setRaw] = useState("");
  const addresses = parseAddresses(raw);
  const send = useMutation({
    mutationFn: async (to: string[]) => {
      const id = await ensureSaved();
      return campaignApi.testSend(id, to);
    },
  });
  return (
    <section className="card form" aria-label="Test send">
      <div className="card-header">
        <h2>Test send</h2>
      </div>
      <p className="muted small">Every send step's message goes to these addresses, marked as a test and left out of analytics.</p>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (addresses.length > 0) send.mutate(addresses);
        }}
      >
        <input
          name="test_recipients"
          className="input grow"
          placeholder="me@example.com, +33612345678"
          value={raw}
          onChange={(event) => setRaw(event.target.value)}
          aria-label="Test addresses"
        />
        <button type="submit" className="btn btn-secondary" disabled={send.isPending || addresses.length === 0}>
          {send.isPending ? "Sending…" : "Send test"}
        </button>
      </form>
      <ErrorAlert error={send.error} />
      {send.data && (
        <ul className="test-results">
          {send.data.length === 0 && <li className="ok">Sent.</li>}
          {send.data.map((r, i) => (
            <li key={`${r.stepId}-${r.to}-${i}`} data-testid="test-send-result" className={r.ok ? "ok" : "failed"}>
              {r.stepId && <code>{r.stepId}</code>} {r.to && <span className="strong">{r.to}</span>}{" "}
              {r.to ? (r.ok ? "sent" : "failed") : "skipped"}
              {r.detail && <span className="muted"> · {r.detail}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
