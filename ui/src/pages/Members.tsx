import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type Member, type MemberCreate, type MemberCreated, type Role } from "../api/client";
import { queryKeys, useMembers } from "../api/queries";
import { ROLES, ROLE_SUMMARY } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { SecretCallout } from "../components/SecretCallout";
import { TableState } from "../components/TableState";
import { formatDate } from "../format";
import { useSession } from "../session";
import { MIN_PASSWORD_LENGTH } from "./Account";

export function Members() {
  const me = useSession();
  const members = useMembers();
  const queryClient = useQueryClient();
  const [formOpen, setFormOpen] = useState(false);
  const [added, setAdded] = useState<MemberCreated | null>(null);
  const [rowError, setRowError] = useState<unknown>(null);
  const rows = members.data ?? [];

  const refresh = (userId: number) => {
    void queryClient.invalidateQueries({ queryKey: queryKeys.members });
    // Our own role decides what we see: read the profile again after changing it.
    if (userId === me.user?.id) void queryClient.invalidateQueries({ queryKey: queryKeys.me });
  };

  const changeRole = useMutation({
    mutationFn: ({ member, role }: { member: Member; role: Role }) =>
      unwrap(api.PATCH("/api/members/{user_id}", { params: { path: { user_id: member.user_id } }, body: { role } })),
    onMutate: ({ member, role }) => {
      setRowError(null);
      // Show the new role at once; a refusal (e.g. the last admin) puts the old one back.
      queryClient.setQueryData<Member[]>(queryKeys.members, (old) =>
        old?.map((m) => (m.user_id === member.user_id ? { ...m, role } : m)),
      );
    },
    onSuccess: (_data, { member }) => refresh(member.user_id),
    onError: (error, { member }) => {
      setRowError(error);
      refresh(member.user_id);
    },
  });

  const remove = useMutation({
    mutationFn: (member: Member) =>
      unwrap(api.DELETE("/api/members/{user_id}", { params: { path: { user_id: member.user_id } } })),
    onMutate: () => setRowError(null),
    onSuccess: (_data, member) => refresh(member.user_id),
    onError: setRowError,
  });

  const onRoleChange = (member: Member, role: Role) => {
    if (member.user_id === me.user?.id && role !== "admin") {
      if (!window.confirm(`Make yourself ${role}? You will no longer manage members of ${me.workspace.name}.`)) return;
    }
    changeRole.mutate({ member, role });
  };

  const onRemove = (member: Member) => {
    const self = member.user_id === me.user?.id;
    const question = self
      ? `Leave ${me.workspace.name}? You will lose access to it.`
      : `Remove ${member.email} from ${me.workspace.name}? Their account stays; they lose access to this workspace.`;
    if (window.confirm(question)) remove.mutate(member);
  };

  const busy = changeRole.isPending || remove.isPending;

  return (
    <>
      <PageHeader
        title="Members"
        subtitle={`People who can sign in to ${me.workspace.name}, and their roles.`}
        actions={
          !formOpen && (
            <button type="button" className="btn btn-primary" onClick={() => setFormOpen(true)}>
              Add member
            </button>
          )
        }
      />
      {added?.temporary_password && (
        <SecretCallout
          title={`Temporary password for ${added.member.email}`}
          value={added.temporary_password}
          testId="temporary-password"
          onDismiss={() => setAdded(null)}
        >
          Copy it now: it will not be shown again. Pass it on privately; they should change it after signing in.
        </SecretCallout>
      )}
      {added && !added.temporary_password && (
        <Alert tone="success" onDismiss={() => setAdded(null)}>
          {added.member.email} was added as {added.member.role}.
        </Alert>
      )}
      {formOpen && (
        <AddMemberForm
          onCancel={() => setFormOpen(false)}
          onAdded={(result) => {
            setAdded(result);
            setFormOpen(false);
          }}
        />
      )}
      <ErrorAlert error={members.error} />
      <ErrorAlert error={rowError} onDismiss={() => setRowError(null)} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Role</th>
                <th>Added</th>
                <th />
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={5} loading={members.isPending} empty={rows.length === 0} emptyText="No members." />
              {rows.map((member) => (
                <tr key={member.user_id} data-testid="member-row">
                  <td className="strong">
                    {member.name || <span className="muted">—</span>}
                    {member.user_id === me.user?.id && <span className="tag tag-self">you</span>}
                  </td>
                  <td>{member.email}</td>
                  <td>
                    <select
                      className="input input-sm"
                      aria-label={`Role of ${member.email}`}
                      value={member.role}
                      disabled={busy}
                      onChange={(event) => onRoleChange(member, event.target.value as Role)}
                    >
                      {ROLES.map((role) => (
                        <option key={role} value={role}>
                          {role}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td className="nowrap">{formatDate(member.created_at)}</td>
                  <td className="num">
                    <button type="button" className="btn btn-danger btn-sm" disabled={busy} onClick={() => onRemove(member)}>
                      Remove
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

/** Email, name, role and an optional password; without one the server makes a temporary password. */
function AddMemberForm({ onCancel, onAdded }: { onCancel: () => void; onAdded: (result: MemberCreated) => void }) {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("marketer");
  const [password, setPassword] = useState("");

  const add = useMutation({
    mutationFn: (body: MemberCreate) => unwrap(api.POST("/api/members", { body })),
    onSuccess: (result) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.members });
      onAdded(result);
    },
  });

  const badField = add.error instanceof ApiError ? add.error.field : null;
  const fieldClass = (field: string) => (badField === field ? "input invalid" : "input");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate({ email: email.trim(), name: name.trim(), role, ...(password ? { password } : {}) });
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="Add member">
      <div className="card-header">
        <h2>Add member</h2>
      </div>
      <div className="form-grid form-grid-4">
        <label className="field">
          <span className="field-label">Email</span>
          <input
            name="email"
            type="email"
            className={fieldClass("email")}
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            autoComplete="off"
            required
            autoFocus
          />
        </label>
        <label className="field">
          <span className="field-label">Name</span>
          <input
            name="name"
            className={fieldClass("name")}
            value={name}
            onChange={(event) => setName(event.target.value)}
            maxLength={200}
            autoComplete="off"
          />
        </label>
        <label className="field">
          <span className="field-label">Role</span>
          <select name="role" className={fieldClass("role")} value={role} onChange={(event) => setRole(event.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <span className="field-hint">{ROLE_SUMMARY[role]}</span>
        </label>
        <label className="field">
          <span className="field-label">Password (optional)</span>
          <input
            name="password"
            type="password"
            className={fieldClass("password")}
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            minLength={MIN_PASSWORD_LENGTH}
            autoComplete="new-password"
          />
          <span className="field-hint">For a new user. Leave empty to get a temporary password.</span>
        </label>
      </div>
      <ErrorAlert error={add.error} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={add.isPending}>
          Add member
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={add.isPending}>
          Discard
        </button>
      </div>
    </form>
  );
}
