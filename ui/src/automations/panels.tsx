import type { CSSProperties, ReactNode } from "react";
import { useCustomFields, useSecretNames } from "../api/queries";
import { useCan } from "../session";
import { TemplatePicker } from "../campaigns/TemplatePicker";
import type { Channel } from "../campaigns/flow";
import { NODE_TYPES } from "./catalogue";
import {
  CampaignSelect,
  Check,
  Choice,
  CustomFieldSelect,
  CustomValueInput,
  DurationEditor,
  EventEditor,
  Field,
  FilterEditor,
  ListSelect,
  NumberInput,
  StatusSelect,
  TextInput,
  TimeInput,
  UserSelect,
  UsersPicker,
  WeekdaysEditor,
} from "./editors";
import { patchConfig, removeElements, renameOutcome, updateNode } from "./graph";
import { REENTRY, configOf, isRecord, type DraftEdge, type DraftGraph, type DraftNode, type GraphProblem, type Json } from "./model";
import { hasError, problemsAt } from "./problems";

/** A change to the graph; changes with the same `key` in a row are one undo step (typing in one field). */
export type Change = (update: (graph: DraftGraph) => DraftGraph, key?: string) => void;

const CHANNELS = [
  { value: "email", label: "Email" },
  { value: "sms", label: "SMS" },
  { value: "whatsapp", label: "WhatsApp" },
] as const;

function ProblemList({ problems, testId }: { problems: GraphProblem[]; testId: string }) {
  if (problems.length === 0) return null;
  return (
    <ul className="automation-panel-problems" data-testid={testId}>
      {problems.map((p, i) => (
        <li key={i} className={`problem-line problem-${p.severity}`} role={p.severity === "error" ? "alert" : undefined}>
          {p.message}
          {p.field && <span className="muted"> · {p.field}</span>}
        </li>
      ))}
    </ul>
  );
}

type NodePanelProps = {
  node: DraftNode;
  graph: DraftGraph;
  problems: GraphProblem[];
  change: Change;
  onDelete: () => void;
  /** The settings shown, disabled (a member who may only read); no delete. */
  readOnly?: boolean;
};

const READ_ONLY_FIELDS: CSSProperties = { display: "flex", flexDirection: "column", gap: 10, minWidth: 0, margin: 0, padding: 0, border: 0 };

/** The panel's fields, disabled together when read-only (a disabled fieldset disables every control in it). */
function Fields({ readOnly, children }: { readOnly: boolean; children: ReactNode }) {
  if (!readOnly) return <>{children}</>;
  return (
    <fieldset disabled style={READ_ONLY_FIELDS} data-testid="read-only-fields">
      {children}
    </fieldset>
  );
}

/** The selected node: its label, its settings by type, its retries (actions), its problems. */
export function NodePanel({ node, graph, problems, change, onDelete, readOnly = false }: NodePanelProps) {
  const info = NODE_TYPES[node.type];
  const c = configOf(node);
  const set = (patch: Json, field = Object.keys(patch).join(",")) =>
    change((g) => patchConfig(g, node.id, patch), `edit:${node.id}:${field}`);
  const bad = (field: string) => hasError(problems, field);
  const sends = graph.nodes.filter((n) => n.type === "send_message" && n.id !== node.id);
  const ctx: EditorProps = { node, c, set, bad, sends, change, problems };
  return (
    <div className="automation-panel" data-testid="node-panel" aria-label={`${info.label} ${node.id}`}>
      <div className="automation-panel-head">
        <div>
          <span className={`automation-chip category-${info.category}`}>{info.label}</span>
          <code className="automation-node-id">{node.id}</code>
        </div>
        {!readOnly && (
          <button type="button" className="btn btn-ghost btn-sm" onClick={onDelete}>
            Delete node
          </button>
        )}
      </div>
      <p className="muted small">{info.hint}.</p>
      <ProblemList problems={problems} testId="panel-problems" />
      <Fields readOnly={readOnly}>
        <Field label="Label" hint="Shown on the canvas only.">
          <TextInput
            label="Label"
            value={node.label ?? ""}
            maxLength={80}
            placeholder={info.label}
            invalid={bad("label")}
            onChange={(label) =>
              change(
                (g) =>
                  updateNode(g, node.id, (n) => {
                    const { label: _old, ...rest } = n;
                    return label === "" ? (rest as DraftNode) : { ...n, label };
                  }),
                `edit:${node.id}:label`,
              )
            }
          />
        </Field>
        <TypeEditor {...ctx} />
        {info.category === "trigger" && node.type !== "recurring_schedule" && <EnrollmentFilter {...ctx} />}
        {info.category === "action" && node.type !== "exit" && <RetryEditor {...ctx} />}
      </Fields>
    </div>
  );
}

