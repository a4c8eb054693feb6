import { useState } from "react";
import { ErrorAlert } from "../components/Alert";
import { Icon } from "../components/Icon";
import { Pagination } from "../components/Pagination";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import {
  describePeriod,
  describeTotals,
  formatInZone,
  inlineHtmlUrl,
  isRunActive,
  type ReportDefinition,
  type ReportOptions,
  type ReportRun,
} from "./model";
import { RUNS_PAGE, useReportRuns } from "./queries";

type Props = { definition: ReportDefinition; options: ReportOptions | undefined; onClose: () => void };

/** A report's runs, newest first: trigger, status, period, who got it, totals, and the files. Polls while a run is
 * queued or running. */
export function ReportRuns({ definition, options, onClose }: Props) {
  const [offset, setOffset] = useState(0);
  const runs = useReportRuns(definition.id, offset);
  const rows = runs.data?.items ?? [];
  const live = rows.some(isRunActive);

  return (
    <section className="card card-table" aria-label={`History of ${definition.name}`} data-testid="report-history">
      <div className="card-header report-history-header">
        <div>
          <h2>History: {definition.name}</h2>
          <span className="muted small">
            Every run, scheduled or by hand, with its files.
            {live && (
              <span className="live report-live">
                {" "}
                <span className="live-dot" /> updating
              </span>
            )}
          </span>
        </div>
        <button type="button" className="alert-dismiss" aria-label="Close the history" onClick={onClose}>
          <Icon name="close" size={16} />
        </button>
      </div>
      <ErrorAlert error={runs.error} />
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Run</th>
              <th>Status</th>
              <th>Period</th>
              <th>Mailed to</th>
              <th>Totals</th>
              <th>Files</th>
            </tr>
          </thead>
          <tbody>
            <TableState colSpan={6} loading={runs.isPending} empty={rows.length === 0} emptyText="No runs yet: use “Run now”, or wait for the schedule." />
            {rows.map((run) => (
              <RunRow key={run.id} run={run} timezone={run.timezone ?? definition.timezone} options={options} />
            ))}
          </tbody>
        </table>
      </div>
      {(runs.data?.total ?? 0) > RUNS_PAGE && (
        <Pagination offset={offset} limit={RUNS_PAGE} count={rows.length} total={runs.data?.total ?? 0} onChange={setOffset} busy={runs.isFetching} />
      )}
    </section>
  );
}

function RunRow({ run, timezone, options }: { run: ReportRun; timezone: string; options: ReportOptions | undefined }) {
  const failures = Object.entries(run.email_failures);
  return (
    <tr data-testid="report-run">
      <td className="nowrap">
        {formatInZone(run.run_at, timezone)}
        <div className="muted small">{run.trigger === "manual" ? "run by hand" : "scheduled"}</div>
      </td>
      <td>
        <StatusBadge status={run.status} testId="report-run-status" />
        {run.error && (
          <div className="field-error" data-testid="report-run-error">
            {run.error}
          </div>
        )}
      </td>
      <td className="nowrap">{describePeriod(run)}</td>
      <td data-testid="report-run-emailed">
        {run.emailed_to.length === 0 && failures.length === 0 ? (
          <span className="muted">{isRunActive(run) ? "not yet" : "nobody"}</span>
        ) : (
          <ul className="link-list report-recipients">
            {run.emailed_to.map((address) => (
              <li key={address}>{address}</li>
            ))}
            {failures.map(([address, reason]) => (
              <li key={address} className="field-error" title={reason}>
                {address}: refused ({reason})
              </li>
            ))}
          </ul>
        )}
      </td>
      <td className="small">
        {Object.keys(run.totals).length > 0 ? describeTotals(run, options?.metrics ?? []) : <span className="muted">—</span>}
        {run.campaign_count !== null && (
          <div className="muted">
            {run.campaign_count} campaign{run.campaign_count === 1 ? "" : "s"}
          </div>
        )}
      </td>
      <td className="nowrap">
        {run.csv_url || run.html_url ? (
          <span className="report-files">
            {run.csv_url && (
              <a href={run.csv_url} download data-testid="report-run-csv">
                CSV
              </a>
            )}
            {run.html_url && (
              <>
                <a href={run.html_url} download data-testid="report-run-html">
                  HTML
                </a>
                <a href={inlineHtmlUrl(run.html_url)} target="_blank" rel="noopener noreferrer" data-testid="report-run-view">
                  View <Icon name="external" size={13} />
                </a>
              </>
            )}
          </span>
        ) : (
          <span className="muted">{isRunActive(run) ? "being written…" : "none"}</span>
        )}
      </td>
    </tr>
  );
}
