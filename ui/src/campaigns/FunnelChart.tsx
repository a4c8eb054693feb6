import { Funnel, FunnelChart as RechartsFunnel, LabelList, ResponsiveContainer, Tooltip } from "recharts";
import type { ReportFunnel } from "../api/client";
import { formatNumber, formatPercent } from "../format";
import { funnelStages } from "./funnelStages";

/** Sent → delivered → opened → clicked → converted as a funnel (recharts: loaded with the report only); the
 * figures are also listed under it, so they read without the drawing. */
export default function FunnelChart({ funnel }: { funnel: ReportFunnel }) {
  const stages = funnelStages(funnel);
  const data = stages.map((s) => ({ ...s, label: `${s.stage} · ${formatNumber(s.count)}` }));
  return (
    <figure className="chart funnel-chart" aria-label="Funnel" data-testid="report-funnel">
      <figcaption className="section-title">Funnel</figcaption>
      <ResponsiveContainer width="100%" height={200}>
        <RechartsFunnel>
          <Tooltip formatter={(value, name) => [formatNumber(Number(value)), String(name)]} />
          <Funnel dataKey="count" nameKey="stage" data={data} isAnimationActive={false}>
            <LabelList position="center" fill="#ffffff" stroke="none" dataKey="label" />
          </Funnel>
        </RechartsFunnel>
      </ResponsiveContainer>
      <ol className="funnel-legend small">
        {stages.map((s) => (
          <li key={s.stage} data-testid="report-funnel-stage">
            {s.stage}: <strong>{formatNumber(s.count)}</strong>
            {s.fromPrevious !== null && <span className="muted"> ({formatPercent(s.fromPrevious * 100)} of the stage before)</span>}
          </li>
        ))}
      </ol>
    </figure>
  );
}
