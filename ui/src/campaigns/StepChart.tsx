import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatNumber } from "../format";
import type { StepProgress } from "./model";

const GRID = "#e4e7ee";
const TICK = { fontSize: 12, fill: "#5d6679" };
const SENT = "#15803d";
const FAILED = "#c2261d";
const SKIPPED = "#8a92a3";

/** Sent, failed and skipped per send step, stacked (recharts: loaded with the campaign page's progress only). */
export default function StepChart({ steps }: { steps: StepProgress[] }) {
  const rows = steps.map((s) => ({ step: s.stepId, sent: s.sent, failed: s.failed, skipped: s.skipped }));
  return (
    <figure className="chart chart-wide" aria-label="Progress per step">
      <figcaption className="section-title">Per step</figcaption>
      <ResponsiveContainer width="100%" height={Math.max(140, rows.length * 34 + 50)}>
        <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }}>
          <CartesianGrid stroke={GRID} horizontal={false} />
          <XAxis type="number" tick={TICK} tickLine={false} axisLine={false} allowDecimals={false} tickFormatter={formatNumber} />
          <YAxis type="category" dataKey="step" tick={TICK} tickLine={false} axisLine={{ stroke: GRID }} width={110} />
          <Tooltip formatter={(value, name) => [formatNumber(Number(value)), String(name)]} cursor={{ fill: "rgba(79, 70, 229, 0.06)" }} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Bar dataKey="sent" name="Sent" stackId="s" fill={SENT} maxBarSize={18} isAnimationActive={false} />
          <Bar dataKey="failed" name="Failed" stackId="s" fill={FAILED} maxBarSize={18} isAnimationActive={false} />
          <Bar dataKey="skipped" name="Skipped" stackId="s" fill={SKIPPED} maxBarSize={18} isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
