import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ListStats } from "../api/client";
import { formatNumber } from "../format";

const PRIMARY = "#4f46e5";
const GRID = "#e4e7ee";
const TICK = { fontSize: 12, fill: "#5d6679" };

/** By-status and by-country bars, and the list's size day by day (recharts: loaded with the list page only). */
export default function ListCharts({ stats }: { stats: ListStats }) {
  return (
    <div className="chart-grid">
      <figure className="chart" aria-label="Members by status">
        <figcaption className="section-title">By status</figcaption>
        <Bars rows={stats.by_status} />
      </figure>
      <figure className="chart" aria-label="Members by country">
        <figcaption className="section-title">By country</figcaption>
        <Bars rows={stats.by_country} />
      </figure>
      <figure className="chart chart-wide" aria-label="Size over time">
        <figcaption className="section-title">Size over time</figcaption>
        {stats.history.length === 0 ? (
          <p className="muted chart-empty" data-testid="history-empty">
            History starts tomorrow: sizes are recorded daily.
          </p>
        ) : (
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={stats.history} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
              <CartesianGrid stroke={GRID} vertical={false} />
              <XAxis dataKey="day" tick={TICK} tickLine={false} axisLine={{ stroke: GRID }} />
              <YAxis tick={TICK} tickLine={false} axisLine={false} allowDecimals={false} width={48} tickFormatter={formatNumber} />
              <Tooltip formatter={(value) => [formatNumber(Number(value)), "Size"]} />
              <Line type="monotone" dataKey="size" stroke={PRIMARY} strokeWidth={2} dot={stats.history.length < 40} />
            </LineChart>
          </ResponsiveContainer>
        )}
      </figure>
    </div>
  );
}

function Bars({ rows }: { rows: { key: string; count: number }[] }) {
  if (rows.length === 0) return <p className="muted chart-empty">Nobody to count.</p>;
  return (
    <ResponsiveContainer width="100%" height={Math.max(160, rows.length * 26 + 30)}>
      <BarChart data={rows} layout="vertical" margin={{ top: 4, right: 24, bottom: 4, left: 8 }}>
        <CartesianGrid stroke={GRID} horizontal={false} />
        <XAxis type="number" tick={TICK} tickLine={false} axisLine={false} allowDecimals={false} tickFormatter={formatNumber} />
        <YAxis type="category" dataKey="key" tick={TICK} tickLine={false} axisLine={{ stroke: GRID }} width={96} />
        <Tooltip formatter={(value) => [formatNumber(Number(value)), "Leads"]} cursor={{ fill: "rgba(79, 70, 229, 0.06)" }} />
        <Bar dataKey="count" fill={PRIMARY} radius={[0, 4, 4, 0]} maxBarSize={18} />
      </BarChart>
    </ResponsiveContainer>
  );
}
