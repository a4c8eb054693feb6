import { useMemo, useState, type ReactNode } from "react";
import type { RuleGroupType } from "react-querybuilder";
import { useCampaigns, useCustomFields, useLeadFields, useLists } from "../api/queries";
import { useDirectory } from "../campaigns/queries";
import { Options } from "../components/Options";
import { FilterBuilder } from "../filters/LazyFilterBuilder";
import { errorTarget, fieldMap, prepareFilter, toQuery } from "../filters/model";
import { WEEKDAYS } from "./catalogue";
import { isRecord, type DraftNode, type GraphProblem, type Json } from "./model";
import { hasError, problemsAt } from "./problems";

/**
 * The small editors the node panel is made of. Each takes the JSON value it edits and gives back the new one
 * (`undefined`: remove the key, so that the API says what is missing). `invalid` outlines the input.
 */

/** A labelled setting. Its problems are listed at the top of the panel; the input itself is outlined (`invalid`). */
export function Field({ label, hint, children }: { label: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="field-hint">{hint}</span>}
    </label>
  );
}

const cls = (invalid?: boolean) => `input ${invalid ? "invalid" : ""}`;

export function TextInput({
  label,
  value,
  onChange,
  invalid,
  placeholder,
  multiline,
  maxLength,
  list,
}: {
  label: string;
  value: unknown;
  onChange: (value: string) => void;
  invalid?: boolean;
  placeholder?: string;
  multiline?: boolean;
  maxLength?: number;
  /** The id of a <datalist> of suggestions (single line only). */
  list?: string;
}) {
  const text = typeof value === "string" ? value : value === undefined || value === null ? "" : JSON.stringify(value);
  return multiline ? (
    <textarea
      className={cls(invalid)}
      aria-label={label}
      aria-invalid={invalid}
      rows={4}
      value={text}
      placeholder={placeholder}
      maxLength={maxLength}
      onChange={(event) => onChange(event.target.value)}
    />
  ) : (
    <input
      className={cls(invalid)}
      aria-label={label}
      aria-invalid={invalid}
      value={text}
      placeholder={placeholder}
      maxLength={maxLength}
      list={list}
      onChange={(event) => onChange(event.target.value)}
    />
  );
}

/** A whole number; empty gives `undefined`. */
export function NumberInput({
  label,
  value,
  onChange,
  invalid,
  min,
  max,
}: {
  label: string;
  value: unknown;
  onChange: (value: number | undefined) => void;
  invalid?: boolean;
  min?: number;
  max?: number;
}) {
  return (
    <input
      type="number"
      className={cls(invalid)}
      aria-label={label}
      aria-invalid={invalid}
      min={min}
      max={max}
      step={1}
      value={typeof value === "number" ? value : ""}
      onChange={(event) => onChange(event.target.value === "" ? undefined : Number(event.target.value))}
    />
  );
}

export function TimeInput({ label, value, onChange, invalid }: { label: string; value: unknown; onChange: (value: string) => void; invalid?: boolean }) {
  return (
    <input
      type="time"
      className={cls(invalid)}
      aria-label={label}
      aria-invalid={invalid}
      value={typeof value === "string" ? value : ""}
      onChange={(event) => onChange(event.target.value)}
    />
  );
}

export function Choice<T extends string>({
  label,
  value,
  items,
  onChange,
  invalid,
  placeholder,
}: {
  label: string;
  value: unknown;
  items: readonly { value: T; label: string }[];
  onChange: (value: T) => void;
  invalid?: boolean;
  placeholder?: string;
}) {
  const current = typeof value === "string" ? value : "";
  const known = current === "" || items.some((item) => item.value === current);
  return (
    <select className={cls(invalid)} aria-label={label} aria-invalid={invalid} value={current} onChange={(event) => onChange(event.target.value as T)}>
      {(placeholder !== undefined || current === "") && (
        <option value="" disabled>
          {placeholder ?? "Choose…"}
        </option>
      )}
      {!known && <option value={current}>{current} (unknown)</option>}
      <Options items={items} />
    </select>
  );
}

