import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap } from "../api/client";
import { setMe } from "../api/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { RoleBadge } from "../components/RoleBadge";
import { useSession } from "../session";

export const MIN_PASSWORD_LENGTH = 10;

/** Who is signed in, and the password form. */
export function Account() {
  const me = useSession();
  return (
    <>
      <PageHeader title="Account" subtitle="Your profile and password." />
      <section className="card facts" aria-label="Profile">
        <h2>Profile</h2>
        <dl className="headers">
          <dt>Name</dt>
          <dd>{me.user?.name || <span className="muted">—</span>}</dd>
          <dt>Email</dt>
          <dd>{me.user?.email ?? <span className="muted">signed in with an API key</span>}</dd>
          <dt>Workspace</dt>
          <dd>{me.workspace.name}</dd>
          <dt>Role</dt>
          <dd>
            <RoleBadge role={me.role} />
          </dd>
        </dl>
      </section>
      {me.user && <ChangePassword />}
    </>
  );
}

function ChangePassword() {
  const queryClient = useQueryClient();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [mismatch, setMismatch] = useState(false);

  const change = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/auth/password", { body: { current_password: current, new_password: next } })),
    onSuccess: (me) => {
      // A new session (and CSRF token) replaces the old one.
      setMe(queryClient, me);
      setCurrent("");
      setNext("");
      setRepeat("");
    },
  });

  const error = change.error;
  const badField = error instanceof ApiError ? error.field : null;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (next !== repeat) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    change.mutate();
  };

  return (
    <form className="card form narrow-form" onSubmit={submit} aria-label="Change password">
      <div className="card-header">
        <h2>Change password</h2>
      </div>
      <label className="field">
        <span className="field-label">Current password</span>
        <input
          name="current_password"
          type="password"
          className={badField === "current_password" ? "input invalid" : "input"}
          value={current}
          onChange={(event) => setCurrent(event.target.value)}
          autoComplete="current-password"
          required
        />
      </label>
      <label className="field">
        <span className="field-label">New password</span>
        <input
          name="new_password"
          type="password"
          className={badField === "new_password" ? "input invalid" : "input"}
          value={next}
          onChange={(event) => setNext(event.target.value)}
          autoComplete="new-password"
          minLength={MIN_PASSWORD_LENGTH}
          required
        />
        <span className="field-hint">At least {MIN_PASSWORD_LENGTH} characters.</span>
      </label>
      <label className="field">
        <span className="field-label">Repeat the new password</span>
        <input
          name="repeat_password"
          type="password"
          className={mismatch ? "input invalid" : "input"}
          value={repeat}
          onChange={(event) => setRepeat(event.target.value)}
          autoComplete="new-password"
          required
        />
      </label>
      {mismatch && <Alert tone="error">The new passwords differ.</Alert>}
      <ErrorAlert error={error} />
      {change.isSuccess && (
        <Alert tone="success" onDismiss={() => change.reset()}>
          Password changed. Your other sessions were signed out.
        </Alert>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={change.isPending}>
          Change password
        </button>
      </div>
    </form>
  );
}
