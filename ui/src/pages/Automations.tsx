import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { can } from "../auth";
import { discardDraft, loadDraft } from "../automations/storage";
import { PageHeader } from "../components/PageHeader";
import { formatDateTime } from "../format";
import { useSession } from "../session";

/**
 * The automations of the workspace. None can be saved yet (the automations API comes next): the page says so and
 * offers the builder, which keeps one draft per workspace in this browser.
 */
export function Automations() {
  const me = useSession();
  const navigate = useNavigate();
  const canWrite = can(me, "campaigns:write");
  const [draft, setDraft] = useState(() => loadDraft(me.workspace.id));
  const draftOfWorkspace = draft && canWrite ? draft : null;

  return (
    <>
      <PageHeader
        title="Automations"
        subtitle="Journeys that react to what leads do: a trigger, then conditions, actions and delays."
        actions={
          canWrite && (
            <button type="button" className="btn btn-primary" onClick={() => navigate("/automations/new")}>
              {draftOfWorkspace ? "Continue the draft" : "New automation"}
            </button>
          )
        }
      />
      <div className="card">
        <p>No automations yet.</p>
        <p className="muted">
          Saving and publishing arrive with the automations API. Meanwhile the builder checks a draft against this
          workspace (templates, lists, members, fields) as you build, and keeps it in this browser.
        </p>
        {!canWrite && (
          <p className="muted">
            Building automations needs the <code>campaigns:write</code> permission; your role is <strong>{me.role}</strong>.
          </p>
        )}
      </div>
      {draftOfWorkspace && (
        <div className="card" data-testid="local-draft">
          <div className="card-header">
            <h2 className="card-title">Draft in this browser</h2>
          </div>
          <p>
            <Link to="/automations/new" className="strong">
              {draftOfWorkspace.name}
            </Link>{" "}
            <span className="muted">
              · {draftOfWorkspace.graph.nodes.length} nodes · edited {formatDateTime(draftOfWorkspace.savedAt)}
            </span>
          </p>
          <div className="form-actions">
            <Link to="/automations/new" className="btn btn-secondary">
              Continue
            </Link>
            <button
              type="button"
              className="btn btn-ghost"
              onClick={() => {
                discardDraft(me.workspace.id);
                setDraft(null);
              }}
            >
              Discard the draft
            </button>
          </div>
        </div>
      )}
    </>
  );
}