type EditorProps = {
  node: DraftNode;
  c: Json;
  set: (patch: Json, field?: string) => void;
  bad: (field: string) => boolean;
  sends: DraftNode[];
  change: Change;
  problems: GraphProblem[];
};

function TypeEditor(props: EditorProps) {
  const { node, c, set, bad, sends, problems } = props;
  switch (node.type) {
    case "lead_status_changed":
      return (
        <>
          <Field label="Becomes">
            <StatusSelect label="To status" value={c.to_status} invalid={bad("config.to_status")} onChange={(to_status) => set({ to_status: to_status ?? undefined })} />
          </Field>
          <Field label="From">
            <StatusSelect label="From status" value={c.from_status ?? null} any="Any status" invalid={bad("config.from_status")} onChange={(from_status) => set({ from_status: from_status ?? null })} />
          </Field>
        </>
      );
    case "lead_created":
      return (
        <Field label="Sources" hint="Comma-separated (api, upsert, import…); empty: any source.">
          <TextInput
            label="Sources"
            value={Array.isArray(c.sources) ? c.sources.join(", ") : ""}
            invalid={bad("config.sources")}
            onChange={(text) => set({ sources: text.split(",").map((s) => s.trim()).filter(Boolean) })}
          />
        </Field>
      );
    case "added_to_list":
    case "add_to_list":
    case "remove_from_list":
      return (
        <Field label="List" hint={node.type === "added_to_list" ? "A dynamic list never fires: nobody is added to it explicitly." : "A static or hybrid list."}>
          <ListSelect value={c.list_id} member={node.type !== "added_to_list"} invalid={bad("config.list_id")} onChange={(list_id) => set({ list_id })} />
        </Field>
      );
    case "tag_added":
    case "add_tag":
    case "remove_tag":
      return (
        <Field label="Tag">
          <TextInput label="Tag" value={c.tag} maxLength={64} invalid={bad("config.tag")} onChange={(tag) => set({ tag })} />
        </Field>
      );
    case "custom_field_changed":
      return (
        <>
          <Field label="Field">
            <CustomFieldSelect value={c.field} invalid={bad("config.field")} onChange={(field) => set({ field, to_value: null })} />
          </Field>
          <Field label="Changes to" hint="Empty: any change.">
            <CustomValueInput label="Changes to" fieldKey={c.field} value={c.to_value} invalid={bad("config.to_value")} onChange={(to_value) => set({ to_value })} />
          </Field>
        </>
      );
    case "external_event":
      return (
        <Field label="Event name" hint="Posted to POST /api/events, or sent by a form or a webhook.">
          <TextInput label="Event name" value={c.event} placeholder="webinar.registered" invalid={bad("config.event")} onChange={(event) => set({ event })} />
        </Field>
      );
    case "campaign_interaction":
      return (
        <>
          <Field label="When the lead">
            <Choice
              label="Interaction"
              value={c.interaction}
              items={[
                { value: "opened", label: "opens" },
                { value: "clicked", label: "clicks" },
                { value: "unsubscribed", label: "unsubscribes" },
              ]}
              invalid={bad("config.interaction")}
              onChange={(interaction) => set({ interaction })}
            />
          </Field>
          <Field label="Campaign" hint="Automated (machine) opens and clicks never count.">
            <CampaignSelect value={c.campaign_id} invalid={bad("config.campaign_id")} onChange={(campaign_id) => set({ campaign_id })} />
          </Field>
        </>
      );
    case "date_field":
    case "wait_until_date_field":
      return (
        <>
          <Field label="Date field">
            <CustomFieldSelect dates value={c.field} invalid={bad("config.field")} onChange={(field) => set({ field })} />
          </Field>
          <div className="form-grid form-grid-2">
            <Field label="Offset (days)" hint="−30: a month before.">
              <NumberInput label="Offset days" value={c.offset_days ?? 0} min={-3650} max={3650} invalid={bad("config.offset_days")} onChange={(offset_days) => set({ offset_days: offset_days ?? 0 })} />
            </Field>
            <Field label="At (lead's time)">
              <TimeInput label="Time" value={c.time ?? "09:00"} invalid={bad("config.time")} onChange={(time) => set({ time })} />
            </Field>
          </div>
          <Check label="Every year (anniversaries, birthdays)" checked={c.every_year === true} onChange={(every_year) => set({ every_year })} />
          {node.type === "wait_until_date_field" && (
            <Field label="When the date is past" hint="A lead without the date takes the `skipped` outcome.">
              <Choice
                label="When past"
                value={c.when_past ?? "continue"}
                items={[
                  { value: "continue", label: "Go on at once (next)" },
                  { value: "skip", label: "Take the skipped outcome" },
                ]}
                onChange={(when_past) => set({ when_past })}
              />
            </Field>
          )}
        </>
      );
    case "recurring_schedule":
      return (
        <>
          <div className="form-grid form-grid-2">
            <Field label="Every">
              <Choice
                label="Frequency"
                value={c.frequency}
                items={[
                  { value: "daily", label: "Day" },
                  { value: "weekly", label: "Week" },
                  { value: "monthly", label: "Month" },
                ]}
                invalid={bad("config.frequency")}
                onChange={(frequency) =>
                  set({
                    frequency,
                    weekday: frequency === "weekly" ? 0 : undefined,
                    day_of_month: frequency === "monthly" ? 1 : undefined,
                  }, "frequency")
                }
              />
            </Field>
            <Field label="At (workspace time)">
              <TimeInput label="Time" value={c.time} invalid={bad("config.time")} onChange={(time) => set({ time })} />
            </Field>
          </div>
          {c.frequency === "weekly" && (
            <Field label="On">
              <Choice
                label="Weekday"
                value={String(c.weekday ?? "")}
                items={["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"].map((d, i) => ({ value: String(i), label: d }))}
                onChange={(weekday) => set({ weekday: Number(weekday) })}
              />
            </Field>
          )}
          {c.frequency === "monthly" && (
            <Field label="Day of the month (1-28)">
              <NumberInput label="Day of month" value={c.day_of_month} min={1} max={28} invalid={bad("config.day_of_month")} onChange={(day_of_month) => set({ day_of_month })} />
            </Field>
          )}
          <div className="field">
            <span className="field-label">Audience of each run</span>
            <FilterEditor value={c.filter} prefix="config.filter" problems={problems} onChange={(filter) => set({ filter })} />
          </div>
        </>
      );
    case "filter":
      return (
        <div className="field">
          <span className="field-label">Yes when the lead matches</span>
          <FilterEditor value={c.filter} prefix="config.filter" problems={problems} onChange={(filter) => set({ filter })} />
        </div>
      );
    case "engagement":
      return (
        <>
          <Field label="Yes when the lead">
            <Choice
              label="Engagement"
              value={c.event}
              items={[
                { value: "opened", label: "opened (or clicked)" },
                { value: "clicked", label: "clicked" },
              ]}
              onChange={(event) => set({ event })}
            />
          </Field>
          <Field label="The message of" hint="A send before this node on every path; leave time to open with a wait.">
            <Choice
              label="Message of"
              value={c.node}
              items={sends.map((n) => ({ value: n.id, label: `${n.label || "Send"} (${n.id})` }))}
              placeholder={sends.length ? "Choose a send" : "No send node yet"}
              invalid={bad("config.node")}
              onChange={(ref) => set({ node: ref })}
            />
          </Field>
        </>
      );
    case "random_split":
      return <SplitEditor {...props} />;
    case "send_message":
      return (
        <>
          <Field label="Channel">
            <Choice
              label="Channel"
              value={c.channel}
              items={CHANNELS}
              invalid={bad("config.channel")}
              onChange={(channel) => set({ channel, template_id: undefined, template_version: undefined }, "channel")}
            />
          </Field>
          {(c.channel === "email" || c.channel === "sms" || c.channel === "whatsapp") && (
            <TemplatePicker
              channel={c.channel as Channel}
              templateId={typeof c.template_id === "number" ? c.template_id : null}
              version={typeof c.template_version === "number" ? c.template_version : null}
              label="Template"
              invalid={bad("config.template_id")}
              versionInvalid={bad("config.template_version")}
              onChange={(template_id, template_version) =>
                set({ template_id: template_id ?? undefined, template_version: template_version ?? undefined }, "template")
              }
            />
          )}
          <p className="muted small">A lead without an address or consent on the channel takes `fallback` when it is connected.</p>
        </>
      );
    case "update_field":
      return <UpdateFieldEditor {...props} />;
    case "assign_owner":
      return (
        <>
          <Field label="Assign">
            <Choice
              label="Assign mode"
              value={c.mode ?? "user"}
              items={[
                { value: "user", label: "To a user" },
                { value: "round_robin", label: "Round robin" },
              ]}
              onChange={(mode) => set(mode === "user" ? { mode, user_ids: undefined } : { mode, user_id: undefined, user_ids: [] }, "mode")}
            />
          </Field>
          {c.mode === "round_robin" ? (
            <>
              <UsersPicker value={c.user_ids} invalid={bad("config.user_ids")} onChange={(user_ids) => set({ user_ids })} />
            </>
          ) : (
            <Field label="User">
              <UserSelect label="User" value={c.user_id} invalid={bad("config.user_id")} onChange={(user_id) => set({ user_id })} />
            </Field>
          )}
        </>
      );
    case "notify_user":
      return (
        <>
          <Field label="Email">
            <Choice
              label="Recipient"
              value={c.recipient ?? "owner"}
              items={[
                { value: "owner", label: "The lead's owner (skipped when none)" },
                { value: "user", label: "A user" },
              ]}
              onChange={(recipient) => set({ recipient, user_id: undefined }, "recipient")}
            />
          </Field>
          {c.recipient === "user" && (
            <Field label="User">
              <UserSelect label="User" value={c.user_id} invalid={bad("config.user_id")} onChange={(user_id) => set({ user_id })} />
            </Field>
          )}
          <Field label="Subject">
            <TextInput label="Subject" value={c.subject} maxLength={200} invalid={bad("config.subject")} onChange={(subject) => set({ subject })} />
          </Field>
          <Field label="Body" hint="Template text: {{ lead.first_name }}, {{ lead.company }}…">
            <TextInput label="Body" multiline value={c.body} invalid={bad("config.body")} onChange={(body) => set({ body })} />
          </Field>
        </>
      );
    case "call_webhook":
      return <WebhookEditor {...props} />;
    case "start_automation":
      return (
        <Field
          label="Automation id"
          hint="Saved automations arrive with the automations API: until then no id exists to start."
         
        >
          <NumberInput label="Automation id" value={c.automation_id} min={1} invalid={bad("config.automation_id")} onChange={(automation_id) => set({ automation_id })} />
        </Field>
      );
    case "exit":
      return <p className="muted small">The lead leaves the journey here. An exit has no outcome.</p>;
    case "wait_duration":
      return <DurationEditor label="Wait for" value={c.duration} invalid={bad("config.duration")} onChange={(duration) => set({ duration })} />;
    case "wait_until_time_of_day":
      return (
        <>
          <Field label="Until (lead's time)">
            <TimeInput label="Time" value={c.time} invalid={bad("config.time")} onChange={(time) => set({ time })} />
          </Field>
          <WeekdaysEditor value={c.weekdays} invalid={bad("config.weekdays")} onChange={(weekdays) => set({ weekdays })} />
        </>
      );
    case "wait_for_event":
      return (
        <>
          <EventEditor value={c.event} prefix="config.event" problems={problems} sends={sends} messages onChange={(event) => set({ event })} />
          <DurationEditor label="Up to" value={c.timeout} invalid={bad("config.timeout")} onChange={(timeout) => set({ timeout })} />
          <p className="muted small">`event` when it happens in time, `timeout` otherwise.</p>
        </>
      );
  }
}