/** An id among `items`; `null` allowed when `none` names it ("Any campaign"). */
export function IdSelect({
  label,
  value,
  items,
  onChange,
  invalid,
  none,
  loading,
  unknownLabel,
}: {
  label: string;
  value: unknown;
  items: readonly { id: number; label: string; disabled?: boolean }[];
  onChange: (value: number | null | undefined) => void;
  invalid?: boolean;
  none?: string;
  loading?: boolean;
  unknownLabel: (id: number) => string;
}) {
  const current = typeof value === "number" ? String(value) : value === null && none ? "none" : "";
  const known = typeof value !== "number" || items.some((item) => item.id === value);
  return (
    <select
      className={cls(invalid)}
      aria-label={label}
      aria-invalid={invalid}
      value={current}
      onChange={(event) => {
        const v = event.target.value;
        onChange(v === "" ? undefined : v === "none" ? null : Number(v));
      }}
    >
      <option value="" disabled={Boolean(none)}>
        {loading ? "Loading…" : "Choose…"}
      </option>
      {none && <option value="none">{none}</option>}
      {!known && typeof value === "number" && <option value={value}>{unknownLabel(value)}</option>}
      {items.map((item) => (
        <option key={item.id} value={item.id} disabled={item.disabled}>
          {item.label}
        </option>
      ))}
    </select>
  );
}

export function Check({ label, checked, onChange }: { label: string; checked: boolean; onChange: (checked: boolean) => void }) {
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(event) => onChange(event.target.checked)} />
      <span>{label}</span>
    </label>
  );
}

// --- Durations, weekdays ----------------------------------------------------------------------------------------------

const UNITS = [
  ["days", "Days"],
  ["hours", "Hours"],
  ["minutes", "Minutes"],
] as const;

/** {days, hours, minutes}: the units left at zero are left out (all zero: {"days": 0}, which the API refuses). */
export function DurationEditor({ label, value, onChange, invalid }: { label: string; value: unknown; onChange: (value: Json) => void; invalid?: boolean }) {
  const current = isRecord(value) ? value : {};
  const set = (unit: string, amount: number | undefined) => {
    const next: Json = {};
    for (const [key] of UNITS) {
      const n = key === unit ? (amount ?? 0) : typeof current[key] === "number" ? (current[key] as number) : 0;
      if (n !== 0) next[key] = n;
    }
    onChange(Object.keys(next).length ? next : { days: 0 });
  };
  return (
    <fieldset className={`automation-duration ${invalid ? "invalid" : ""}`}>
      <legend className="field-label">{label}</legend>
      {UNITS.map(([key, name]) => (
        <label key={key} className="automation-duration-unit">
          <NumberInput label={`${label} ${key}`} value={current[key] ?? 0} min={0} invalid={invalid} onChange={(n) => set(key, n)} />
          <span className="small muted">{name}</span>
        </label>
      ))}
    </fieldset>
  );
}

export function WeekdaysEditor({ value, onChange, invalid }: { value: unknown; onChange: (value: number[]) => void; invalid?: boolean }) {
  const days = Array.isArray(value) ? value.filter((d): d is number => typeof d === "number") : [0, 1, 2, 3, 4, 5, 6];
  return (
    <fieldset className={`automation-weekdays ${invalid ? "invalid" : ""}`}>
      <legend className="field-label">On</legend>
      {WEEKDAYS.map((name, day) => (
        <label key={name} className="check check-inline">
          <input
            type="checkbox"
            checked={days.includes(day)}
            onChange={(event) => onChange(event.target.checked ? [...days, day].sort() : days.filter((d) => d !== day))}
          />
          <span>{name}</span>
        </label>
      ))}
    </fieldset>
  );
}

// --- The workspace's things -------------------------------------------------------------------------------------------

/** The workspace's lead statuses (the status field's choices). */
export function useStatuses(): string[] {
  const fields = useLeadFields();
  return fields.data?.find((field) => field.name === "status")?.choices ?? [];
}

export function StatusSelect({ label, value, onChange, invalid, any }: { label: string; value: unknown; onChange: (value: string | undefined | null) => void; invalid?: boolean; any?: string }) {
  const statuses = useStatuses();
  const current = typeof value === "string" ? value : value === null && any ? "__any" : "";
  return (
    <select
      className={cls(invalid)}
      aria-label={label}
      aria-invalid={invalid}
      value={current}
      onChange={(event) => {
        const v = event.target.value;
        onChange(v === "__any" ? null : v === "" ? undefined : v);
      }}
    >
      <option value="" disabled={Boolean(any)}>
        Choose a status
      </option>
      {any && <option value="__any">{any}</option>}
      {typeof value === "string" && value !== "" && !statuses.includes(value) && <option value={value}>{value} (unknown)</option>}
      {statuses.map((status) => (
        <option key={status} value={status}>
          {status}
        </option>
      ))}
    </select>
  );
}

