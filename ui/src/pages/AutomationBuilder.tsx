import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { errorMessage } from "../api/client";
import { can } from "../auth";
import { automationControls } from "../automations/access";
import { publishProblems, type Automation, type AutomationVersionSummary } from "../automations/api";
import { AutomationStatusBadge } from "../automations/AutomationStatus";
import { AutomationBuilder } from "../automations/Builder";
import { changedElsewhere, readDraft } from "../automations/draft";
import { emptyGraph, type DraftGraph, type GraphProblem } from "../automations/model";
import { MonitorToggle, useMonitorMode } from "../automations/monitoring/MonitorMode";
import { MonitorPanel } from "../automations/monitoring/MonitorPanel";
import { SimulateToggle, useSimulateMode } from "../automations/simulator/SimulateMode";
import { SimulatorPanel } from "../automations/simulator/SimulatorPanel";
import { mergeProblems, pauseAction } from "../automations/publish";
import {
  saveAutomationDraft,
  useAutomation,
  useAutomationAction,
  useAutomationVersion,
  useDeleteAutomation,
  useGraphValidation,
  useRenameAutomation,
} from "../automations/queries";
import { DraftSaver, type SaverState } from "../automations/saver";
import { draftIsPublished, publishControl } from "../automations/upToDate";
import { VersionView } from "../automations/VersionView";
import { useDirectory } from "../campaigns/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { formatDateTime } from "../format";
import { useSession } from "../session";

/** The draft is saved this long after the last change (or at once with "Save", before publishing, on leaving). */
export const AUTOSAVE_DELAY_MS = 1000;

/**
 * /automations/:id: the builder on the automation's draft, saved as it changes; publish, pause, resume, delete.
 * A member who may only read (no campaigns:write) gets the same page read-only: the graph, its panels, the
 * published versions and Monitor, nothing to change.
 */
export function AutomationEditorPage() {
  const { id } = useParams();
  const me = useSession();
  const controls = automationControls((permission) => can(me, permission));
  const automationId = Number(id);
  const valid = Number.isInteger(automationId) && automationId > 0;
  const query = useAutomation(valid ? automationId : null);
  if (!valid) return <Missing message={`“${id ?? ""}” is not an automation.`} />;
  if (query.data && controls.edit) return <Editor key={automationId} loaded={query.data} />;
  if (query.data) return <Reader key={automationId} loaded={query.data} />;
  if (query.error) return <Missing message={errorMessage(query.error)} />;
  return <p className="muted">Loading…</p>;
}

function Missing({ message }: { message: string }) {
  return (
    <>
      <PageHeader title="Automation" subtitle={<BackLink />} />
      <Alert tone="error">{message}</Alert>
    </>
  );
}

function BackLink() {
  return (
    <Link to="/automations" className="back-link">
      ← Automations
    </Link>
  );
}

/** The problems the Publish button goes by: the live check's (undefined: none yet) and a refused publication's. */
function withRefused(live: readonly GraphProblem[] | undefined, refused: readonly GraphProblem[] | null) {
  return live === undefined ? undefined : mergeProblems(live, refused ?? undefined);
}

