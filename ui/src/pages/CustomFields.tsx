import { useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type CustomField, type CustomFieldCreate } from "../api/client";
import { queryKeys, useCustomFields } from "../api/queries";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { TableState } from "../components/TableState";
import { splitList } from "../filters/model";
import { formatDate } from "../format";
import { Options } from "../components/Options";

export const FIELD_TYPES: { value: CustomFieldCreate["type"]; label: string }[] = [
  { value: "text", label: "Text" },
  { value: "number", label: "Number" },
  { value: "date", label: "Date" },
  { value: "boolean", label: "Yes / no" },
  { value: "choice", label: "Choice" },
];

/** "Plan tier" -> "plan_tier": the key the API wants (lower_snake_case), suggested from the label. */
export function keyFromLabel(label: string): string {
  return label
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^[^a-z]+|_+$/g, "")
    .slice(0, 64)
    .replace(/_+$/, "");
}

export function CustomFields() {
  const fields = useCustomFields();
  const queryClient = useQueryClient();
  const [formOpen, setFormOpen] = useState(false);
  const [created, setCreated] = useState<CustomField | null>(null);
  const rows = fields.data ?? [];

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: queryKeys.customFields });
    // The filter builder offers custom fields as custom.<key>.
    void queryClient.invalidateQueries({ queryKey: queryKeys.leadFields });
  };

  const remove = useMutation({
    mutationFn: (field: CustomField) =>
      unwrap(api.DELETE("/api/custom-fields/{field_id}", { params: { path: { field_id: field.id } } })),
    onMutate: () => setCreated(null),
    onSuccess: refresh,
  });

  return (
    <>
      <PageHeader
        title="Custom fields"
        subtitle="Extra facts kept on every lead, editable on the lead's page and usable in filters as custom.<key>."
        actions={
          !formOpen && (
            <button type="button" className="btn btn-primary" onClick={() => setFormOpen(true)}>
              New field
            </button>
          )
        }
      />
      {created && (
        <Alert tone="success" onDismiss={() => setCreated(null)}>
          Field “{created.label}” created; filters know it as <code>custom.{created.key}</code>.
        </Alert>
      )}
      {formOpen && (
        <NewFieldForm
          onCancel={() => setFormOpen(false)}
          onCreated={(field) => {
            setCreated(field);
            setFormOpen(false);
            refresh();
          }}
        />
      )}
      <ErrorAlert error={fields.error} />
      <ErrorAlert error={remove.error} onDismiss={() => remove.reset()} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Label</th>
                <th>Key</th>
                <th>Type</th>
                <th>Choices</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={6} loading={fields.isPending} empty={rows.length === 0} emptyText="No custom fields yet." />
              {rows.map((field) => (
                <tr key={field.id} data-testid="custom-field-row">
                  <td className="strong">{field.label}</td>
                  <td className="mono">{field.key}</td>
                  <td>{FIELD_TYPES.find((t) => t.value === field.type)?.label ?? field.type}</td>
                  <td className="muted">{field.choices.length > 0 ? field.choices.join(", ") : "—"}</td>
                  <td className="nowrap">{formatDate(field.created_at)}</td>
                  <td className="num">
                    <button
                      type="button"
                      className="btn btn-danger btn-sm"
                      disabled={remove.isPending}
                      onClick={() => {
                        if (
                          window.confirm(
                            `Delete the field “${field.label}”? Filters and lists using custom.${field.key} stop working.`,
                          )
                        ) {
                          remove.mutate(field);
                        }
                      }}
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

function NewFieldForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (field: CustomField) => void }) {
  const [label, setLabel] = useState("");
  const [key, setKey] = useState("");
  const [keyEdited, setKeyEdited] = useState(false);
  const [type, setType] = useState<CustomFieldCreate["type"]>("text");
  const [choices, setChoices] = useState("");
  const create = useMutation({
    mutationFn: (body: CustomFieldCreate) => unwrap(api.POST("/api/custom-fields", { body })),
    onSuccess: onCreated,
  });
  const effectiveKey = keyEdited ? key : keyFromLabel(label);
  const badField = create.error instanceof ApiError ? create.error.field : null;
  const cls = (field: string) => (badField === field || badField?.startsWith(`${field}[`) ? "input invalid" : "input");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ key: effectiveKey, label: label.trim(), type, choices: type === "choice" ? splitList(choices) : [] });
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="New custom field">
      <div className="card-header">
        <h2>New field</h2>
      </div>
      <div className="form-grid form-grid-4">
        <label className="field">
          <span className="field-label">Label</span>
          <input
            name="label"
            className={cls("label")}
            value={label}
            onChange={(event) => setLabel(event.target.value)}
            maxLength={200}
            required
            autoFocus
          />
        </label>
        <label className="field">
          <span className="field-label">Key</span>
          <input
            name="key"
            className={`${cls("key")} mono`}
            value={effectiveKey}
            onChange={(event) => {
              setKeyEdited(true);
              setKey(event.target.value);
            }}
            pattern="[a-z][a-z0-9_]*"
            title="lower_snake_case: a small letter, then small letters, digits and underscores"
            maxLength={64}
            required
          />
          <span className="field-hint">lower_snake_case; cannot change later</span>
        </label>
        <label className="field">
          <span className="field-label">Type</span>
          <select name="type" className={cls("type")} value={type} onChange={(event) => setType(event.target.value as CustomFieldCreate["type"])}>
            <Options items={FIELD_TYPES} />
          </select>
        </label>
        {type === "choice" && (
          <label className="field">
            <span className="field-label">Choices</span>
            <input
              name="choices"
              className={cls("choices")}
              value={choices}
              onChange={(event) => setChoices(event.target.value)}
              placeholder="bronze, silver, gold"
              required
            />
            <span className="field-hint">separated by commas</span>
          </label>
        )}
      </div>
      <ErrorAlert error={create.error} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          Create field
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={create.isPending}>
          Discard
        </button>
      </div>
    </form>
  );
}