/** A list; for actions (`member`) a dynamic list cannot take members, so it is offered disabled. */
export function ListSelect({ value, onChange, invalid, member }: { value: unknown; onChange: (value: number | undefined) => void; invalid?: boolean; member: boolean }) {
  const lists = useLists();
  const items = (lists.data ?? []).map((list) => ({
    id: list.id,
    label: `${list.name} (${list.kind})`,
    disabled: member && list.kind === "dynamic",
  }));
  return (
    <IdSelect
      label="List"
      value={value}
      items={items}
      loading={lists.isPending}
      invalid={invalid}
      unknownLabel={(id) => `List ${id} (not in this workspace)`}
      onChange={(id) => onChange(id ?? undefined)}
    />
  );
}

export function UserSelect({ label, value, onChange, invalid }: { label: string; value: unknown; onChange: (value: number | undefined) => void; invalid?: boolean }) {
  const people = useDirectory();
  const items = (people.data ?? []).map((p) => ({ id: p.user_id, label: p.name ? `${p.name} <${p.email}>` : p.email }));
  return (
    <IdSelect
      label={label}
      value={value}
      items={items}
      loading={people.isPending}
      invalid={invalid}
      unknownLabel={(id) => `User ${id} (not a member)`}
      onChange={(id) => onChange(id ?? undefined)}
    />
  );
}

export function UsersPicker({ value, onChange, invalid }: { value: unknown; onChange: (value: number[]) => void; invalid?: boolean }) {
  const people = useDirectory();
  const chosen = Array.isArray(value) ? value.filter((v): v is number => typeof v === "number") : [];
  const known = new Set((people.data ?? []).map((p) => p.user_id));
  return (
    <fieldset className={`automation-checks ${invalid ? "invalid" : ""}`}>
      <legend className="field-label">Take turns among</legend>
      {people.isPending && <p className="muted small">Loading…</p>}
      {(people.data ?? []).map((p) => (
        <label key={p.user_id} className="check">
          <input
            type="checkbox"
            checked={chosen.includes(p.user_id)}
            onChange={(event) => onChange(event.target.checked ? [...chosen, p.user_id] : chosen.filter((id) => id !== p.user_id))}
          />
          <span>{p.name || p.email}</span>
        </label>
      ))}
      {chosen
        .filter((id) => !known.has(id) && people.isSuccess)
        .map((id) => (
          <label key={id} className="check">
            <input type="checkbox" checked onChange={() => onChange(chosen.filter((other) => other !== id))} />
            <span>User {id} (not a member)</span>
          </label>
        ))}
    </fieldset>
  );
}

export function CampaignSelect({ value, onChange, invalid }: { value: unknown; onChange: (value: number | null) => void; invalid?: boolean }) {
  const campaigns = useCampaigns();
  const items = (campaigns.data ?? []).map((c) => ({ id: c.id, label: c.name }));
  return (
    <IdSelect
      label="Campaign"
      value={value ?? null}
      items={items}
      none="Any campaign"
      loading={campaigns.isPending}
      invalid={invalid}
      unknownLabel={(id) => `Campaign ${id} (not in this workspace)`}
      onChange={(id) => onChange(id ?? null)}
    />
  );
}

/** A custom field key, among the workspace's (only date fields with `dates`). */
export function CustomFieldSelect({ value, onChange, invalid, dates }: { value: unknown; onChange: (key: string) => void; invalid?: boolean; dates?: boolean }) {
  const fields = useCustomFields();
  const items = (fields.data ?? [])
    .filter((f) => !dates || f.type === "date")
    .map((f) => ({ value: f.key, label: `${f.label} (${f.type})` }));
  return (
    <Choice
      label="Custom field"
      value={value}
      items={items}
      invalid={invalid}
      placeholder={fields.isPending ? "Loading…" : items.length ? "Choose a field" : dates ? "No date field yet" : "No custom field yet"}
      onChange={onChange}
    />
  );
}

/** A value for a custom field, edited as its type says: text, number, date, true/false, a choice. */
export function CustomValueInput({ fieldKey, value, onChange, invalid, label = "Value" }: { fieldKey: unknown; value: unknown; onChange: (value: unknown) => void; invalid?: boolean; label?: string }) {
  const fields = useCustomFields();
  const field = (fields.data ?? []).find((f) => f.key === fieldKey);
  switch (field?.type) {
    case "number":
      return <NumberInput label={label} value={value} invalid={invalid} onChange={(n) => onChange(n ?? null)} />;
    case "boolean":
      return (
        <Choice
          label={label}
          value={value === true ? "true" : value === false ? "false" : ""}
          items={[
            { value: "true", label: "Yes" },
            { value: "false", label: "No" },
          ]}
          invalid={invalid}
          onChange={(v) => onChange(v === "true")}
        />
      );
    case "choice":
      return <Choice label={label} value={value} items={field.choices.map((c) => ({ value: c, label: c }))} invalid={invalid} onChange={onChange} />;
    case "date":
      return (
        <input type="date" className={cls(invalid)} aria-label={label} value={typeof value === "string" ? value : ""} onChange={(event) => onChange(event.target.value || null)} />
      );
    default:
      return <TextInput label={label} value={value} invalid={invalid} onChange={(v) => onChange(v === "" ? null : v)} />;
  }
}