function Editor({ loaded }: { loaded: Automation }) {
  const id = loaded.id;
  const client = useQueryClient();
  const navigate = useNavigate();
  const current = useAutomation(id).data ?? loaded;

  // The builder starts on `start.graph`; a new key starts it again (a version copied in, the draft reloaded).
  const [start, setStart] = useState(() => ({ ...readDraft(loaded.draft), key: 0 }));
  const [graph, setGraph] = useState<DraftGraph>(() => start.graph ?? emptyGraph());
  const [refused, setRefused] = useState<GraphProblem[] | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [viewing, setViewing] = useState<number | null>(null);
  const monitor = useMonitorMode();
  const simulate = useSimulateMode();

  // The latest answer of our own requests: the cache holding a newer, other draft means it changed elsewhere.
  const known = useRef(loaded);
  const learn = useCallback((automation: Automation) => void (known.current = automation), []);
  const conflict = changedElsewhere(known.current, current);
  const conflictRef = useRef(conflict);
  conflictRef.current = conflict;
  const deleted = useRef(false);

  const [saver] = useState(
    () =>
      new DraftSaver<unknown>({
        initial: loaded.draft,
        delayMs: AUTOSAVE_DELAY_MS,
        save: async (draft) => {
          if (deleted.current) return;
          if (conflictRef.current) throw new Error("the draft was changed elsewhere: choose which one to keep");
          learn(await saveAutomationDraft(client, id, draft));
        },
      }),
  );
  const saveState = useSyncExternalStore(saver.subscribe, saver.getState);
  useEffect(() => () => saver.dispose(), [saver]);
  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      if (saver.dirty) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [saver]);

  const onChange = useCallback(
    (next: DraftGraph) => {
      setGraph(next);
      setRefused(null);
      saver.change(next);
    },
    [saver],
  );

  const restart = (next: DraftGraph) => {
    setStart((old) => ({ graph: next, errors: [], key: old.key + 1 }));
    setGraph(next);
    setRefused(null);
  };

  const validation = useGraphValidation(graph);
  const check = validation.query;
  const published = useAutomationVersion(id, current.published_version).data;
  const normalised = validation.current ? check.data?.graph : undefined;
  const upToDate = useMemo(() => draftIsPublished(normalised, published?.graph), [normalised, published]);
  const action = useAutomationAction(id);
  const rename = useRenameAutomation(id);
  const remove = useDeleteAutomation();
  const publish = publishControl({
    upToDate,
    status: current.status,
    publishedVersion: current.published_version,
    problems: withRefused(check.data?.problems ?? (saveState.status === "saved" ? current.problems : undefined), refused),
    save: saveState.status,
    busy: action.isPending,
  });
  const pause = pauseAction(current.status);

  const doPublish = async () => {
    setRefused(null);
    setNotice(null);
    action.reset();
    try {
      await saver.flush();
    } catch {
      return; // the save's error is on screen
    }
    action.mutate("publish", {
      onSuccess: (automation) => {
        learn(automation);
        setNotice(`Published version ${automation.published_version ?? ""}: new journeys enter it; running ones keep theirs.`);
      },
      onError: (error) => setRefused(publishProblems(error)),
    });
  };

  const doPause = (kind: "pause" | "resume") => {
    setNotice(null);
    action.mutate(kind, {
      onSuccess: (automation) => {
        learn(automation);
        setNotice(kind === "pause" ? "Paused: triggers start no journey; running journeys go on." : "Resumed: triggers start journeys again.");
      },
    });
  };

  const doDelete = () => {
    if (!window.confirm(`Delete “${current.name}”, its draft and its versions? This cannot be undone.`)) return;
    remove.mutate(id, {
      onSuccess: () => {
        deleted.current = true;
        navigate("/automations");
      },
    });
  };

  const copyVersion = (version: number, next: DraftGraph) => {
    if (!window.confirm(`Replace the draft with version ${version}? The changes made since are lost.`)) return;
    restart(next);
    saver.change(next);
    setViewing(null);
    setNotice(`The draft is now version ${version}'s graph.`);
  };

  const publisher = usePublisher();

  return (
    <>
      <PageHeader
        title={current.name}
        subtitle={<Meta current={current} />}
        actions={
          <>
            <SaveIndicator state={saveState} onSave={() => saver.retry()} />
            <span title={publish.reason ?? undefined} data-testid="publish-reason">
              <button
                type="button"
                className="btn btn-primary"
                disabled={publish.disabled}
                data-testid="publish"
                data-up-to-date={upToDate === undefined ? "unknown" : String(upToDate)}
                onClick={() => void doPublish()}
              >
                {publish.label}
              </button>
            </span>
            {pause && (
              <button type="button" className="btn btn-secondary" disabled={action.isPending} onClick={() => doPause(pause)}>
                {pause === "pause" ? "Pause" : "Resume"}
              </button>
            )}
            <MonitorToggle mode={monitor} />
            <SimulateToggle mode={simulate} />
            <button type="button" className="btn btn-ghost" disabled={remove.isPending} onClick={doDelete}>
              Delete
            </button>
          </>
        }
      />
      {conflict && (
        <div data-testid="draft-conflict">
          <Alert tone="error">
            <p>
              This draft was changed elsewhere ({formatDateTime(current.updated_at)}) since this page saved or loaded it.
              Your changes are kept here, not saved, until you choose.
            </p>
            <div className="form-actions">
              <button
                type="button"
                className="btn btn-secondary btn-sm"
                onClick={() => {
                  const theirs = readDraft(current.draft).graph ?? emptyGraph();
                  learn(current);
                  saver.reset(current.draft);
                  restart(theirs);
                }}
              >
                Load the other draft
              </button>
              <button
                type="button"
                className="btn btn-secondary btn-sm"
                onClick={() => {
                  learn(current);
                  saver.reset(current.draft);
                  saver.change(graph);
                }}
              >
                Keep mine (save over it)
              </button>
            </div>
          </Alert>
        </div>
      )}
      {notice && (
        <Alert tone="success" onDismiss={() => setNotice(null)}>
          <span data-testid="automation-notice">{notice}</span>
        </Alert>
      )}
      {action.error && (
        <div data-testid="action-error">
          <Alert tone="error" onDismiss={() => action.reset()}>
            {refused ? `Not published: ${errorMessage(action.error)}. The problems are shown on the nodes.` : errorMessage(action.error)}
          </Alert>
        </div>
      )}
      {remove.error && (
        <div data-testid="delete-error">
          <ErrorAlert error={remove.error} onDismiss={() => remove.reset()} />
        </div>
      )}
      <NameField current={current} rename={rename} onRenamed={learn} />
      {start.graph ? (
        <AutomationBuilder
          key={start.key}
          initialGraph={start.graph}
          onChange={onChange}
          fileName={`${slug(current.name) || "automation"}.json`}
          problems={refused ?? undefined}
          overlay={simulate.overlay ?? monitor.overlay}
          onSelectionChange={monitor.onSelectionChange}
        />
      ) : (
        <Alert tone="error">
          <p>The saved draft cannot be drawn: {start.errors.join("; ")}</p>
          <button type="button" className="btn btn-secondary btn-sm" onClick={() => restart(emptyGraph())}>
            Start from an empty graph
          </button>
        </Alert>
      )}
      {monitor.on && (
        <MonitorPanel automationId={id} nodes={graph.nodes} selectedNode={monitor.selectedNode} onOverlay={monitor.setOverlay} />
      )}
      {simulate.on && <SimulatorPanel automationId={id} graph={graph} onOverlay={simulate.setOverlay} />}
      <Versions
        versions={current.versions}
        published={current.published_version}
        viewing={viewing}
        onView={setViewing}
        publisher={publisher}
      />
      {viewing !== null && (
        <VersionView
          key={viewing}
          automationId={id}
          version={viewing}
          publisher={publisher}
          onClose={() => setViewing(null)}
          onCopy={(next) => copyVersion(viewing, next)}
        />
      )}
    </>
  );
}

