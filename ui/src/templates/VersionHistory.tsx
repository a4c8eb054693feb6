import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, unwrap, type Template } from "../api/client";
import { Alert, ErrorAlert } from "../components/Alert";
import { formatDateTime } from "../format";
import { contentOf, type Channel } from "./model";
import { fieldDiffs, type DiffCell } from "./versionDiff";
import { useTemplateVersion, useTemplateVersions } from "./queries";

/**
 * Every saved version, newest first: pick two to compare them side by side, or roll back to one (which saves a new
 * version equal to it). `onRestored` gets the template as it is after the rollback.
 */
export function VersionHistory({
  template,
  canWrite,
  dirty,
  onRestored,
}: {
  template: Template;
  canWrite: boolean;
  dirty: boolean;
  onRestored: (template: Template) => void;
}) {
  const versions = useTemplateVersions(template.id);
  const [picked, setPicked] = useState<number[]>([]);
  const [restoredFrom, setRestoredFrom] = useState<number | null>(null);
  const rows = versions.data ?? [];

  const restore = useMutation({
    mutationFn: (number: number) =>
      unwrap(
        api.POST("/api/templates/{template_id}/versions/{number}/restore", {
          params: { path: { template_id: template.id, number } },
          body: {},
        }),
      ),
    onSuccess: (restored, number) => {
      setRestoredFrom(number);
      setPicked([]);
      onRestored(restored);
    },
  });

  // Keep the last two picks; compare the older against the newer.
  const toggle = (number: number) =>
    setPicked((old) => (old.includes(number) ? old.filter((n) => n !== number) : [...old, number].slice(-2)));
  const [older, newer] = [...picked].sort((a, b) => a - b);

  return (
    <section className="card card-table" aria-label="Version history">
      <div className="card-header">
        <h2>Version history</h2>
        <span className="muted small">{picked.length < 2 ? "Tick two versions to compare them." : `Comparing ${older} and ${newer}`}</span>
      </div>
      <div className="card-alerts">
        <ErrorAlert error={versions.error ?? restore.error} onDismiss={restore.error ? () => restore.reset() : undefined} />
        {restoredFrom !== null && restore.data && (
          <Alert tone="success" onDismiss={() => setRestoredFrom(null)}>
            Rolled back to version {restoredFrom}: saved as version {restore.data.version}.
          </Alert>
        )}
      </div>
      <div className="table-wrap">
        <table className="table table-compact">
          <thead>
            <tr>
              <th className="col-check">
                <span className="visually-hidden">Compare</span>
              </th>
              <th>Version</th>
              <th>Saved</th>
              <th>Note</th>
              {canWrite && <th />}
            </tr>
          </thead>
          <tbody>
            {(versions.isPending || rows.length === 0) && (
              <tr className="table-state">
                <td colSpan={canWrite ? 5 : 4}>{versions.isPending ? "Loading…" : "No versions yet."}</td>
              </tr>
            )}
            {rows.map((version) => {
              const current = version.number === template.version;
              return (
                <tr key={version.number} data-testid="version-row" data-version={version.number}>
                  <td className="col-check">
                    <input
                      type="checkbox"
                      aria-label={`Compare version ${version.number}`}
                      checked={picked.includes(version.number)}
                      onChange={() => toggle(version.number)}
                    />
                  </td>
                  <td className="nowrap strong">
                    {version.number}
                    {current && <span className="tag tag-self">current</span>}
                  </td>
                  <td className="nowrap">
                    {formatDateTime(version.created_at)}
                    <div className="muted small">{version.author || "—"}</div>
                  </td>
                  <td className="version-note">{version.note || <span className="muted">—</span>}</td>
                  {canWrite && (
                    <td className="num">
                      {!current && (
                        <button
                          type="button"
                          className="btn btn-secondary btn-sm nowrap"
                          disabled={restore.isPending}
                          onClick={() => {
                            const lose = dirty ? " Your unsaved changes are lost." : "";
                            if (window.confirm(`Roll back to version ${version.number}? This saves it as a new version.${lose}`)) {
                              restore.mutate(version.number);
                            }
                          }}
                        >
                          Roll back to this version
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {older !== undefined && newer !== undefined && (
        <VersionDiff templateId={template.id} channel={template.channel as Channel} older={older} newer={newer} />
      )}
    </section>
  );
}

/** Two versions side by side, field by field; unchanged fields are only named. */
function VersionDiff({ templateId, channel, older, newer }: { templateId: number; channel: Channel; older: number; newer: number }) {
  const a = useTemplateVersion(templateId, older);
  const b = useTemplateVersion(templateId, newer);
  if (a.error || b.error) return <ErrorAlert error={a.error ?? b.error} />;
  if (!a.data || !b.data) return <p className="muted card-note">Loading versions…</p>;
  const diffs = fieldDiffs(channel, contentOf(a.data), contentOf(b.data));
  const unchanged = diffs.filter((d) => !d.changed).map((d) => d.label);
  return (
    <div className="version-diff" data-testid="version-diff">
      {diffs
        .filter((d) => d.changed)
        .map((d) => (
          <div key={d.field} className="diff-field">
            <h3 className="section-title">{d.label}</h3>
            <table className="diff-table">
              <thead>
                <tr>
                  <th colSpan={2}>Version {older}</th>
                  <th colSpan={2}>Version {newer}</th>
                </tr>
              </thead>
              <tbody>
                {d.rows.map((row, index) => (
                  <tr key={index}>
                    <DiffCells cell={row.left} />
                    <DiffCells cell={row.right} />
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <p className="muted small">
        {unchanged.length === diffs.length ? "The two versions hold the same content." : unchanged.length > 0 ? `Unchanged: ${unchanged.join(", ")}.` : ""}
      </p>
    </div>
  );
}

function DiffCells({ cell }: { cell: DiffCell }) {
  const sign = cell.kind === "added" ? "+" : cell.kind === "removed" ? "−" : "";
  return (
    <>
      <td className={`diff-num diff-${cell.kind}`}>{cell.number ?? ""}</td>
      <td className={`diff-text diff-${cell.kind}`} data-kind={cell.kind}>
        {sign && <span className="visually-hidden">{cell.kind === "added" ? "added: " : "removed: "}</span>}
        {cell.text}
      </td>
    </>
  );
}
