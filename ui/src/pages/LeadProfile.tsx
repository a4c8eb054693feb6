import { useMemo, useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type CustomField, type Lead, type LeadUpdate, type Member } from "../api/client";
import { queryKeys, useCustomFields, useLead, useLeadEvents, useLeadLists, useLists, useMembers } from "../api/queries";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { KindBadge } from "../components/KindBadge";
import { StatusBadge } from "../components/StatusBadge";
import { splitList } from "../filters/model";
import { formatDateTime, formatNumber } from "../format";
import { customText, leadName } from "../leads/columns";
import { describeEvent } from "../leads/events";
import { LeadInteractions } from "../leads/Interactions";
import { useSession } from "../session";
import { NotFound } from "./NotFound";

const CHANNELS = [
  { key: "email", label: "Email" },
  { key: "sms", label: "SMS" },
  { key: "whatsapp", label: "WhatsApp" },
] as const;
type Channel = (typeof CHANNELS)[number]["key"];
const CONSENTS = ["granted", "denied", "unknown"] as const;
const SUPPRESSIONS = ["unsubscribed", "bounced", "complained"] as const;

export function LeadProfilePage() {
  const { id } = useParams();
  const leadId = Number(id);
  if (!Number.isInteger(leadId) || leadId <= 0) return <NotFound />;
  return <LeadProfile key={leadId} leadId={leadId} />;
}

function LeadProfile({ leadId }: { leadId: number }) {
  const me = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const canWrite = can(me, "leads:write");
  const lead = useLead(leadId);
  const members = useMembers(can(me, "members:manage"));

  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/leads/{lead_id}", { params: { path: { lead_id: leadId } } })),
    onSuccess: () => {
      queryClient.removeQueries({ queryKey: queryKeys.lead(leadId) });
      void queryClient.invalidateQueries({ queryKey: ["leads"] });
      void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
      navigate("/leads", { replace: true });
    },
  });

  if (lead.error instanceof ApiError && lead.error.status === 404) {
    return (
      <>
        <BackLink />
        <Alert tone="info">This lead does not exist (any more). </Alert>
      </>
    );
  }
  if (!lead.data) {
    return (
      <>
        <BackLink />
        <ErrorAlert error={lead.error} />
        {!lead.error && <p className="muted">Loading…</p>}
      </>
    );
  }

  const data = lead.data;
  const contact = [data.email, data.phone, data.company].filter(Boolean).join(" · ");
  return (
    <>
      <BackLink />
      <div className="page-header">
        <div>
          <div className="title-row">
            <h1>{leadName(data)}</h1>
            <StatusBadge status={data.status} testId="lead-status" />
          </div>
          <p className="page-subtitle">
            {contact && <>{contact} · </>}
            added {formatDateTime(data.created_at)}
          </p>
        </div>
        {canWrite && (
          <div className="page-actions">
            <button
              type="button"
              className="btn btn-danger"
              disabled={remove.isPending}
              onClick={() => {
                if (window.confirm(`Delete ${leadName(data)}? Their history goes too; this cannot be undone.`)) remove.mutate();
              }}
            >
              Delete lead
            </button>
          </div>
        )}
      </div>
      <ErrorAlert error={remove.error} />
      <div className="detail-grid">
        <div className="stack">
          {canWrite ? (
            <LeadForm key={`details-${data.updated_at}`} lead={data} members={members.data} />
          ) : (
            <LeadFacts lead={data} members={members.data} />
          )}
          <ConsentCard key={`consent-${data.updated_at}`} lead={data} canWrite={canWrite} />
        </div>
        <div className="stack">
          <LeadLists leadId={leadId} />
          <LeadInteractions leadId={leadId} />
          <Timeline leadId={leadId} />
        </div>
      </div>
    </>
  );
}

function BackLink() {
  return (
    <Link to="/leads" className="back-link">
      ← Leads
    </Link>
  );
}

/** PATCH the lead with only what changed; every view of it refreshes. */
function usePatchLead(leadId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: LeadUpdate) =>
      unwrap(api.PATCH("/api/leads/{lead_id}", { params: { path: { lead_id: leadId } }, body: body as Required<LeadUpdate> })),
    onSuccess: (lead) => {
      queryClient.setQueryData(queryKeys.lead(leadId), lead);
      void queryClient.invalidateQueries({ queryKey: queryKeys.leadEvents(leadId) });
      void queryClient.invalidateQueries({ queryKey: ["leads"] });
      void queryClient.invalidateQueries({ queryKey: queryKeys.lists });
    },
  });
}

