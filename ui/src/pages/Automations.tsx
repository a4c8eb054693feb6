import { useState, type FormEvent } from "react";
import { Link, useNavigate } from "react-router-dom";
import { errorMessage } from "../api/client";
import type { Automation, AutomationSummary } from "../automations/api";
import { AutomationStatusBadge, versionLabel } from "../automations/AutomationStatus";
import { importDrafts } from "../automations/importDrafts";
import { untitledName } from "../automations/names";
import { useAutomations, useCreateAutomation } from "../automations/queries";
import { discardDraft, localDrafts, type LocalDraft } from "../automations/storage";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { TableState } from "../components/TableState";
import { formatDateTime, formatNumber } from "../format";
import { useCan, useSession } from "../session";

/** The workspace's automations: status, published version, journeys running and entered. Every member opens them
 * (read-only without campaigns:write); creating one and the browser's old drafts are for those who may write. */
export function Automations() {
  const canWrite = useCan("campaigns:write");
  const navigate = useNavigate();
  const automations = useAutomations();
  const rows = automations.data ?? [];
  const open = (id: number) => navigate(`/automations/${id}`);

  return (
    <>
      <PageHeader
        title="Automations"
        subtitle="Journeys that react to what leads do: a trigger, then conditions, actions and delays."
        actions={
          canWrite && (
            <button type="button" className="btn btn-primary" onClick={() => navigate("/automations/new")}>
              New automation
            </button>
          )
        }
      />
      <ErrorAlert error={automations.error} />
      {canWrite && automations.data && <LocalDrafts taken={rows.map((row) => row.name)} />}
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table table-clickable">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Published</th>
                <th className="num">Running</th>
                <th className="num">Entered</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              <TableState
                colSpan={6}
                loading={automations.isPending}
                empty={rows.length === 0}
                emptyText={canWrite ? "No automations yet. Create one with “New automation”." : "No automations yet."}
              />
              {rows.map((row) => (
                <AutomationRow key={row.id} row={row} onOpen={open} />
              ))}
            </tbody>
          </table>
        </div>
      </div>
      {!canWrite && (
        <p className="muted" data-testid="read-only-hint">
          Open an automation to see its graph and monitor its journeys. Building or changing automations needs the{" "}
          <code>campaigns:write</code> permission.
        </p>
      )}
    </>
  );
}

function AutomationRow({ row, onOpen }: { row: AutomationSummary; onOpen: (id: number) => void }) {
  return (
    <tr
      data-testid="automation-row"
      data-automation-id={row.id}
      tabIndex={0}
      onClick={() => onOpen(row.id)}
      onKeyDown={(event) => {
        if (event.key === "Enter") onOpen(row.id);
      }}
    >
      <td className="strong row-title">
        <Link to={`/automations/${row.id}`}>{row.name}</Link>
      </td>
      <td>
        <AutomationStatusBadge status={row.status} />
      </td>
      <td data-testid="automation-published">{versionLabel(row.published_version)}</td>
      <td className="num" data-testid="automation-running">
        {formatNumber(row.running)}
      </td>
      <td className="num" data-testid="automation-entered">
        {formatNumber(row.entered)}
      </td>
      <td className="nowrap">{formatDateTime(row.updated_at)}</td>
    </tr>
  );
}

/**
 * A draft the builder kept in this browser before automations were stored: import it (created as an automation of
 * its own) or drop it. Nothing is removed from the browser unless it was imported or dropped on purpose.
 */
function LocalDrafts({ taken }: { taken: readonly string[] }) {
  const me = useSession();
  const workspaceId = me.workspace.id;
  const [drafts, setDrafts] = useState<LocalDraft[]>(() => localDrafts(workspaceId));
  const [imported, setImported] = useState<Automation[]>([]);
  const [failure, setFailure] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const create = useCreateAutomation();

  if (drafts.length === 0 && imported.length === 0) return null;

  const importAll = async () => {
    setBusy(true);
    setFailure(null);
    const results = await importDrafts(drafts, taken, (name, graph) => create.mutateAsync({ name, graph }));
    setBusy(false);
    const done = results.flatMap((r) => ("automation" in r ? [r.automation] : []));
    const failed = results.flatMap((r) => ("error" in r ? [r] : []));
    if (failed.length === 0) discardDraft(workspaceId); // the browser kept one draft: it is imported
    setDrafts(failed.map((r) => r.draft));
    setImported(done);
    setFailure(failed[0]?.error ?? null);
  };

  const drop = () => {
    if (!window.confirm("Drop the draft kept in this browser? It is not stored anywhere else.")) return;
    discardDraft(workspaceId);
    setDrafts([]);
  };

  return (
    <div className="card" data-testid="local-drafts">
      {imported.length > 0 && (
        <Alert tone="success" onDismiss={() => setImported([])}>
          Imported:{" "}
          {imported.map((a, i) => (
            <span key={a.id}>
              {i > 0 && ", "}
              <Link to={`/automations/${a.id}`}>{a.name}</Link>
            </span>
          ))}
          .
        </Alert>
      )}
      {failure !== null && <Alert tone="error">Not imported: {errorMessage(failure)}</Alert>}
      {drafts.length > 0 && (
        <>
          <div className="card-header">
            <h2 className="card-title">Draft kept in this browser</h2>
          </div>
          <p className="muted">
            Before automations were saved, the builder kept a draft here. Import it as an automation, or drop it.
          </p>
          <ul>
            {drafts.map((draft, i) => (
              <li key={i} data-testid="local-draft">
                <strong>{draft.name.trim() || "Untitled"}</strong>{" "}
                <span className="muted">
                  · {draft.graph.nodes.length} nodes{draft.savedAt ? ` · edited ${formatDateTime(draft.savedAt)}` : ""}
                </span>
              </li>
            ))}
          </ul>
          <div className="form-actions">
            <button type="button" className="btn btn-secondary" disabled={busy} onClick={() => void importAll()}>
              {busy ? "Importing…" : "Import"}
            </button>
            <button type="button" className="btn btn-ghost" disabled={busy} onClick={drop}>
              Drop
            </button>
          </div>
        </>
      )}
    </div>
  );
}

/** /automations/new: a name (or "Untitled automation N"), then the automation is created and opened. */
export function NewAutomationPage() {
  const navigate = useNavigate();
  const automations = useAutomations();
  const create = useCreateAutomation();
  const [name, setName] = useState("");
  const placeholder = untitledName((automations.data ?? []).map((row) => row.name));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { name: name.trim() || placeholder },
      { onSuccess: (automation) => navigate(`/automations/${automation.id}`, { replace: true }) },
    );
  };

  return (
    <>
      <PageHeader
        title="New automation"
        subtitle={
          <Link to="/automations" className="back-link">
            ← Automations
          </Link>
        }
      />
      <form className="card form" aria-label="New automation" onSubmit={submit}>
        <label className="field">
          <span className="field-label">Name</span>
          <input
            name="name"
            className="input"
            value={name}
            maxLength={200}
            placeholder={placeholder}
            autoFocus
            onChange={(event) => {
              setName(event.target.value);
              if (create.isError) create.reset();
            }}
          />
          <span className="field-hint">Unique in the workspace. Left empty: “{placeholder}”.</span>
        </label>
        {create.error && (
          <p className="field-error" role="alert" data-testid="create-error">
            {errorMessage(create.error)}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={create.isPending || automations.isPending}>
            {create.isPending ? "Creating…" : "Create"}
          </button>
          <Link to="/automations" className="btn btn-ghost">
            Cancel
          </Link>
        </div>
      </form>
    </>
  );
}
