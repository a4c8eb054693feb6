import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { AutomationBuilder } from "../automations/Builder";
import type { DraftGraph } from "../automations/model";
import { DEFAULT_NAME, loadDraft, newDraft, saveDraft } from "../automations/storage";
import { Alert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { formatDateTime } from "../format";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";

/** /automations/new: the builder on this workspace's unsaved draft (kept in this browser until the API exists). */
export function AutomationBuilderPage() {
  const me = useSession();
  // Another workspace has its own draft: switching workspace starts the builder again on it.
  return <DraftBuilder key={me.workspace.id} workspaceId={me.workspace.id} />;
}

function DraftBuilder({ workspaceId }: { workspaceId: number }) {
  const [initial] = useState(() => loadDraft(workspaceId) ?? newDraft());
  const [name, setName] = useState(initial.name);
  const [graph, setGraph] = useState<DraftGraph>(initial.graph);
  const [savedAt, setSavedAt] = useState(initial.savedAt);
  const [saveError, setSaveError] = useState<string | null>(null);
  const draft = useDebouncedValue({ name, graph }, 500);
  const first = useRef(true);

  useEffect(() => {
    if (first.current) {
      first.current = false; // opening the page saves nothing
      return;
    }
    saveDraft(workspaceId, { name: draft.name.trim() || DEFAULT_NAME, graph: draft.graph })
      .then((at) => {
        setSavedAt(at);
        setSaveError(null);
      })
      .catch((error: unknown) => setSaveError(error instanceof Error ? error.message : String(error)));
  }, [draft, workspaceId]);

  const onChange = useCallback((next: DraftGraph) => setGraph(next), []);

  return (
    <>
      <PageHeader
        title="New automation"
        subtitle={
          <>
            <Link to="/automations" className="back-link">
              ← Automations
            </Link>
          </>
        }
        actions={
          <span className="muted small" data-testid="draft-saved">
            {saveError ? `Not saved: ${saveError}` : savedAt ? `Draft kept in this browser · ${formatDateTime(savedAt)}` : "Not changed yet"}
          </span>
        }
      />
      <Alert tone="info">
        Saving and publishing arrive with the automations API. Until then this draft is kept in this browser (one per
        workspace), and every change is checked against the workspace as you build.
      </Alert>
      <label className="field automation-name">
        <span className="field-label">Name</span>
        <input
          name="name"
          className="input"
          value={name}
          maxLength={200}
          placeholder={DEFAULT_NAME}
          onChange={(event) => setName(event.target.value)}
        />
      </label>
      <AutomationBuilder initialGraph={initial.graph} onChange={onChange} fileName={`${slug(name) || "automation"}.json`} />
    </>
  );
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60);
}