type Form = {
  first_name: string;
  last_name: string;
  email: string;
  phone: string;
  company: string;
  job_title: string;
  status: string;
  score: string;
  owner_id: string;
  source: string;
  tags: string;
  timezone: string;
  locale: string;
  country: string;
  external_id: string;
};

function toForm(lead: Lead): Form {
  return {
    first_name: lead.first_name,
    last_name: lead.last_name,
    email: lead.email ?? "",
    phone: lead.phone ?? "",
    company: lead.company,
    job_title: lead.job_title,
    status: lead.status,
    score: String(lead.score),
    owner_id: lead.owner_id === null ? "" : String(lead.owner_id),
    source: lead.source,
    tags: lead.tags.join(", "),
    timezone: lead.timezone,
    locale: lead.locale,
    country: lead.country,
    external_id: lead.external_id ?? "",
  };
}

/** The fields that differ from the lead, as a PATCH body (custom fields: only changed keys, null removes). */
export function leadPatch(lead: Lead, form: Form, custom: Record<string, unknown>): LeadUpdate {
  const patch: LeadUpdate = {};
  const text = (key: "first_name" | "last_name" | "company" | "job_title" | "source" | "locale") => {
    if (form[key].trim() !== lead[key]) patch[key] = form[key].trim();
  };
  text("first_name");
  text("last_name");
  text("company");
  text("job_title");
  text("source");
  text("locale");
  const nullable = (key: "email" | "phone" | "external_id") => {
    const value = form[key].trim() || null;
    if (value !== lead[key]) patch[key] = value;
  };
  nullable("email");
  nullable("phone");
  nullable("external_id");
  if (form.status !== lead.status) patch.status = form.status;
  if (form.country.trim().toUpperCase() !== lead.country) patch.country = form.country.trim().toUpperCase();
  if (form.timezone.trim() !== lead.timezone) patch.timezone = form.timezone.trim() || null;
  const score = Number(form.score);
  if (form.score.trim() !== "" && score !== lead.score) patch.score = score;
  const owner = form.owner_id.trim() === "" ? null : Number(form.owner_id);
  if (owner !== lead.owner_id) patch.owner_id = owner;
  const tags = splitList(form.tags);
  if (tags.join("\u0000") !== lead.tags.join("\u0000")) patch.tags = tags;
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(custom)) {
    const before = lead.custom_fields?.[key] ?? null;
    const after = value === "" || value === undefined ? null : value;
    if (JSON.stringify(before) !== JSON.stringify(after)) changed[key] = after;
  }
  if (Object.keys(changed).length > 0) patch.custom_fields = changed;
  return patch;
}