function EnrollmentFilter({ c, set, problems }: EditorProps) {
  const on = isRecord(c.filter);
  return (
    <div className="automation-section">
      <Check
        label="Only leads matching a filter enter"
        checked={on}
        onChange={(checked) => set({ filter: checked ? { combinator: "and", rules: [] } : undefined })}
      />
      {on && <FilterEditor value={c.filter} prefix="config.filter" problems={problems} onChange={(filter) => set({ filter })} />}
    </div>
  );
}

function RetryEditor({ c, set, bad }: EditorProps) {
  const retry = isRecord(c.retry) ? c.retry : {};
  const put = (key: string, value: number | undefined) => {
    const next: Json = { ...retry };
    if (value === undefined) delete next[key];
    else next[key] = value;
    set({ retry: Object.keys(next).length ? next : undefined }, `retry.${key}`);
  };
  return (
    <details className="automation-section">
      <summary>Retries</summary>
      <div className="form-grid form-grid-2">
        <Field label="Attempts (1-10)">
          <NumberInput label="Attempts" value={retry.max_attempts ?? 5} min={1} max={10} invalid={bad("config.retry.max_attempts")} onChange={(n) => put("max_attempts", n)} />
        </Field>
        <Field label="First retry after (s)">
          <NumberInput
            label="First retry after seconds"
            value={retry.initial_interval_seconds ?? 30}
            min={1}
            max={3600}
            invalid={bad("config.retry.initial_interval_seconds")}
            onChange={(n) => put("initial_interval_seconds", n)}
          />
        </Field>
      </div>
      <p className="muted small">The interval doubles up to 10 minutes. Retries exhausted: `fallback`, or the journey fails.</p>
    </details>
  );
}