// --- Filters and events -----------------------------------------------------------------------------------------------

/**
 * The lead filter builder (react-querybuilder, as in lists and campaign branches) on a filter of the graph. The
 * builder keeps its own copy while editing: the panel remounts it after an undo. `problems` are the ones about
 * this filter (their field starting with `prefix`, e.g. "config.filter"); the rule a problem names is outlined.
 */
export function FilterEditor({ value, onChange, problems, prefix }: { value: unknown; onChange: (filter: Json) => void; problems: GraphProblem[]; prefix: string }) {
  const fields = useLeadFields();
  const [query, setQuery] = useState<RuleGroupType>(() => toQuery(value));
  const byName = useMemo(() => fieldMap(fields.data), [fields.data]);
  const [ids, setIds] = useState<Record<string, string>>({}); // the builder's rule ids by path, once edited
  const mine = problemsAt(problems, prefix);
  const first = mine[0];
  const errorId = first ? errorTarget(`filter${first.field.slice(prefix.length)}`, ids) : null;
  if (!fields.data) return <p className="muted small">Loading the fields…</p>;
  return (
    <div className={`flow-filter automation-filter ${hasError(mine) ? "invalid" : ""}`}>
      <FilterBuilder
        fields={fields.data}
        query={query}
        errorId={errorId}
        onQueryChange={(next) => {
          setQuery(next);
          const prepared = prepareFilter(next, byName);
          setIds(prepared.ids);
          onChange(prepared.filter);
        }}
      />
    </div>
  );
}

export const EVENT_KINDS = [
  { value: "opened", label: "Opened a message of this journey" },
  { value: "clicked", label: "Clicked a message of this journey" },
  { value: "external_event", label: "An external event" },
  { value: "status_changed", label: "Status changed" },
  { value: "tag_added", label: "Tag added" },
  { value: "converted", label: "Converted" },
] as const;

/** What a wait or a goal waits for. Goals cannot wait for one node's message (`messages` false). */
export function EventEditor({
  value,
  onChange,
  problems,
  prefix,
  sends,
  messages,
}: {
  value: unknown;
  onChange: (event: Json) => void;
  problems: GraphProblem[];
  prefix: string;
  sends: readonly DraftNode[];
  messages: boolean;
}) {
  const event = isRecord(value) ? value : {};
  const kinds = EVENT_KINDS.filter((k) => messages || (k.value !== "opened" && k.value !== "clicked"));
  const bad = (field: string) => hasError(problems, `${prefix}.${field}`);
  return (
    <div className="stack-sm">
      <Field label="Event">
        <Choice
          label="Event kind"
          value={event.kind}
          items={kinds}
          invalid={bad("kind")}
          onChange={(kind) => {
            if (kind === "opened" || kind === "clicked") onChange({ kind, ...(typeof event.node === "string" ? { node: event.node } : {}) });
            else if (kind === "status_changed") onChange({ kind, to_status: null });
            else onChange({ kind });
          }}
        />
      </Field>
      {(event.kind === "opened" || event.kind === "clicked") && (
        <Field label="Message of" hint="A send before this node on every path.">
          <Choice
            label="Message of"
            value={event.node}
            items={sends.map((n) => ({ value: n.id, label: `${n.label || "Send"} (${n.id})` }))}
            placeholder={sends.length ? "Choose a send" : "No send node yet"}
            invalid={bad("node")}
            onChange={(node) => onChange({ ...event, node })}
          />
        </Field>
      )}
      {event.kind === "external_event" && (
        <Field label="Event name">
          <TextInput label="Event name" value={event.name} invalid={bad("name")} placeholder="demo.booked" onChange={(name) => onChange({ ...event, name })} />
        </Field>
      )}
      {event.kind === "status_changed" && (
        <Field label="To status">
          <StatusSelect label="To status" value={event.to_status ?? null} any="Any status change" invalid={bad("to_status")} onChange={(to_status) => onChange({ ...event, to_status: to_status ?? null })} />
        </Field>
      )}
      {event.kind === "tag_added" && (
        <Field label="Tag">
          <TextInput label="Tag" value={event.tag} invalid={bad("tag")} onChange={(tag) => onChange({ ...event, tag })} />
        </Field>
      )}
    </div>
  );
}
