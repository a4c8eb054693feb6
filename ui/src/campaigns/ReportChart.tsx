import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { CampaignReport } from "../api/client";
import { formatNumber } from "../format";

const GRID = "#e4e7ee";
const TICK = { fontSize: 12, fill: "#5d6679" };

function label(at: string, bucket: CampaignReport["bucket"]): string {
  // The API's buckets are already in the workspace's timezone, without an offset: show them as they are.
  return bucket === "hour" ? `${at.slice(5, 10)} ${at.slice(11, 16)}` : at.slice(0, 10);
}

/** Human opens and clicks per bucket (recharts: loaded with the report only). */
export default function ReportChart({ series, bucket }: Pick<CampaignReport, "series" | "bucket">) {
  const rows = series.map((p) => ({ at: label(p.at, bucket), opens: p.opens, clicks: p.clicks }));
  return (
    <figure className="chart chart-wide" aria-label="Opens and clicks over time">
      <figcaption className="section-title">Opens and clicks per {bucket}</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={rows} margin={{ top: 8, right: 24, bottom: 4, left: 8 }}>
          <CartesianGrid stroke={GRID} vertical={false} />
          <XAxis dataKey="at" tick={TICK} tickLine={false} axisLine={{ stroke: GRID }} />
          <YAxis tick={TICK} tickLine={false} axisLine={false} allowDecimals={false} tickFormatter={formatNumber} />
          <Tooltip formatter={(value, name) => [formatNumber(Number(value)), String(name)]} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Line type="monotone" dataKey="opens" name="Opens" stroke="#4f46e5" dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="clicks" name="Clicks" stroke="#15803d" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
