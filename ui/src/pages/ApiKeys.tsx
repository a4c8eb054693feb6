import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type ApiKey, type ApiKeyCreated, type Role } from "../api/client";
import { queryKeys, useApiKeys } from "../api/queries";
import { ROLES, ROLE_SUMMARY } from "../auth";
import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { RoleBadge } from "../components/RoleBadge";
import { SecretCallout } from "../components/SecretCallout";
import { TableState } from "../components/TableState";
import { formatDate, formatDateTime } from "../format";
import { useSession } from "../session";

export function ApiKeys() {
  const me = useSession();
  const keys = useApiKeys();
  const queryClient = useQueryClient();
  const [formOpen, setFormOpen] = useState(false);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const rows = keys.data ?? [];

  const revoke = useMutation({
    mutationFn: (key: ApiKey) => unwrap(api.DELETE("/api/api-keys/{key_id}", { params: { path: { key_id: key.id } } })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: queryKeys.apiKeys }),
  });

  const onRevoke = (key: ApiKey) => {
    if (window.confirm(`Revoke the API key “${key.name}” (${key.prefix}…)? Anything using it stops working at once.`)) {
      revoke.mutate(key);
    }
  };

  return (
    <>
      <PageHeader
        title="API keys"
        subtitle={`Keys for scripts and integrations; each acts in ${me.workspace.name} with its own role (send it as “Authorization: Bearer …”).`}
        actions={
          !formOpen && (
            <button
              type="button"
              className="btn btn-primary"
              onClick={() => {
                setCreated(null);
                setFormOpen(true);
              }}
            >
              New API key
            </button>
          )
        }
      />
      {created && (
        <SecretCallout
          title={`API key “${created.api_key.name}” created`}
          value={created.secret}
          testId="api-key-secret"
          onDismiss={() => setCreated(null)}
        >
          Copy it now: it will not be shown again.
        </SecretCallout>
      )}
      {formOpen && (
        <NewKeyForm
          onCancel={() => setFormOpen(false)}
          onCreated={(result) => {
            setCreated(result);
            setFormOpen(false);
          }}
        />
      )}
      <ErrorAlert error={keys.error} />
      <ErrorAlert error={revoke.error} onDismiss={() => revoke.reset()} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Role</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={7} loading={keys.isPending} empty={rows.length === 0} emptyText="No API keys yet." />
              {rows.map((key) => (
                <tr key={key.id} data-testid="api-key-row" className={key.revoked_at ? "row-revoked" : undefined}>
                  <td className="strong">{key.name}</td>
                  <td>
                    <code>{key.prefix}…</code>
                  </td>
                  <td>
                    <RoleBadge role={key.role} />
                  </td>
                  <td className="nowrap">
                    {formatDate(key.created_at)}
                    {key.created_by_email && <div className="muted small">by {key.created_by_email}</div>}
                  </td>
                  <td className="nowrap">{key.last_used_at ? formatDateTime(key.last_used_at) : <span className="muted">never</span>}</td>
                  <td className="nowrap">
                    {key.revoked_at ? (
                      <span className="muted">revoked {formatDate(key.revoked_at)}</span>
                    ) : (
                      <span className="key-active">active</span>
                    )}
                  </td>
                  <td className="num">
                    {!key.revoked_at && (
                      <button
                        type="button"
                        className="btn btn-danger btn-sm"
                        disabled={revoke.isPending}
                        onClick={() => onRevoke(key)}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}

function NewKeyForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (result: ApiKeyCreated) => void }) {
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");

  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/api-keys", { body: { name: name.trim(), role } })),
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.apiKeys });
      onCreated(result);
    },
  });

  const badField = create.error instanceof ApiError ? create.error.field : null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="New API key">
      <div className="card-header">
        <h2>New API key</h2>
      </div>
      <div className="form-grid">
        <label className="field">
          <span className="field-label">Name</span>
          <input
            name="name"
            className={badField === "name" ? "input invalid" : "input"}
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="CRM sync"
            maxLength={200}
            required
            autoFocus
            autoComplete="off"
          />
        </label>
        <label className="field">
          <span className="field-label">Role</span>
          <select
            name="role"
            className={badField === "role" ? "input invalid" : "input"}
            value={role}
            onChange={(event) => setRole(event.target.value as Role)}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <span className="field-hint">{ROLE_SUMMARY[role]}</span>
        </label>
      </div>
      <ErrorAlert error={create.error} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          Create API key
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={create.isPending}>
          Discard
        </button>
      </div>
    </form>
  );
}
