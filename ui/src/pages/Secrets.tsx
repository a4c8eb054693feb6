import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap } from "../api/client";
import type { components } from "../api/schema";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { TableState } from "../components/TableState";
import { formatDate, formatDateTime } from "../format";
import { MAX_SECRET_VALUE, lacksScheme, secretNameProblem, secretValueProblem } from "../secrets";

type Secret = components["schemas"]["SecretOut"];
const SECRETS_KEY = ["secrets"] as const;

/** The form's purpose: a new secret, or a new value for an existing one (its name fixed). */
type Editing = { kind: "new" } | { kind: "replace"; name: string };

export function Secrets() {
  const queryClient = useQueryClient();
  const secrets = useQuery({ queryKey: SECRETS_KEY, queryFn: () => unwrap(api.GET("/api/secrets")) });
  const [editing, setEditing] = useState<Editing | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const rows = secrets.data ?? [];

  const remove = useMutation({
    mutationFn: (name: string) => unwrap(api.DELETE("/api/secrets/{name}", { params: { path: { name } } })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: SECRETS_KEY }),
  });

  const onDelete = (secret: Secret) => {
    if (window.confirm(`Delete the secret “${secret.name}”? Webhooks that name it fail (and take their fallback).`)) {
      setSaved(null);
      remove.mutate(secret.name);
    }
  };

  const open = (next: Editing) => {
    setSaved(null);
    remove.reset();
    setEditing(next);
  };

  return (
    <>
      <PageHeader
        title="Secrets"
        subtitle="Credentials your automations’ webhooks send as their Authorization header: a “Call webhook” step names one instead of holding it. Values are stored encrypted and never shown again."
        actions={
          !editing && (
            <button type="button" className="btn btn-primary" onClick={() => open({ kind: "new" })}>
              New secret
            </button>
          )
        }
      />
      {saved && (
        <Alert tone="success" onDismiss={() => setSaved(null)}>
          Secret “{saved}” saved.
        </Alert>
      )}
      {editing && (
        <SecretForm
          key={editing.kind === "replace" ? editing.name : "new"}
          editing={editing}
          existing={rows.map((secret) => secret.name)}
          onCancel={() => setEditing(null)}
          onSaved={(name) => {
            setEditing(null);
            setSaved(name);
          }}
        />
      )}
      <ErrorAlert error={secrets.error} />
      <ErrorAlert error={remove.error} onDismiss={() => remove.reset()} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Created</th>
                <th>Value set</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={5} loading={secrets.isPending} empty={rows.length === 0} emptyText="No secrets yet." />
              {rows.map((secret) => (
                <tr key={secret.name} data-testid="secret-row">
                  <td className="strong">
                    <code>{secret.name}</code>
                  </td>
                  <td className="nowrap">
                    {formatDate(secret.created_at)}
                    {secret.created_by_email && <div className="muted small">by {secret.created_by_email}</div>}
                  </td>
                  <td className="nowrap">{formatDateTime(secret.updated_at)}</td>
                  <td className="nowrap">
                    {secret.last_used_at ? formatDateTime(secret.last_used_at) : <span className="muted">never</span>}
                  </td>
                  <td className="num nowrap">
                    <button
                      type="button"
                      className="btn btn-ghost btn-sm"
                      onClick={() => open({ kind: "replace", name: secret.name })}
                    >
                      Replace value
                    </button>{" "}
                    <button
                      type="button"
                      className="btn btn-danger btn-sm"
                      disabled={remove.isPending}
                      onClick={() => onDelete(secret)}
                    >
                      Delete
                    </button>
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

function SecretForm({
  editing,
  existing,
  onCancel,
  onSaved,
}: {
  editing: Editing;
  existing: string[];
  onCancel: () => void;
  onSaved: (name: string) => void;
}) {
  const queryClient = useQueryClient();
  const [name, setName] = useState(editing.kind === "replace" ? editing.name : "");
  const [value, setValue] = useState("");
  const [touched, setTouched] = useState(false);

  const save = useMutation({
    mutationFn: () => unwrap(api.PUT("/api/secrets/{name}", { params: { path: { name } }, body: { value } })),
    onSuccess: (secret) => {
      setValue("");
      void queryClient.invalidateQueries({ queryKey: SECRETS_KEY });
      onSaved(secret.name);
    },
  });

  const nameProblem = editing.kind === "new" ? secretNameProblem(name) : null;
  const valueProblem = secretValueProblem(value);
  const badField = save.error instanceof ApiError ? save.error.field : null;
  const replacing = editing.kind === "replace" || existing.includes(name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (nameProblem || valueProblem) return;
    save.mutate();
  };
  const title = editing.kind === "replace" ? `New value for “${editing.name}”` : "New secret";

  return (
    <form className="card form" onSubmit={submit} aria-label={title}>
      <div className="card-header">
        <h2>{title}</h2>
      </div>
      <div className="form-grid">
        {editing.kind === "new" && (
          <label className="field">
            <span className="field-label">Name</span>
            <input
              name="name"
              className={(touched && nameProblem) || badField === "name" ? "input invalid" : "input"}
              value={name}
              onChange={(event) => setName(event.target.value.trim())}
              placeholder="crm-token"
              maxLength={100}
              required
              autoFocus
              autoComplete="off"
              spellCheck={false}
            />
            {touched && nameProblem ? (
              <span className="field-error">{nameProblem}</span>
            ) : (
              <span className="field-hint">
                {existing.includes(name)
                  ? "A secret of this name exists: saving replaces its value."
                  : "What a webhook step names in its “Secret” setting."}
              </span>
            )}
          </label>
        )}
        <label className="field">
          <span className="field-label">Value</span>
          <input
            name="value"
            type="password"
            className={(touched && valueProblem) || badField === "value" ? "input invalid" : "input"}
            value={value}
            onChange={(event) => setValue(event.target.value)}
            placeholder="Bearer …"
            maxLength={MAX_SECRET_VALUE}
            required
            autoFocus={editing.kind === "replace"}
            autoComplete="new-password"
            spellCheck={false}
          />
          {touched && valueProblem ? (
            <span className="field-error">{valueProblem}</span>
          ) : (
            <span className="field-hint">
              {lacksScheme(value)
                ? "Sent exactly as typed: most APIs expect a scheme first, e.g. “Bearer xyz”."
                : "Sent exactly as typed as the Authorization header, e.g. “Bearer xyz” or “Basic …”."}
            </span>
          )}
        </label>
      </div>
      <ErrorAlert error={save.error} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {replacing ? "Save new value" : "Save secret"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={save.isPending}>
          Discard
        </button>
      </div>
    </form>
  );
}