function SplitEditor({ node, c, change, bad }: EditorProps) {
  const branches = Array.isArray(c.branches) ? c.branches.filter(isRecord) : [];
  const total = branches.reduce((sum, b) => sum + (typeof b.percent === "number" ? b.percent : 0), 0);
  const write = (next: Json[], rename?: [string, string], field = "branches") =>
    change((g) => {
      const patched = patchConfig(g, node.id, { branches: next });
      return rename ? renameOutcome(patched, node.id, rename[0], rename[1]) : patched;
    }, `edit:${node.id}:${field}`);
  const freeKey = () => {
    const used = new Set(branches.map((b) => b.key));
    for (const letter of "abcdefghij") if (!used.has(letter)) return letter;
    return `b${branches.length + 1}`;
  };
  return (
    <div className="automation-section">
      <span className="field-label">Branches (percents add up to 100: now {total})</span>
      {branches.map((branch, index) => (
        <div key={index} className="automation-branch">
          <TextInput
            label={`Branch ${index + 1} key`}
            value={branch.key}
            invalid={bad(`config.branches[${index}].key`)}
            onChange={(key) => write(branches.map((b, i) => (i === index ? { ...b, key } : b)), [String(branch.key ?? ""), key], `branch${index}.key`)}
          />
          <NumberInput
            label={`Branch ${index + 1} percent`}
            value={branch.percent}
            min={1}
            max={99}
            invalid={bad(`config.branches[${index}].percent`) || bad("config.branches")}
            onChange={(percent) => write(branches.map((b, i) => (i === index ? { ...b, percent } : b)), undefined, `branch${index}.percent`)}
          />
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            aria-label={`Remove branch ${index + 1}`}
            disabled={branches.length <= 2}
            onClick={() => write(branches.filter((_, i) => i !== index), [String(branch.key ?? ""), ""], "remove")}
          >
            ×
          </button>
        </div>
      ))}
      <button type="button" className="btn btn-secondary btn-sm" disabled={branches.length >= 10} onClick={() => write([...branches, { key: freeKey(), percent: 10 }], undefined, "add")}>
        + Branch
      </button>
      <p className="muted small">A branch key is its outcome: renaming it keeps its edge.</p>
    </div>
  );
}

