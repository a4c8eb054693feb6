import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { AnalyticsOverview } from "../api/client";
import { formatNumber } from "../format";

const GRID = "#e4e7ee";
const TICK = { fontSize: 12, fill: "#5d6679" };

/** Messages sent, opens and clicks per day (recharts: loaded with the analytics page only). */
export default function TrendChart({ trend }: Pick<AnalyticsOverview, "trend">) {
  const rows = trend.map((d) => ({ ...d, day: d.day.slice(5) }));
  return (
    <figure className="chart chart-wide" aria-label="Messages, opens and clicks per day">
      <figcaption className="section-title">Per day</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={rows} margin={{ top: 8, right: 24, bottom: 4, left: 8 }}>
          <CartesianGrid stroke={GRID} vertical={false} />
          <XAxis dataKey="day" tick={TICK} tickLine={false} axisLine={{ stroke: GRID }} />
          <YAxis tick={TICK} tickLine={false} axisLine={false} allowDecimals={false} tickFormatter={formatNumber} />
          <Tooltip formatter={(value, name) => [formatNumber(Number(value)), String(name)]} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Line type="monotone" dataKey="sent" name="Sent" stroke="#8a92a3" dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="opens" name="Opens" stroke="#4f46e5" dot={false} isAnimationActive={false} />
          <Line type="monotone" dataKey="clicks" name="Clicks" stroke="#15803d" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