function LeadForm({ lead, members }: { lead: Lead; members: Member[] | undefined }) {
  const me = useSession();
  const customFields = useCustomFields();
  const [form, setForm] = useState<Form>(() => toForm(lead));
  const [custom, setCustom] = useState<Record<string, unknown>>(() => ({ ...lead.custom_fields }));
  const save = usePatchLead(lead.id);
  const patch = leadPatch(lead, form, custom);
  const dirty = Object.keys(patch).length > 0;
  const statuses = me.workspace.lead_statuses ?? [];
  const statusOptions = statuses.includes(lead.status) ? statuses : [lead.status, ...statuses];

  const badField = save.error instanceof ApiError ? save.error.field : null;
  const cls = (field: string) => (badField === field || badField?.startsWith(`${field}.`) ? "input invalid" : "input");
  const set = (key: keyof Form) => (event: { target: { value: string } }) =>
    setForm((old) => ({ ...old, [key]: event.target.value }));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(patch);
  };

  const input = (key: keyof Form, label: string, extra: InputHTMLAttributes<HTMLInputElement> = {}) => (
    <label className="field">
      <span className="field-label">{label}</span>
      <input name={key} className={cls(key)} value={form[key]} onChange={set(key)} {...extra} />
    </label>
  );

  return (
    <form className="card form" onSubmit={submit} aria-label="Lead details">
      <div className="card-header">
        <h2>Details</h2>
        <span className="muted small">updated {formatDateTime(lead.updated_at)}</span>
      </div>
      <div className="form-grid">
        {input("first_name", "First name", { maxLength: 200 })}
        {input("last_name", "Last name", { maxLength: 200 })}
        {input("email", "Email", { type: "email" })}
        {input("phone", "Phone", { placeholder: "+14155550100", maxLength: 40 })}
        {input("company", "Company", { maxLength: 200 })}
        {input("job_title", "Job title", { maxLength: 200 })}
        <label className="field">
          <span className="field-label">Status</span>
          <select name="status" className={cls("status")} value={form.status} onChange={set("status")}>
            {statusOptions.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </label>
        {input("score", "Score", { type: "number", step: 1 })}
        {members ? (
          <label className="field">
            <span className="field-label">Owner</span>
            <select name="owner_id" className={cls("owner_id")} value={form.owner_id} onChange={set("owner_id")}>
              <option value="">Nobody</option>
              {form.owner_id && !members.some((m) => String(m.user_id) === form.owner_id) && (
                <option value={form.owner_id}>User #{form.owner_id}</option>
              )}
              {members.map((m) => (
                <option key={m.user_id} value={m.user_id}>
                  {m.name || m.email}
                </option>
              ))}
            </select>
          </label>
        ) : (
          input("owner_id", "Owner (user id)", { type: "number", min: 1, placeholder: "nobody" })
        )}
        {input("source", "Source", { maxLength: 100 })}
        {input("tags", "Tags", { placeholder: "comma, separated" })}
        {input("timezone", "Time zone", { placeholder: "Europe/Paris" })}
        {input("locale", "Locale", { placeholder: "fr-FR", maxLength: 16 })}
        {input("country", "Country", { placeholder: "FR", maxLength: 2 })}
        {input("external_id", "External ID", { maxLength: 200 })}
      </div>
      {(customFields.data ?? []).length > 0 && (
        <>
          <h3 className="section-title">Custom fields</h3>
          <div className="form-grid">
            {(customFields.data ?? []).map((field) => (
              <CustomInput
                key={field.id}
                field={field}
                value={custom[field.key]}
                invalid={badField === `custom_fields.${field.key}` || badField === "custom_fields"}
                onChange={(value) => setCustom((old) => ({ ...old, [field.key]: value }))}
              />
            ))}
          </div>
        </>
      )}
      <ErrorAlert error={save.error} />
      {save.isSuccess && !dirty && (
        <Alert tone="success" onDismiss={() => save.reset()}>
          Lead saved.
        </Alert>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={!dirty || save.isPending}>
          Save
        </button>
        <button
          type="button"
          className="btn btn-ghost"
          disabled={!dirty || save.isPending}
          onClick={() => {
            setForm(toForm(lead));
            setCustom({ ...lead.custom_fields });
            save.reset();
          }}
        >
          Discard changes
        </button>
      </div>
    </form>
  );
}

function CustomInput({
  field,
  value,
  invalid,
  onChange,
}: {
  field: CustomField;
  value: unknown;
  invalid: boolean;
  onChange: (value: unknown) => void;
}) {
  const cls = invalid ? "input invalid" : "input";
  const name = `custom.${field.key}`;
  let control: ReactNode;
  switch (field.type) {
    case "number":
      control = (
        <input
          name={name}
          type="number"
          className={cls}
          value={typeof value === "number" ? value : ""}
          onChange={(event) => onChange(event.target.value === "" ? null : Number(event.target.value))}
        />
      );
      break;
    case "date":
      control = (
        <input
          name={name}
          type="date"
          className={cls}
          value={typeof value === "string" ? value.slice(0, 10) : ""}
          onChange={(event) => onChange(event.target.value || null)}
        />
      );
      break;
    case "boolean":
      control = (
        <select
          name={name}
          className={cls}
          value={value === true ? "true" : value === false ? "false" : ""}
          onChange={(event) => onChange(event.target.value === "" ? null : event.target.value === "true")}
        >
          <option value="">—</option>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      );
      break;
    case "choice":
      control = (
        <select name={name} className={cls} value={typeof value === "string" ? value : ""} onChange={(event) => onChange(event.target.value || null)}>
          <option value="">—</option>
          {typeof value === "string" && value && !field.choices.includes(value) && <option value={value}>{value}</option>}
          {field.choices.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      );
      break;
    default:
      control = (
        <input
          name={name}
          className={cls}
          value={value === null || value === undefined ? "" : String(value)}
          onChange={(event) => onChange(event.target.value === "" ? null : event.target.value)}
        />
      );
  }
  return (
    <label className="field">
      <span className="field-label">{field.label}</span>
      {control}
    </label>
  );
}

/** The same fields, read-only (roles without leads:write). */
function LeadFacts({ lead, members }: { lead: Lead; members: Member[] | undefined }) {
  const customFields = useCustomFields();
  const owner = lead.owner_id === null ? null : (members?.find((m) => m.user_id === lead.owner_id)?.name ?? `User #${lead.owner_id}`);
  const rows: [string, ReactNode][] = [
    ["Email", lead.email],
    ["Phone", lead.phone],
    ["Company", lead.company],
    ["Job title", lead.job_title],
    ["Status", <StatusBadge key="s" status={lead.status} />],
    ["Score", formatNumber(lead.score)],
    ["Owner", owner],
    ["Source", lead.source],
    ["Tags", lead.tags.join(", ")],
    ["Time zone", lead.timezone],
    ["Locale", lead.locale],
    ["Country", lead.country],
    ["External ID", lead.external_id],
    ...(customFields.data ?? []).map((field): [string, ReactNode] => [field.label, customText(lead.custom_fields?.[field.key])]),
  ];
  return (
    <section className="card facts" aria-label="Lead details">
      <h2>Details</h2>
      <dl className="headers">
        {rows.map(([label, value]) => (
          <FactRow key={label} label={label} value={value} />
        ))}
      </dl>
    </section>
  );
}

function FactRow({ label, value }: { label: string; value: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value === null || value === undefined || value === "" ? <span className="muted">—</span> : value}</dd>
    </>
  );
}

/** Consent and suppression per channel, with where the consent came from. */
function ConsentCard({ lead, canWrite }: { lead: Lead; canWrite: boolean }) {
  const save = usePatchLead(lead.id);
  const initial = () =>
    Object.fromEntries(
      CHANNELS.map(({ key }) => [key, { consent: lead[`consent_${key}`], suppressed: lead[`suppressed_${key}`] ?? "" }]),
    ) as Record<Channel, { consent: string; suppressed: string }>;
  const [state, setState] = useState(initial);

  const patch = useMemo(() => {
    const body: Record<string, unknown> = {};
    for (const { key } of CHANNELS) {
      if (state[key].consent !== lead[`consent_${key}`]) body[`consent_${key}`] = state[key].consent;
      const suppressed = state[key].suppressed || null;
      if (suppressed !== lead[`suppressed_${key}`]) body[`suppressed_${key}`] = suppressed;
    }
    return body as LeadUpdate;
  }, [state, lead]);
  const dirty = Object.keys(patch).length > 0;

  const set = (channel: Channel, key: "consent" | "suppressed", value: string) =>
    setState((old) => ({ ...old, [channel]: { ...old[channel], [key]: value } }));

  return (
    <form
      className="card card-table"
      aria-label="Consent and suppression"
      onSubmit={(event) => {
        event.preventDefault();
        save.mutate(patch);
      }}
    >
      <div className="card-header">
        <h2>Consent &amp; suppression</h2>
      </div>
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Channel</th>
              <th>Consent</th>
              <th>Suppressed</th>
              <th>Consent record</th>
            </tr>
          </thead>
          <tbody>
            {CHANNELS.map(({ key, label }) => {
              const details = (lead.consent_details?.[key] ?? null) as Record<string, unknown> | null;
              return (
                <tr key={key} data-testid="consent-row">
                  <td className="strong">{label}</td>
                  <td>
                    {canWrite ? (
                      <select
                        name={`consent_${key}`}
                        className="input input-sm"
                        aria-label={`${label} consent`}
                        value={state[key].consent}
                        onChange={(event) => set(key, "consent", event.target.value)}
                      >
                        {CONSENTS.map((c) => (
                          <option key={c} value={c}>
                            {c}
                          </option>
                        ))}
                      </select>
                    ) : (
                      <StatusBadge status={lead[`consent_${key}`]} />
                    )}
                  </td>
                  <td>
                    {canWrite ? (
                      <select
                        name={`suppressed_${key}`}
                        className="input input-sm"
                        aria-label={`${label} suppression`}
                        value={state[key].suppressed}
                        onChange={(event) => set(key, "suppressed", event.target.value)}
                      >
                        <option value="">not suppressed</option>
                        {SUPPRESSIONS.map((s) => (
                          <option key={s} value={s}>
                            {s}
                          </option>
                        ))}
                      </select>
                    ) : lead[`suppressed_${key}`] ? (
                      <StatusBadge status={lead[`suppressed_${key}`] ?? ""} />
                    ) : (
                      <span className="muted">no</span>
                    )}
                  </td>
                  <td className="small">
                    {details && Object.keys(details).length > 0 ? (
                      <>
                        {details.source ? <div>Source: {String(details.source)}</div> : null}
                        {details.wording ? <div className="muted">“{String(details.wording)}”</div> : null}
                        {details.at ? <div className="muted">{formatDateTime(String(details.at))}</div> : null}
                      </>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {canWrite && (
        <div className="inline-form">
          <button type="submit" className="btn btn-primary btn-sm" disabled={!dirty || save.isPending}>
            Save consent
          </button>
          {save.isSuccess && !dirty && <span className="muted small">Saved.</span>}
        </div>
      )}
      <div className="card-alerts">
        <ErrorAlert error={save.error} />
      </div>
    </form>
  );
}

function LeadLists({ leadId }: { leadId: number }) {
  const lists = useLeadLists(leadId);
  const rows = lists.data ?? [];
  return (
    <section className="card" aria-label="Lists">
      <div className="card-header">
        <h2>Lists</h2>
        {lists.data && <span className="muted small">{formatNumber(rows.length)}</span>}
      </div>
      <ErrorAlert error={lists.error} />
      {lists.isPending && <p className="muted">Loading…</p>}
      {lists.data && rows.length === 0 && <p className="muted">In no list.</p>}
      {rows.length > 0 && (
        <ul className="link-list">
          {rows.map((list) => (
            <li key={list.id} data-testid="lead-list">
              <Link to={`/lists/${list.id}`}>{list.name}</Link> <KindBadge kind={list.kind} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Timeline({ leadId }: { leadId: number }) {
  const events = useLeadEvents(leadId);
  const lists = useLists();
  const customFields = useCustomFields();
  const names = useMemo(() => new Map((lists.data ?? []).map((l) => [l.id, l.name])), [lists.data]);
  const labels = useMemo(() => new Map((customFields.data ?? []).map((f) => [f.key, f.label])), [customFields.data]);
  const items = events.data?.pages.flat() ?? [];
  return (
    <section className="card" aria-label="Timeline">
      <div className="card-header">
        <h2>Timeline</h2>
      </div>
      <ErrorAlert error={events.error} />
      {events.isPending && <p className="muted">Loading…</p>}
      {events.data && items.length === 0 && <p className="muted">Nothing happened yet.</p>}
      <ol className="timeline">
        {items.map((event) => {
          const { text, listId } = describeEvent(event, {
            list: (id) => names.get(id),
            customField: (key) => labels.get(key),
          });
          return (
            <li key={event.id} className={`timeline-item timeline-${event.type}`} data-testid="timeline-item">
              <span className="timeline-dot" aria-hidden="true" />
              <div>
                <div className="timeline-text">
                  {listId !== undefined && names.has(listId) ? (
                    <Link to={`/lists/${listId}`}>{text}</Link>
                  ) : (
                    text
                  )}
                </div>
                <div className="timeline-meta muted">
                  {formatDateTime(event.created_at)}
                  {event.actor ? ` · ${event.actor}` : ""}
                </div>
              </div>
            </li>
          );
        })}
      </ol>
      {events.hasNextPage && (
        <button type="button" className="btn btn-secondary btn-sm" disabled={events.isFetchingNextPage} onClick={() => void events.fetchNextPage()}>
          {events.isFetchingNextPage ? "Loading…" : "Older events"}
        </button>
      )}
    </section>
  );
}