/**
 * The page of a member who may only read: the draft drawn by the read-only builder (its stored problems on the
 * nodes), Monitor, the published versions. Nothing is saved; a draft changed elsewhere is drawn again when the
 * automation is read again.
 */
function Reader({ loaded }: { loaded: Automation }) {
  const id = loaded.id;
  const current = useAutomation(id).data ?? loaded;
  const start = useMemo(() => readDraft(current.draft), [current.draft]);
  const [graph, setGraph] = useState<DraftGraph>(() => start.graph ?? emptyGraph());
  const [viewing, setViewing] = useState<number | null>(null);
  const monitor = useMonitorMode();
  const publisher = usePublisher();

  return (
    <>
      <PageHeader title={current.name} subtitle={<Meta current={current} />} actions={<MonitorToggle mode={monitor} />} />
      <p className="muted small" data-testid="read-only-notice">
        Read-only: changing, publishing or pausing this automation needs the <code>campaigns:write</code> permission.
      </p>
      {start.graph ? (
        <AutomationBuilder
          key={current.updated_at}
          readOnly
          initialGraph={start.graph}
          onChange={setGraph}
          fileName={`${slug(current.name) || "automation"}.json`}
          problems={current.problems}
          overlay={monitor.overlay}
          onSelectionChange={monitor.onSelectionChange}
        />
      ) : (
        <Alert tone="error">The saved draft cannot be drawn: {start.errors.join("; ")}</Alert>
      )}
      {monitor.on && (
        <MonitorPanel automationId={id} nodes={graph.nodes} selectedNode={monitor.selectedNode} onOverlay={monitor.setOverlay} />
      )}
      <Versions versions={current.versions} published={current.published_version} viewing={viewing} onView={setViewing} publisher={publisher} />
      {viewing !== null && (
        <VersionView key={viewing} automationId={id} version={viewing} publisher={publisher} onClose={() => setViewing(null)} />
      )}
    </>
  );
}