function UpdateFieldEditor({ c, set, bad }: EditorProps) {
  const customFields = useCustomFields();
  const field = typeof c.field === "string" ? c.field : "";
  const custom = field.startsWith("custom.") ? field.slice("custom.".length) : null;
  const customType = (customFields.data ?? []).find((f) => f.key === custom)?.type;
  const canIncrement = field === "score" || customType === "number";
  const items = [
    { value: "status", label: "Status" },
    { value: "score", label: "Score" },
    ...(customFields.data ?? []).map((f) => ({ value: `custom.${f.key}`, label: `${f.label} (${f.type})` })),
  ];
  return (
    <>
      <Field label="Field">
        <Choice
          label="Field"
          value={field}
          items={items}
          invalid={bad("config.field")}
          onChange={(next) => set({ field: next, operation: next === "score" ? "increment" : "set", value: next === "score" ? 10 : null }, "field")}
        />
      </Field>
      {canIncrement && (
        <Field label="Operation">
          <Choice
            label="Operation"
            value={c.operation ?? "set"}
            items={[
              { value: "set", label: "Set to" },
              { value: "increment", label: "Add" },
            ]}
            invalid={bad("config.operation")}
            onChange={(operation) => set({ operation })}
          />
        </Field>
      )}
      <Field label={c.operation === "increment" ? "Amount" : "Value"}>
        {field === "status" ? (
          <StatusSelect label="Value" value={c.value} invalid={bad("config.value")} onChange={(value) => set({ value: value ?? null })} />
        ) : field === "score" || c.operation === "increment" ? (
          <NumberInput label="Value" value={c.value} invalid={bad("config.value")} onChange={(value) => set({ value: value ?? null })} />
        ) : (
          <CustomValueInput fieldKey={custom} value={c.value} invalid={bad("config.value")} onChange={(value) => set({ value })} />
        )}
      </Field>
    </>
  );
}

