import { formatPercent } from "../format";

type Props = {
  percent: number;
  status?: string;
  label?: string;
  size?: "sm" | "lg";
};

/** A horizontal bar; `status` tints it (paused, failed, cancelled, completed). */
export function ProgressBar({ percent, status, label, size = "sm" }: Props) {
  const value = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
  return (
    <div
      className={`progress progress-${size} ${status ? `progress-${status}` : ""}`}
      role="progressbar"
      aria-label={label ?? "Progress"}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
      aria-valuetext={formatPercent(value)}
    >
      <div className="progress-fill" style={{ width: `${value}%` }} />
    </div>
  );
}
