import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type Me } from "../api/client";
import { queryKeys, usePermissionMatrix } from "../api/queries";
import { ROLES, can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { RoleBadge } from "../components/RoleBadge";
import { useSession, useSwitchWorkspace } from "../session";

export function Settings() {
  const me = useSession();
  const links = [
    can(me, "members:manage") && { to: "/settings/members", text: "Manage members", note: "who works here, with which role" },
    can(me, "api_keys:manage") && { to: "/settings/api-keys", text: "Manage API keys", note: "access for scripts and integrations" },
    can(me, "settings:manage") && { to: "/settings/secrets", text: "Manage secrets", note: "credentials automation webhooks send" },
    can(me, "audit:read") && { to: "/settings/audit", text: "Open the audit log", note: "who changed what, and when" },
    can(me, "settings:manage") && { to: "/settings/custom-fields", text: "Custom fields", note: "extra facts kept on every lead" },
    can(me, "settings:manage") && { to: "/settings/brand", text: "Brand guidelines", note: "colours, fonts, footer and words templates must respect" },
  ].filter((link) => link !== false);

  return (
    <>
      <PageHeader title="Settings" subtitle={`Workspace “${me.workspace.name}”`} />
      <div className="settings-grid">
        {can(me, "settings:manage") ? (
          <WorkspaceForm key={me.workspace.id} me={me} />
        ) : (
          <WorkspaceFacts me={me} />
        )}
        {links.length > 0 && (
          <section className="card" aria-label="Access">
            <h2 className="card-title">Access</h2>
            <ul className="link-list">
              {links.map((link) => (
                <li key={link.to}>
                  <Link to={link.to}>{link.text} →</Link>
                  <span className="muted"> {link.note}</span>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
      <RoleMatrix role={me.role} />
      <Workspaces me={me} />
    </>
  );
}

function WorkspaceFacts({ me }: { me: Me }) {
  return (
    <section className="card facts" aria-label="Workspace">
      <h2>Workspace</h2>
      <dl className="headers">
        <dt>Name</dt>
        <dd>{me.workspace.name}</dd>
        <dt>Slug</dt>
        <dd className="mono">{me.workspace.slug}</dd>
        <dt>Approval</dt>
        <dd>{me.workspace.requires_approval ? "Launches need a manager or admin" : "Not required to launch"}</dd>
        <dt>Lead pipeline</dt>
        <dd>{(me.workspace.lead_statuses ?? []).join(" → ") || "—"}</dd>
        <dt>Default region</dt>
        <dd className="mono">{me.workspace.default_region}</dd>
        <dt>Timezone</dt>
        <dd className="mono">{me.workspace.timezone}</dd>
        <dt>Your role</dt>
        <dd>
          <RoleBadge role={me.role} />
        </dd>
      </dl>
      <p className="muted card-note">Only admins change these settings.</p>
    </section>
  );
}

/** The IANA zones the browser knows, offered as suggestions (the API checks the name). */
const TIMEZONES: string[] = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

/** Name, approval, pipeline, region and timezone of the current workspace (admins). */
function WorkspaceForm({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(me.workspace.name);
  const [requiresApproval, setRequiresApproval] = useState(me.workspace.requires_approval);
  const savedStatuses = me.workspace.lead_statuses ?? [];
  const [statuses, setStatuses] = useState<string[]>(savedStatuses);
  const [region, setRegion] = useState(me.workspace.default_region);
  const [timezone, setTimezone] = useState(me.workspace.timezone);
  const cleanStatuses = statuses.map((s) => s.trim().toLowerCase()).filter(Boolean);
  const statusesChanged = cleanStatuses.join("\n") !== savedStatuses.join("\n");
  const regionChanged = region.trim().toUpperCase() !== me.workspace.default_region;
  const timezoneChanged = timezone.trim() !== me.workspace.timezone;
  const dirty =
    name.trim() !== me.workspace.name ||
    requiresApproval !== me.workspace.requires_approval ||
    statusesChanged ||
    regionChanged ||
    timezoneChanged;

  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/api/workspaces/current", {
          body: {
            ...(name.trim() !== me.workspace.name ? { name: name.trim() } : {}),
            ...(requiresApproval !== me.workspace.requires_approval ? { requires_approval: requiresApproval } : {}),
            ...(statusesChanged ? { lead_statuses: cleanStatuses } : {}),
            ...(regionChanged ? { default_region: region.trim().toUpperCase() } : {}),
            ...(timezoneChanged ? { timezone: timezone.trim() } : {}),
          },
        }),
      ),
    // The name shows in the switcher and approval decides who may launch: read the profile again.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.me }),
  });

  const badField = save.error instanceof ApiError ? save.error.field : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="Workspace settings">
      <div className="card-header">
        <h2>Workspace</h2>
        <span className="muted mono">{me.workspace.slug}</span>
      </div>
      <label className="field">
        <span className="field-label">Name</span>
        <input
          name="workspace_name"
          className={badField === "name" ? "input invalid" : "input"}
          value={name}
          onChange={(event) => setName(event.target.value)}
          maxLength={200}
          required
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          name="requires_approval"
          checked={requiresApproval}
          onChange={(event) => setRequiresApproval(event.target.checked)}
        />
        <span>
          <span className="strong">Require approval to launch</span>
          <span className="field-hint check-hint">
            Marketers can prepare campaigns but only managers and admins launch them.
          </span>
        </span>
      </label>
      <StatusesEditor statuses={statuses} onChange={setStatuses} invalid={badField === "lead_statuses"} />
      <label className="field">
        <span className="field-label">Default region</span>
        <input
          name="default_region"
          className={`${badField === "default_region" ? "input invalid" : "input"} input-region mono`}
          value={region}
          onChange={(event) => setRegion(event.target.value.toUpperCase())}
          pattern="[A-Za-z]{2}"
          maxLength={2}
          required
          title="Two letters, e.g. US, FR, GB"
        />
        <span className="field-hint">Country (ISO code) assumed for phone numbers written without +country.</span>
      </label>
      <label className="field">
        <span className="field-label">Timezone</span>
        <input
          name="timezone"
          className={`${badField === "timezone" ? "input invalid" : "input"} mono`}
          value={timezone}
          onChange={(event) => setTimezone(event.target.value)}
          list="workspace-timezones"
          maxLength={64}
          required
          title="An IANA name, e.g. Europe/Paris"
        />
        <datalist id="workspace-timezones">
          {TIMEZONES.map((zone) => (
            <option key={zone} value={zone} />
          ))}
        </datalist>
        <span className="field-hint">
          Of campaign schedules, waits and recurring automation triggers (their schedules move with it).
        </span>
      </label>
      <ErrorAlert error={save.error} />
      {save.isSuccess && !dirty && (
        <Alert tone="success" onDismiss={() => save.reset()}>
          Settings saved.
        </Alert>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={!dirty || save.isPending}>
          Save
        </button>
      </div>
    </form>
  );
}

/** The lead pipeline: statuses in order, renamed, moved, removed or added ("unsubscribed" is built in). */
function StatusesEditor({
  statuses,
  onChange,
  invalid,
}: {
  statuses: string[];
  onChange: (statuses: string[]) => void;
  invalid: boolean;
}) {
  const [draft, setDraft] = useState("");
  const move = (index: number, by: number) => {
    const next = [...statuses];
    const [item] = next.splice(index, 1);
    next.splice(index + by, 0, item ?? "");
    onChange(next);
  };
  const add = () => {
    const value = draft.trim().toLowerCase();
    if (!value || statuses.includes(value)) return;
    onChange([...statuses, value]);
    setDraft("");
  };
  return (
    <fieldset className={`field statuses ${invalid ? "invalid" : ""}`}>
      <legend className="field-label">Lead pipeline</legend>
      <ol className="status-list">
        {statuses.map((status, index) => (
          <li key={index} data-testid="status-row">
            <input
              className="input input-sm"
              aria-label={`Status ${index + 1}`}
              value={status}
              maxLength={32}
              onChange={(event) => onChange(statuses.map((s, i) => (i === index ? event.target.value : s)))}
            />
            <button type="button" className="btn btn-ghost btn-sm" aria-label={`Move ${status} up`} disabled={index === 0} onClick={() => move(index, -1)}>
              ↑
            </button>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              aria-label={`Move ${status} down`}
              disabled={index === statuses.length - 1}
              onClick={() => move(index, 1)}
            >
              ↓
            </button>
            <button
              type="button"
              className="btn btn-ghost btn-sm"
              aria-label={`Remove ${status}`}
              disabled={statuses.length <= 1}
              onClick={() => onChange(statuses.filter((_, i) => i !== index))}
            >
              ×
            </button>
          </li>
        ))}
      </ol>
      <div className="status-add">
        <input
          name="new_status"
          className="input input-sm"
          aria-label="New status"
          placeholder="new status"
          value={draft}
          maxLength={32}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter") {
              event.preventDefault();
              add();
            }
          }}
        />
        <button type="button" className="btn btn-secondary btn-sm" disabled={!draft.trim()} onClick={add}>
          Add status
        </button>
      </div>
      <span className="field-hint">Leads move through these in order; “unsubscribed” is built in.</span>
    </fieldset>
  );
}

