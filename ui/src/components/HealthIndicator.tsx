import type { Health } from "../api/client";
import { errorMessage } from "../api/client";
import { useHealth } from "../api/queries";

export type HealthSummary = { tone: "ok" | "down" | "pending"; text: string; detail: string };

/** Turn a health answer (or the failure to get one) into one line for people. */
export function summarizeHealth(health: Health | undefined, error: unknown): HealthSummary {
  if (health) {
    const failing: string[] = [];
    if (!health.database.ok) failing.push("Database");
    if (!health.temporal.ok) failing.push("Temporal");
    const detail = [
      `Database: ${health.database.ok ? "ok" : "down"}${health.database.detail ? ` (${health.database.detail})` : ""}`,
      `Temporal: ${health.temporal.ok ? "ok" : "down"}${health.temporal.detail ? ` (${health.temporal.detail})` : ""}`,
      `Version ${health.version}`,
    ].join("\n");
    if (failing.length === 0 && health.status === "ok") return { tone: "ok", text: "All systems up", detail };
    const text = failing.length > 0 ? `${failing.join(" and ")} down` : "Degraded";
    return { tone: "down", text, detail };
  }
  if (error) return { tone: "down", text: "API unreachable", detail: errorMessage(error) };
  return { tone: "pending", text: "Checking…", detail: "Checking the services" };
}

/** A dot and a short status line, refreshed every 15 seconds. */
export function HealthIndicator() {
  const { data, error } = useHealth();
  // Prefer a fresh failure over stale good data.
  const summary = summarizeHealth(error ? undefined : data, error);
  return (
    <div className={`health health-${summary.tone}`} role="status" title={summary.detail} data-testid="health">
      <span className="health-dot" aria-hidden="true" />
      <span className="health-text">{summary.text}</span>
    </div>
  );
}
