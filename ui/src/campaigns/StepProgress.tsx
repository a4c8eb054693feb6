import { Suspense, lazy } from "react";
import { formatNumber, formatPercent } from "../format";
import { CHANNEL_LABELS } from "./flow";
import { reasonLabel, totalReasons, type StepProgress } from "./model";

const StepChart = lazy(() => import("./StepChart"));

function channelLabel(channel: string | null): string {
  if (!channel) return "—";
  return CHANNEL_LABELS[channel as keyof typeof CHANNEL_LABELS] ?? channel;
}

function rate(part: number, whole: number): string {
  return whole > 0 ? formatPercent((part / whole) * 100) : "—";
}

/** Per send step: numbers, a stacked bar chart, A/B variants and why leads were skipped (waits, branches and splits
 * send nothing: they are left out). */
export function StepProgressPanel({ steps: all }: { steps: StepProgress[] }) {
  const steps = all.filter((s) => s.type === "send");
  if (steps.length === 0) return null;
  const reasons = totalReasons(steps);
  const anyFallback = steps.some((s) => s.fallbackSent > 0);
  const withVariants = steps.filter((s) => s.variants.length > 0);
  return (
    <div className="step-progress" aria-label="Progress per step">
      <div className="table-wrap">
        <table className="table table-compact" data-testid="step-progress">
          <thead>
            <tr>
              <th>Step</th>
              <th>Channel</th>
              <th className="num">Sent</th>
              <th className="num">Failed</th>
              <th className="num">Skipped</th>
              <th className="num">Opened</th>
              <th className="num">Clicked</th>
              {anyFallback && <th className="num">Fallback</th>}
            </tr>
          </thead>
          <tbody>
            {steps.map((s) => (
              <tr key={`${s.stepId}-${s.index}`} data-testid="step-row" data-step-id={s.stepId}>
                <td className="nowrap">
                  <code>{s.stepId}</code>
                </td>
                <td>{channelLabel(s.channel)}</td>
                <td className="num strong" data-testid="step-sent">
                  {formatNumber(s.sent)}
                </td>
                <td className="num" data-testid="step-failed">
                  {formatNumber(s.failed)}
                </td>
                <td className="num" data-testid="step-skipped">
                  {formatNumber(s.skipped)}
                </td>
                <td className="num">
                  {formatNumber(s.opened)} <span className="muted small">{rate(s.opened, s.sent)}</span>
                </td>
                <td className="num">
                  {formatNumber(s.clicked)} <span className="muted small">{rate(s.clicked, s.sent)}</span>
                </td>
                {anyFallback && <td className="num">{formatNumber(s.fallbackSent)}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Suspense fallback={<p className="muted small">Loading the chart…</p>}>
        <StepChart steps={steps} />
      </Suspense>
      {withVariants.length > 0 && (
        <>
          <h3 className="section-title">A/B variants</h3>
          <table className="table table-compact" data-testid="variant-progress">
            <thead>
              <tr>
                <th>Step</th>
                <th>Variant</th>
                <th className="num">Sent</th>
                <th className="num">Opened</th>
                <th className="num">Clicked</th>
              </tr>
            </thead>
            <tbody>
              {withVariants.flatMap((s) =>
                s.variants.map((v) => (
                  <tr key={`${s.stepId}-${v.variant}`} data-testid="variant-progress-row">
                    <td>
                      <code>{s.stepId}</code>
                    </td>
                    <td className="strong">{v.variant}</td>
                    <td className="num">{formatNumber(v.sent)}</td>
                    <td className="num">
                      {formatNumber(v.opened)} <span className="muted small">{rate(v.opened, v.sent)}</span>
                    </td>
                    <td className="num">
                      {formatNumber(v.clicked)} <span className="muted small">{rate(v.clicked, v.sent)}</span>
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </>
      )}
      {reasons.length > 0 && (
        <>
          <h3 className="section-title">Skipped, by reason</h3>
          <ul className="reason-list" data-testid="skip-reasons">
            {reasons.map(([reason, n]) => (
              <li key={reason}>
                <span>{reasonLabel(reason)}</span>
                <span className="strong">{formatNumber(n)}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
