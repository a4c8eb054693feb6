import { ErrorAlert } from "../components/Alert";
import { countBySeverity, fieldLabel, problemLocation, sortProblems, type Channel, type Problem } from "./model";

/** Brand and template problems of what the editor holds, refreshed as one types; a click goes to the field. */
export function ProblemsPanel({
  channel,
  problems,
  checking,
  error,
  onFocusField,
}: {
  channel: Channel;
  problems: readonly Problem[] | undefined;
  checking: boolean;
  error: unknown;
  onFocusField: (field: string) => void;
}) {
  const sorted = sortProblems(problems ?? []);
  const { errors, warnings } = countBySeverity(sorted);
  return (
    <section className={`card problems ${checking ? "is-stale" : ""}`} aria-label="Problems" aria-busy={checking}>
      <div className="card-header">
        <h2>
          Problems
          {problems && (
            <span className="muted small" data-testid="problem-count">
              {errors} error{errors === 1 ? "" : "s"} · {warnings} warning{warnings === 1 ? "" : "s"}
            </span>
          )}
        </h2>
        {checking && <span className="muted small">Checking…</span>}
      </div>
      <ErrorAlert error={error} />
      {problems && sorted.length === 0 && <p className="muted problems-none">No problems: brand rules and tokens are fine.</p>}
      {sorted.length > 0 && (
        <ul className="problem-list">
          {sorted.map((problem, index) => (
            <li key={`${problem.rule}-${problem.field}-${index}`} className={`problem problem-${problem.severity}`} data-testid="problem-row">
              <span className={`badge badge-${problem.severity === "error" ? "failed" : "paused"}`}>{problem.severity}</span>
              <span className="problem-text">
                <span>{problem.message}</span>
                <button type="button" className="link-button small" onClick={() => onFocusField(problem.field)}>
                  {fieldLabel(problem.field, channel)}
                  {problemLocation(problem) && `, ${problemLocation(problem)}`}
                </button>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
