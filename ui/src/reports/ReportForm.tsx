import { useId, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError } from "../api/client";
import { useCampaigns } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { StatusBadge } from "../components/StatusBadge";
import {
  describeCadence,
  draftFromDefinition,
  draftToBody,
  emptyDraft,
  errorField,
  parseClock,
  parseRecipients,
  patchBody,
  toggleMetric,
  type Cadence,
  type FormField,
  type Period,
  type ReportDefinition,
  type ReportDraft,
  type ReportOptions,
  type Weekday,
} from "./model";
import { useSaveReport } from "./queries";

type Props = {
  /** The report being changed; none for a new one. */
  definition?: ReportDefinition;
  options: ReportOptions;
  onSaved: (saved: ReportDefinition, created: boolean) => void;
  onCancel: () => void;
};

const CAMPAIGN_FILTER_FROM = 8;

function FieldError({ field, error }: { field: FormField; error: { field: FormField; message: string } | null }) {
  if (!error || error.field !== field) return null;
  return (
    <p className="field-error" role="alert" data-testid={`report-error-${field}`}>
      {error.message}
    </p>
  );
}

/** Name, campaigns or a tag, metrics, period, schedule, recipients, active: a new report or changes to one. */
export function ReportForm({ definition, options, onSaved, onCancel }: Props) {
  const ids = useId();
  const campaigns = useCampaigns();
  const save = useSaveReport();
  const [draft, setDraft] = useState<ReportDraft>(() => (definition ? draftFromDefinition(definition) : emptyDraft(options)));
  const [campaignFilter, setCampaignFilter] = useState("");
  const change = (fields: Partial<ReportDraft>) => setDraft((old) => ({ ...old, ...fields }));

  const apiError = save.error instanceof ApiError ? save.error : null;
  const pointed = errorField(apiError?.field);
  const fieldError = apiError && pointed ? { field: pointed.field, message: apiError.message } : null;
  const otherError = save.error && !fieldError ? save.error : null;
  const invalid = (field: FormField) => fieldError?.field === field;

  const recipients = parseRecipients(draft.recipients);
  const badRecipient = pointed?.field === "recipients" ? pointed.index : null;
  const rows = campaigns.data ?? [];
  const known = new Set(rows.map((c) => c.id));
  const missing = draft.campaign_ids.filter((id) => !known.has(id));
  const needle = campaignFilter.trim().toLowerCase();
  const shown = needle ? rows.filter((c) => c.name.toLowerCase().includes(needle) || draft.campaign_ids.includes(c.id)) : rows;
  const { hour, minute } = parseClock(draft.time);
  const preview =
    hour >= 0
      ? describeCadence(
          {
            cadence: draft.cadence,
            hour,
            minute,
            weekday: draft.weekday,
            day_of_month: draft.day_of_month,
          },
          options.timezone,
        )
      : null;
  const unchanged = useMemo(
    () => (definition ? Object.keys(patchBody(definition, draft)).length === 0 : false),
    [definition, draft],
  );

  const toggleCampaign = (id: number, on: boolean) =>
    change({ campaign_ids: on ? [...draft.campaign_ids, id] : draft.campaign_ids.filter((x) => x !== id) });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const request = definition
      ? { id: definition.id, body: patchBody(definition, draft) }
      : { id: null, body: draftToBody(draft) };
    save.mutate(request, { onSuccess: (saved) => onSaved(saved, !definition) });
  };

  return (
    <form className="card form" onSubmit={submit} aria-label={definition ? "Edit report" : "New report"} noValidate>
      <div className="card-header">
        <h2>{definition ? `Edit “${definition.name}”` : "New report"}</h2>
      </div>
      <div className="form-grid form-grid-2">
        <label className="field">
          <span className="field-label">Name</span>
          <input
            name="name"
            className={invalid("name") ? "input invalid" : "input"}
            value={draft.name}
            onChange={(event) => change({ name: event.target.value })}
            maxLength={200}
            required
            autoFocus
            autoComplete="off"
            placeholder="Weekly newsletter figures"
          />
          <FieldError field="name" error={fieldError} />
        </label>
        <label className="field">
          <span className="field-label">Period</span>
          <select
            name="period"
            className={invalid("period") ? "input invalid" : "input"}
            value={draft.period}
            onChange={(event) => change({ period: event.target.value as Period })}
          >
            {options.periods.map((p) => (
              <option key={p.key} value={p.key}>
                {p.label}
              </option>
            ))}
          </select>
          <span className="field-hint">Whole days before the run, in {options.timezone}.</span>
          <FieldError field="period" error={fieldError} />
        </label>
      </div>

      <fieldset className={`fieldset ${invalid("selection") ? "invalid" : ""}`}>
        <legend className="field-label">Covers</legend>
        <div className="check-row">
          <label className="check">
            <input
              type="radio"
              name="selection"
              value="campaigns"
              checked={draft.selection === "campaigns"}
              onChange={() => change({ selection: "campaigns" })}
            />
            These campaigns
          </label>
          <label className="check">
            <input
              type="radio"
              name="selection"
              value="tag"
              checked={draft.selection === "tag"}
              onChange={() => change({ selection: "tag" })}
            />
            Every campaign with a tag
          </label>
        </div>
        {draft.selection === "campaigns" ? (
          <>
            {rows.length >= CAMPAIGN_FILTER_FROM && (
              <input
                type="search"
                className="input input-sm report-campaign-filter"
                placeholder="Find a campaign"
                aria-label="Find a campaign"
                value={campaignFilter}
                onChange={(event) => setCampaignFilter(event.target.value)}
              />
            )}
            <ErrorAlert error={campaigns.error} />
            {rows.length === 0 && <p className="muted small">{campaigns.isPending ? "Loading…" : "No campaigns yet."}</p>}
            <div className="check-list" data-testid="report-campaigns">
              {shown.map((campaign) => (
                <label key={campaign.id} className="check">
                  <input
                    type="checkbox"
                    name="campaign_ids"
                    value={campaign.id}
                    checked={draft.campaign_ids.includes(campaign.id)}
                    onChange={(event) => toggleCampaign(campaign.id, event.target.checked)}
                  />
                  <span>
                    {campaign.name} <StatusBadge status={campaign.status} />
                    {(campaign.tags ?? []).map((tag) => (
                      <span key={tag} className="tag report-tag">
                        {tag}
                      </span>
                    ))}
                  </span>
                </label>
              ))}
              {missing.map((id) => (
                <label key={id} className="check">
                  <input type="checkbox" name="campaign_ids" value={id} checked onChange={() => toggleCampaign(id, false)} />
                  <span className="muted">Campaign {id} (not found)</span>
                </label>
              ))}
            </div>
            <span className="field-hint">
              {draft.campaign_ids.length} chosen (at most {options.max_campaigns}); each is listed even without activity.
            </span>
          </>
        ) : (
          <label className="field">
            <span className="visually-hidden">Tag</span>
            <input
              name="tag"
              className={invalid("selection") ? "input invalid" : "input"}
              list={`${ids}-tags`}
              value={draft.tag}
              maxLength={50}
              placeholder={options.campaign_tags[0] ?? "newsletter"}
              onChange={(event) => change({ tag: event.target.value })}
            />
            <datalist id={`${ids}-tags`}>
              {options.campaign_tags.map((tag) => (
                <option key={tag} value={tag} />
              ))}
            </datalist>
            <span className="field-hint">
              The campaigns carrying this tag when the report runs (those with activity in the period).
              {options.campaign_tags.length > 0 && <> Tags in use: {options.campaign_tags.join(", ")}.</>}
            </span>
          </label>
        )}
        <FieldError field="selection" error={fieldError} />
      </fieldset>

      <fieldset className={`fieldset ${invalid("metrics") ? "invalid" : ""}`}>
        <legend className="field-label">
          Metrics{" "}
          <span className="muted small">
            ({draft.metrics.length} of {options.metrics.length}, the report's columns)
          </span>
        </legend>
        <div className="check-row">
          <button type="button" className="link-button" onClick={() => change({ metrics: options.metrics.map((m) => m.key) })}>
            All
          </button>
          <button type="button" className="link-button" onClick={() => change({ metrics: emptyDraft(options).metrics })}>
            Defaults
          </button>
        </div>
        <div className="column-checks">
          {options.metrics.map((metric) => (
            <label key={metric.key} className="check" title={metric.description}>
              <input
                type="checkbox"
                name="metrics"
                value={metric.key}
                checked={draft.metrics.includes(metric.key)}
                onChange={() => change({ metrics: toggleMetric(draft.metrics, metric.key, options.metrics) })}
              />
              {metric.label}
            </label>
          ))}
        </div>
        <FieldError field="metrics" error={fieldError} />
      </fieldset>

      <fieldset className="fieldset">
        <legend className="field-label">Schedule</legend>
        <div className="inline-fields">
          <Labelled label="Every">
            <select
              name="cadence"
              className={invalid("cadence") ? "input invalid" : "input"}
              value={draft.cadence}
              onChange={(event) => change({ cadence: event.target.value as Cadence })}
            >
              {options.cadences.map((cadence) => (
                <option key={cadence} value={cadence}>
                  {{ daily: "Day", weekly: "Week", monthly: "Month" }[cadence] ?? cadence}
                </option>
              ))}
            </select>
          </Labelled>
          {draft.cadence === "weekly" && (
            <Labelled label="On">
              <select
                name="weekday"
                className={invalid("weekday") ? "input invalid" : "input"}
                value={draft.weekday}
                onChange={(event) => change({ weekday: event.target.value as Weekday })}
              >
                {options.weekdays.map((day) => (
                  <option key={day} value={day}>
                    {day.charAt(0).toUpperCase() + day.slice(1)}
                  </option>
                ))}
              </select>
            </Labelled>
          )}
          {draft.cadence === "monthly" && (
            <Labelled label="Day of the month" className="field-number">
              <input
                type="number"
                name="day_of_month"
                className={invalid("day_of_month") ? "input invalid" : "input"}
                min={1}
                max={options.max_day_of_month}
                value={Number.isFinite(draft.day_of_month) && draft.day_of_month > 0 ? draft.day_of_month : ""}
                onChange={(event) => change({ day_of_month: Number(event.target.value) })}
              />
            </Labelled>
          )}
          <Labelled label="At">
            <input
              type="time"
              name="time"
              className={invalid("time") ? "input invalid" : "input"}
              value={draft.time}
              onChange={(event) => change({ time: event.target.value })}
              required
            />
          </Labelled>
        </div>
        <span className="field-hint" data-testid="report-schedule-preview">
          {preview ? `${preview}.` : "Choose a time."} Times are in the workspace's timezone, <strong>{options.timezone}</strong> (
          <Link to="/settings">Settings</Link>).
          {draft.cadence === "monthly" && ` Days 1 to ${options.max_day_of_month}, so that every month has the day.`}
        </span>
        <FieldError field="cadence" error={fieldError} />
        <FieldError field="weekday" error={fieldError} />
        <FieldError field="day_of_month" error={fieldError} />
        <FieldError field="time" error={fieldError} />
      </fieldset>

      <label className="field">
        <span className="field-label">Recipients</span>
        <textarea
          name="recipients"
          className={invalid("recipients") ? "input textarea invalid" : "input textarea"}
          rows={3}
          value={draft.recipients}
          onChange={(event) => change({ recipients: event.target.value })}
          placeholder={"ann@example.com\nbob@example.com"}
        />
        <span className="field-hint">
          One address per line, up to {options.max_recipients}; each gets the CSV and the HTML summary attached.
        </span>
        {recipients.length > 0 && (
          <ul className="chips" aria-label="Recipients">
            {recipients.map((address, index) => (
              <li key={`${index}-${address}`} className={index === badRecipient ? "chip chip-invalid" : "chip"}>
                {address}
              </li>
            ))}
          </ul>
        )}
        <FieldError field="recipients" error={fieldError} />
      </label>

      <label className="check">
        <input
          type="checkbox"
          name="enabled"
          checked={draft.enabled}
          onChange={(event) => change({ enabled: event.target.checked })}
        />
        <span>
          Active
          <span className="check-hint muted small">
            Runs on its schedule. A paused report keeps its history and can still be run by hand.
          </span>
        </span>
      </label>

      <ErrorAlert error={otherError} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={save.isPending || unchanged}>
          {definition ? "Save changes" : "Create report"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={save.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Labelled({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    <label className={`field ${className ?? ""}`}>
      <span className="field-label">{label}</span>
      {children}
    </label>
  );
}