function WebhookEditor({ c, set, bad }: EditorProps) {
  const secretNames = useSecretNames(useCan("campaigns:write")); // names only; viewers see the node read-only
  const headers = isRecord(c.headers) ? Object.entries(c.headers) : [];
  const putHeaders = (entries: [string, unknown][], field: string) =>
    set({ headers: entries.length ? Object.fromEntries(entries) : undefined }, field);
  return (
    <>
      <div className="form-grid form-grid-2">
        <Field label="Method">
          <Choice
            label="Method"
            value={c.method ?? "POST"}
            items={["POST", "PUT", "PATCH", "GET", "DELETE"].map((m) => ({ value: m, label: m }))}
            onChange={(method) => set(method === "GET" ? { method, body: undefined } : { method }, "method")}
          />
        </Field>
        <Field label="Timeout (s)">
          <NumberInput label="Timeout seconds" value={c.timeout_seconds ?? 10} min={1} max={30} invalid={bad("config.timeout_seconds")} onChange={(timeout_seconds) => set({ timeout_seconds })} />
        </Field>
      </div>
      <Field label="URL" hint="A fixed host; templates in the path and query: /leads/{{ lead.id }}">
        <TextInput label="URL" value={c.url} invalid={bad("config.url")} onChange={(url) => set({ url })} />
      </Field>
      <div className="automation-section">
        <span className="field-label">Headers</span>
        {headers.map(([name, value], index) => (
          <div key={index} className="automation-branch">
            <TextInput
              label={`Header ${index + 1} name`}
              value={name}
              invalid={bad("config.headers")}
              onChange={(next) => putHeaders(headers.map((h, i) => (i === index ? [next, h[1]] : h)), `header${index}.name`)}
            />
            <TextInput
              label={`Header ${index + 1} value`}
              value={value}
              onChange={(next) => putHeaders(headers.map((h, i) => (i === index ? [h[0], next] : h)), `header${index}.value`)}
            />
            <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove header ${index + 1}`} onClick={() => putHeaders(headers.filter((_, i) => i !== index), "headers")}>
              ×
            </button>
          </div>
        ))}
        <button type="button" className="btn btn-secondary btn-sm" onClick={() => putHeaders([...headers, [`X-Header-${headers.length + 1}`, ""]], "headers")}>
          + Header
        </button>
        <p className="muted small">No credentials inline: name a workspace secret below (sent as the Authorization header).</p>
      </div>
      <Field label="Secret (Authorization)" hint="The name of a workspace secret (Settings → Secrets); its value is sent, never shown.">
        <TextInput
          label="Secret"
          value={c.auth_secret ?? ""}
          invalid={bad("config.auth_secret")}
          list="webhook-secret-names"
          onChange={(auth_secret) => set({ auth_secret: auth_secret || undefined })}
        />
        <datalist id="webhook-secret-names">
          {(secretNames.data ?? []).map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </Field>
      {c.method !== "GET" && (
        <Field label="Body" hint="Template text.">
          <TextInput label="Body" multiline value={c.body ?? ""} invalid={bad("config.body")} onChange={(body) => set({ body: body || undefined })} />
        </Field>
      )}
    </>
  );
}

/** The selected edge: where it goes, and a way to delete it (not read-only). */
export function EdgePanel({ edge, onDelete, readOnly = false }: { edge: DraftEdge; onDelete: () => void; readOnly?: boolean }) {
  return (
    <div className="automation-panel" data-testid="edge-panel">
      <div className="automation-panel-head">
        <span className="field-label">Edge</span>
        {!readOnly && (
          <button type="button" className="btn btn-ghost btn-sm" onClick={onDelete}>
            Delete edge
          </button>
        )}
      </div>
      <p>
        From <code>{edge.source}</code> when <strong>{edge.outcome}</strong>, to <code>{edge.target}</code>.
      </p>
      {!readOnly && <p className="muted small">Drag from another outcome handle to connect it; an outcome leads to one node.</p>}
    </div>
  );
}

/** Nothing selected: the automation's re-entry policy and goals, and the problems about it as a whole. */
export function AutomationPanel({
  graph,
  problems,
  change,
  sends,
  readOnly = false,
}: {
  graph: DraftGraph;
  problems: GraphProblem[];
  change: Change;
  sends: DraftNode[];
  readOnly?: boolean;
}) {
  const goals = Array.isArray(graph.goals) ? graph.goals : [];
  const setGoals = (next: Json[], key: string) => change((g) => ({ ...g, goals: next }), key);
  const reentry = typeof graph.reentry === "string" ? graph.reentry : "once_ever";
  return (
    <div className="automation-panel" data-testid="automation-panel">
      <h2 className="automation-panel-title">Automation</h2>
      <p className="muted small">
        {readOnly
          ? "Read-only: select a node to see its settings."
          : "Select a node or an edge to edit it. Drag nodes from the palette; connect an outcome to a node."}
      </p>
      <Fields readOnly={readOnly}>
        <Field label="Re-entry" hint={REENTRY.find((r) => r.value === reentry)?.hint}>
          <Choice label="Re-entry" value={reentry} items={REENTRY} onChange={(value) => change((g) => ({ ...g, reentry: value }))} />
        </Field>
        <div className="automation-section">
          <span className="field-label">Goals</span>
          <p className="muted small">A lead who meets a goal leaves at once (filter goals are checked before each action).</p>
          {goals.map((goal, index) => (
            <GoalEditor
              key={index}
              goal={goal}
              index={index}
              problems={problemsAt(problems, `goals[${index}]`)}
              sends={sends}
              onChange={(next, field) => setGoals(goals.map((g, i) => (i === index ? next : g)), `goal:${index}:${field}`)}
              onRemove={() => setGoals(goals.filter((_, i) => i !== index), "goal:remove")}
            />
          ))}
          <div className="flow-add">
            <button type="button" className="btn btn-secondary btn-sm" disabled={goals.length >= 20} onClick={() => setGoals([...goals, { kind: "event", event: { kind: "status_changed", to_status: "won" } }], "goal:add")}>
              + Event goal
            </button>
            <button type="button" className="btn btn-secondary btn-sm" disabled={goals.length >= 20} onClick={() => setGoals([...goals, { kind: "filter", filter: { combinator: "and", rules: [] } }], "goal:add")}>
              + Filter goal
            </button>
          </div>
        </div>
      </Fields>
    </div>
  );
}

function GoalEditor({
  goal,
  index,
  problems,
  sends,
  onChange,
  onRemove,
}: {
  goal: Json;
  index: number;
  problems: GraphProblem[];
  sends: DraftNode[];
  onChange: (goal: Json, field: string) => void;
  onRemove: () => void;
}): ReactNode {
  const prefix = `goals[${index}]`;
  return (
    <div className={`automation-goal ${hasError(problems) ? "has-error" : ""}`} data-testid="goal">
      <div className="automation-panel-head">
        <TextInput label={`Goal ${index + 1} label`} value={goal.label ?? ""} maxLength={80} placeholder={`Goal ${index + 1}`} onChange={(label) => onChange({ ...goal, label: label || undefined }, "label")} />
        <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove goal ${index + 1}`} onClick={onRemove}>
          ×
        </button>
      </div>
      {goal.kind === "filter" ? (
        <FilterEditor value={goal.filter} prefix={`${prefix}.filter`} problems={problems} onChange={(filter) => onChange({ ...goal, filter }, "filter")} />
      ) : (
        <EventEditor value={goal.event} prefix={`${prefix}.event`} problems={problems} sends={sends} messages={false} onChange={(event) => onChange({ ...goal, event }, "event")} />
      )}
    </div>
  );
}

/** Removes the node from the graph (with its edges). */
export function withoutNode(graph: DraftGraph, id: string): DraftGraph {
  return removeElements(graph, [id]);
}