const PERMISSION_ORDER = [
  "workspace:read",
  "leads:write",
  "lists:write",
  "templates:write",
  "media:write",
  "campaigns:write",
  "campaigns:launch",
  "campaigns:approve",
  "analytics:read",
  "audit:read",
  "members:manage",
  "api_keys:manage",
  "settings:manage",
];

/** Which role may do what, as the server defines it. */
function RoleMatrix({ role }: { role: string }) {
  const matrix = usePermissionMatrix();
  const roles = matrix.data ? ROLES.filter((r) => r in matrix.data.roles) : [];
  const known = new Set(Object.values(matrix.data?.roles ?? {}).flat());
  const permissions = [...PERMISSION_ORDER.filter((p) => known.has(p)), ...[...known].filter((p) => !PERMISSION_ORDER.includes(p)).sort()];
  return (
    <section className="card card-table" aria-label="Roles">
      <div className="card-header">
        <h2>Roles</h2>
      </div>
      <ErrorAlert error={matrix.error} />
      {matrix.isPending && <p className="muted card-note">Loading…</p>}
      {matrix.data && (
        <div className="table-wrap">
          <table className="table matrix">
            <thead>
              <tr>
                <th>Permission</th>
                {roles.map((r) => (
                  <th key={r} className={`center ${r === role ? "current-col" : ""}`}>
                    {r}
                    {r === role && " (you)"}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {permissions.map((permission) => (
                <tr key={permission}>
                  <td className="mono">{permission}</td>
                  {roles.map((r) => {
                    const granted = matrix.data.roles[r]?.includes(permission) ?? false;
                    return (
                      <td key={r} className={`center ${r === role ? "current-col" : ""}`}>
                        {granted ? <span className="granted" aria-label="yes">✓</span> : <span className="muted" aria-label="no">—</span>}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The caller's workspaces, and a form to create one (its creator becomes its admin). */
function Workspaces({ me }: { me: Me }) {
  const switchWorkspace = useSwitchWorkspace();
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: (workspaceName: string) => unwrap(api.POST("/api/workspaces", { body: { name: workspaceName } })),
    // Move into the new workspace at once: that is why one creates it.
    onSuccess: (workspace) => {
      setName("");
      switchWorkspace.mutate(workspace.id);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(name.trim());
  };
  const busy = create.isPending || switchWorkspace.isPending;

  return (
    <section className="card card-table" aria-label="Your workspaces">
      <div className="card-header">
        <h2>Your workspaces</h2>
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Your role</th>
              <th>Approval</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {me.workspaces.map((workspace) => (
              <tr key={workspace.id} data-testid="workspace-row">
                <td className="strong">{workspace.name}</td>
                <td>
                  <RoleBadge role={workspace.role} />
                </td>
                <td className="muted">{workspace.requires_approval ? "required" : "not required"}</td>
                <td className="num">
                  {workspace.id === me.workspace.id ? (
                    <span className="muted">current</span>
                  ) : (
                    <button
                      type="button"
                      className="btn btn-secondary btn-sm"
                      disabled={busy || me.user === null}
                      onClick={() => switchWorkspace.mutate(workspace.id)}
                    >
                      Switch
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {me.user && (
        <form className="inline-form" onSubmit={submit} aria-label="New workspace">
          <label className="field grow">
            <span className="field-label">New workspace</span>
            <input
              name="new_workspace"
              className="input"
              value={name}
              onChange={(event) => setName(event.target.value)}
              placeholder="Acme Europe"
              maxLength={200}
              required
            />
          </label>
          <button type="submit" className="btn btn-primary" disabled={busy || name.trim() === ""}>
            Create workspace
          </button>
        </form>
      )}
      <div className="card-alerts">
        <ErrorAlert error={create.error ?? switchWorkspace.error} />
      </div>
    </section>
  );
}