/** Under the title: back to the list, the status, the published version. */
function Meta({ current }: { current: Automation }) {
  return (
    <span className="automation-editor-meta">
      <BackLink /> <AutomationStatusBadge status={current.status} />{" "}
      <span className="muted" data-testid="published-version">
        {current.published_version ? `Version ${current.published_version} published` : "Never published"}
      </span>
    </span>
  );
}

/** Whose id a version's `published_by` is: a member's name. */
function usePublisher() {
  const directory = useDirectory();
  return useCallback(
    (userId: number | null) => {
      if (userId === null) return "someone";
      const person = directory.data?.find((p) => p.user_id === userId);
      return person ? person.name || person.email : `user ${userId}`;
    },
    [directory.data],
  );
}

function SaveIndicator({ state, onSave }: { state: SaverState; onSave: () => void }) {
  const text = {
    saved: state.savedAt ? `Saved · ${formatDateTime(state.savedAt.toISOString())}` : "All changes saved",
    pending: "Unsaved changes",
    saving: "Saving…",
    failed: `Not saved: ${errorMessage(state.error)}`,
  }[state.status];
  return (
    <>
      <span
        className={`muted small automation-save automation-save-${state.status}`}
        data-testid="draft-saved"
        data-status={state.status}
        role={state.status === "failed" ? "alert" : "status"}
      >
        {text}
      </span>
      {(state.status === "pending" || state.status === "failed") && (
        <button type="button" className="btn btn-secondary" onClick={onSave}>
          {state.status === "failed" ? "Retry" : "Save"}
        </button>
      )}
    </>
  );
}

function NameField({
  current,
  rename,
  onRenamed,
}: {
  current: Automation;
  rename: ReturnType<typeof useRenameAutomation>;
  onRenamed: (automation: Automation) => void;
}) {
  const [name, setName] = useState(current.name);
  const commit = () => {
    const next = name.trim();
    if (!next) return setName(current.name);
    if (next === current.name) return;
    rename.mutate(next, {
      onSuccess: (automation) => {
        onRenamed(automation);
        setName(automation.name);
      },
    });
  };
  return (
    <label className="field automation-name">
      <span className="field-label">Name</span>
      <input
        name="name"
        className="input"
        value={name}
        maxLength={200}
        aria-invalid={rename.isError}
        onChange={(event) => {
          setName(event.target.value);
          if (rename.isError) rename.reset();
        }}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key === "Enter") commit();
          if (event.key === "Escape") setName(current.name);
        }}
      />
      {rename.error && (
        <span className="field-error" role="alert" data-testid="name-error">
          {errorMessage(rename.error)}
        </span>
      )}
    </label>
  );
}

function Versions({
  versions,
  published,
  viewing,
  onView,
  publisher,
}: {
  versions: readonly AutomationVersionSummary[];
  published: number | null;
  viewing: number | null;
  onView: (version: number | null) => void;
  publisher: (userId: number | null) => string;
}) {
  const rows = [...versions].sort((a, b) => b.version - a.version);
  return (
    <section className="card automation-versions" aria-label="Published versions" data-testid="automation-versions">
      <div className="card-header">
        <h2 className="card-title">Published versions</h2>
        <span className="muted small">New journeys enter the latest; a running journey keeps the version it entered.</span>
      </div>
      {rows.length === 0 ? (
        <p className="muted">Not published yet: the draft runs nothing.</p>
      ) : (
        <ul className="automation-version-list">
          {rows.map((v) => (
            <li key={v.version} data-testid="automation-version" data-version={v.version}>
              <strong>Version {v.version}</strong>
              {v.version === published && <span className="badge badge-running">live</span>}{" "}
              <span className="muted">
                · {formatDateTime(v.published_at)} · {publisher(v.published_by ?? null)}
              </span>{" "}
              <button
                type="button"
                className="btn btn-ghost btn-sm"
                aria-pressed={viewing === v.version}
                onClick={() => onView(viewing === v.version ? null : v.version)}
              >
                {viewing === v.version ? "Hide" : "View"}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60);
}
