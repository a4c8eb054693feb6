import { useMemo, useState } from "react";
import type { RuleGroupType } from "react-querybuilder";
import { useLeadFields, useLists, type FilterJson } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { Options } from "../components/Options";
import { FilterBuilder } from "../filters/LazyFilterBuilder";
import { countRules, fieldMap, prepareFilter, toQuery } from "../filters/model";
import { formatNumber, formatPercent } from "../format";
import { useDebouncedValue } from "../useDebouncedValue";
import { CHANNELS, CHANNEL_LABELS, type Channel } from "./flow";
import type { ChannelReach } from "./model";
import { useDirectory, useReach, type ReachRequest } from "./queries";
import { WEEKDAY_LABELS, fromZonedLocal, toZonedLocal, type Schedule, type ScheduleProblem } from "./schedule";
import { GOAL_METRICS, OBJECTIVES, parseTags, type CampaignDraft, type GoalMetric, type Objective } from "./wizard";

export const REACH_DEBOUNCE_MS = 500;

type StepProps = {
  draft: CampaignDraft;
  change: (patch: Partial<CampaignDraft>) => void;
  /** The field the last save was refused for (e.g. "name"), outlined. */
  badField: string | null;
};

const cls = (badField: string | null, field: string, base = "input") => (badField === field ? `${base} invalid` : base);

export function BasicsStep({ draft, change, badField }: StepProps) {
  const directory = useDirectory();
  const [tagText, setTagText] = useState(draft.tags.join(", "));
  return (
    <section className="card form" aria-label="Basics">
      <div className="card-header">
        <h2>Basics and objective</h2>
      </div>
      <div className="form-grid">
        <label className="field">
          <span className="field-label">Name</span>
          <input
            name="name"
            className={cls(badField, "name")}
            value={draft.name}
            maxLength={200}
            placeholder="Spring newsletter"
            autoFocus
            required
            onChange={(event) => change({ name: event.target.value })}
          />
        </label>
        <label className="field">
          <span className="field-label">Objective</span>
          <select
            name="objective"
            className={cls(badField, "objective")}
            value={draft.objective}
            onChange={(event) => change({ objective: event.target.value as Objective })}
          >
            <Options items={OBJECTIVES} />
          </select>
        </label>
        <label className="field">
          <span className="field-label">Goal</span>
          <select
            name="goal_metric"
            className={cls(badField, "goal_metric")}
            value={draft.goal_metric}
            onChange={(event) => change({ goal_metric: event.target.value as GoalMetric })}
          >
            <Options items={GOAL_METRICS} />
          </select>
        </label>
        {draft.goal_metric !== "none" && (
          <label className="field">
            <span className="field-label">Target {draft.goal_metric === "conversions" ? "(conversions)" : "(%)"}</span>
            <input
              name="goal_target"
              type="number"
              min={0}
              step="any"
              className={cls(badField, "goal_target")}
              value={draft.goal_target ?? ""}
              onChange={(event) => change({ goal_target: event.target.value === "" ? null : Number(event.target.value) })}
            />
          </label>
        )}
        <label className="field">
          <span className="field-label">Owner</span>
          <select
            name="owner_id"
            className={cls(badField, "owner_id")}
            value={draft.owner_id ?? ""}
            onChange={(event) => change({ owner_id: event.target.value === "" ? null : Number(event.target.value) })}
          >
            <option value="">Nobody</option>
            {draft.owner_id !== null && !directory.data?.some((m) => m.user_id === draft.owner_id) && (
              <option value={draft.owner_id}>User {draft.owner_id}</option>
            )}
            {(directory.data ?? []).map((m) => (
              <option key={m.user_id} value={m.user_id}>
                {m.name || m.email}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">Tags</span>
          <input
            name="tags"
            className={cls(badField, "tags")}
            value={tagText}
            placeholder="spring, newsletter"
            onChange={(event) => {
              setTagText(event.target.value);
              change({ tags: parseTags(event.target.value) });
            }}
          />
          <span className="field-hint">Separated by commas.</span>
        </label>
        <label className="field">
          <span className="field-label">Cost</span>
          <input
            name="cost"
            type="number"
            min={0}
            step="0.01"
            className={cls(badField, "cost")}
            value={Number.isFinite(draft.cost) ? draft.cost : ""}
            onChange={(event) => change({ cost: event.target.value === "" ? 0 : Number(event.target.value) })}
          />
          <span className="field-hint">What the campaign costs, for its return on investment.</span>
        </label>
      </div>
      <TrackingFields draft={draft} change={change} badField={badField} />
    </section>
  );
}

/** Opens, clicks and UTM parameters of the campaign's emails. */
function TrackingFields({ draft, change, badField }: StepProps) {
  const tracking = draft.tracking;
  const set = (next: Partial<typeof tracking>) => change({ tracking: { ...tracking, ...next } });
  const utm = tracking.utm;
  return (
    <fieldset className="fieldset" aria-label="Tracking">
      <legend className="field-label">Email tracking</legend>
      <label className="checkbox">
        <input type="checkbox" name="track_opens" checked={tracking.opens} onChange={(e) => set({ opens: e.target.checked })} /> Opens
        (an invisible image)
      </label>
      <label className="checkbox">
        <input type="checkbox" name="track_clicks" checked={tracking.clicks} onChange={(e) => set({ clicks: e.target.checked })} />{" "}
        Clicks (links go through Herald)
      </label>
      <label className="checkbox">
        <input
          type="checkbox"
          name="track_utm"
          checked={utm !== null}
          onChange={(e) =>
            set({ utm: e.target.checked ? { source: "herald", medium: "email", campaign: slug(draft.name) } : null })
          }
        />{" "}
        UTM parameters on the links
      </label>
      {utm && (
        <div className="form-grid">
          {(["source", "medium", "campaign"] as const).map((key) => (
            <label key={key} className="field">
              <span className="field-label">utm_{key}</span>
              <input
                name={`utm_${key}`}
                className={cls(badField, `tracking.utm.${key}`)}
                value={utm[key]}
                maxLength={100}
                onChange={(e) => set({ utm: { ...utm, [key]: e.target.value } })}
              />
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}

/** "Autumn News 2026!" -> "autumn-news-2026" */
export function slug(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);
}

/** The audience: lists to include (none: every lead), lists and a filter to exclude, and what can be reached. */
export function AudienceStep({ draft, change, badField, channels }: StepProps & { channels: Channel[] }) {
  const lists = useLists();
  const fields = useLeadFields();
  const byName = useMemo(() => fieldMap(fields.data), [fields.data]);
  const [query, setQuery] = useState<RuleGroupType>(() => toQuery(draft.exclude_filter));
  const [filterOpen, setFilterOpen] = useState(draft.exclude_filter !== null && countRules(toQuery(draft.exclude_filter)) > 0);

  const toggle = (key: "list_ids" | "exclude_list_ids", id: number, on: boolean) => {
    const set = new Set(draft[key]);
    if (on) set.add(id);
    else set.delete(id);
    change({ [key]: [...set].sort((a, b) => a - b) });
  };

  const setFilter = (next: RuleGroupType) => {
    setQuery(next);
    const full = prepareFilter(next, byName);
    change({ exclude_filter: full.rules > 0 ? (full.filter as FilterJson) : null });
  };

  // The counts skip rules still being filled in, like the list editor's preview.
  const live = useMemo(() => prepareFilter(query, byName, { dropIncomplete: true }), [query, byName]);
  const reachBody: ReachRequest = {
    list_ids: draft.list_ids,
    exclude_list_ids: draft.exclude_list_ids,
    exclude_filter: filterOpen && live.rules > 0 ? live.filter : null,
    frequency_cap: draft.schedule.frequency_cap ?? null,
  };
  const reachKey = useDebouncedValue(JSON.stringify(reachBody), REACH_DEBOUNCE_MS);
  const reach = useReach(JSON.parse(reachKey) as ReachRequest);
  const rows = lists.data ?? [];

  return (
    <>
      <section className="card form" aria-label="Audience">
        <div className="card-header">
          <h2>Audience</h2>
        </div>
        <div className="form-grid-2 audience-grid">
          <fieldset className={`fieldset ${badField === "list_ids" ? "invalid" : ""}`}>
            <legend className="field-label">Send to the members of</legend>
            {rows.length === 0 && <p className="muted small">{lists.isPending ? "Loading…" : "No lists yet."}</p>}
            <div className="check-list">
              {rows.map((list) => (
                <label key={list.id} className="check">
                  <input
                    type="checkbox"
                    name="list_ids"
                    value={list.id}
                    checked={draft.list_ids.includes(list.id)}
                    onChange={(event) => toggle("list_ids", list.id, event.target.checked)}
                  />
                  <span>
                    {list.name} <span className="muted">({formatNumber(list.member_count)})</span>
                  </span>
                </label>
              ))}
            </div>
            <span className="field-hint">
              {draft.list_ids.length === 0 ? "No list chosen: every lead of the workspace." : "Leads in any of these lists."}
            </span>
          </fieldset>
          <fieldset className={`fieldset ${badField === "exclude_list_ids" ? "invalid" : ""}`}>
            <legend className="field-label">Leave out the members of</legend>
            <div className="check-list">
              {rows.map((list) => (
                <label key={list.id} className="check">
                  <input
                    type="checkbox"
                    name="exclude_list_ids"
                    value={list.id}
                    checked={draft.exclude_list_ids.includes(list.id)}
                    onChange={(event) => toggle("exclude_list_ids", list.id, event.target.checked)}
                  />
                  <span>{list.name}</span>
                </label>
              ))}
            </div>
          </fieldset>
        </div>
        <label className="check">
          <input
            type="checkbox"
            checked={filterOpen}
            onChange={(event) => {
              setFilterOpen(event.target.checked);
              if (!event.target.checked) change({ exclude_filter: null });
              else setFilter(query);
            }}
          />
          <span>Also leave out the leads matching a filter</span>
        </label>
        {filterOpen && fields.data && (
          <div className={badField?.startsWith("exclude_filter") ? "flow-filter invalid" : ""}>
            <FilterBuilder
              fields={fields.data}
              query={query}
              onQueryChange={setFilter}
              note={live.skipped > 0 ? `${live.skipped} incomplete rule${live.skipped === 1 ? " is" : "s are"} not counted yet` : null}
            />
          </div>
        )}
        <ErrorAlert error={lists.error ?? fields.error} />
      </section>
      <section className={`card preview-panel ${reach.isFetching ? "is-stale" : ""}`} aria-label="Reachable leads" aria-busy={reach.isFetching}>
        <div className="card-header">
          <h2>Reachable now</h2>
          {reach.isFetching && <span className="muted small">Counting…</span>}
        </div>
        <ErrorAlert error={reach.error} />
        {reach.data && (
          <div className="stats">
            <div className="stat">
              <div className="stat-value" data-testid="reach-total">
                {formatNumber(reach.data.total)}
              </div>
              <div className="stat-label">Leads in the audience</div>
            </div>
            {CHANNELS.map((channel) => (
              <div className={`stat ${channels.length > 0 && !channels.includes(channel) ? "stat-dim" : ""}`} key={channel}>
                <div className="stat-value" data-testid={`reach-${channel}`}>
                  {formatNumber(reach.data.reachable[channel])}
                </div>
                <div className="stat-label">
                  By {CHANNEL_LABELS[channel]}
                  {reach.data.total > 0 && (
                    <span className="muted"> · {formatPercent((reach.data.reachable[channel] / reach.data.total) * 100)}</span>
                  )}
                  <ReachReasons detail={reach.data.details[channel]} />
                </div>
              </div>
            ))}
            {reach.data.capped !== null && (
              <div className="stat">
                <div className="stat-value" data-testid="reach-capped">
                  {formatNumber(reach.data.capped)}
                </div>
                <div className="stat-label">At their frequency cap</div>
              </div>
            )}
          </div>
        )}
        <p className="muted small">
          Reachable: consent given (or not needed), not suppressed, a valid address. The audience is frozen at launch.
        </p>
      </section>
    </>
  );
}

/** Why the rest of the audience cannot be reached on a channel: "3 no consent · 1 suppressed · 2 capped". */
function ReachReasons({ detail }: { detail: ChannelReach | undefined }) {
  if (!detail) return null;
  const parts = [
    [detail.noConsent, "no consent"],
    [detail.suppressed, "suppressed"],
    [detail.invalidAddress, "no valid address"],
    [detail.capped, "capped"],
  ].filter(([n]) => (n as number) > 0);
  if (parts.length === 0) return null;
  return <div className="muted small">{parts.map(([n, label]) => `${formatNumber(n as number)} ${label}`).join(" · ")}</div>;
}

type ScheduleProps = {
  schedule: Schedule;
  onChange: (schedule: Schedule) => void;
  timeZone: string;
  problems: ScheduleProblem[];
  badField: string | null;
};

function problemFor(problems: ScheduleProblem[], badField: string | null, field: string): string | null {
  return problems.find((p) => p.field === field || p.field.startsWith(`${field}.`))?.message ?? (badField === field ? "Refused." : null);
}

export function ScheduleStep({ schedule, onChange, timeZone, problems, badField }: ScheduleProps) {
  const set = (patch: Partial<Schedule>) => onChange({ ...schedule, ...patch });
  const atProblem = problemFor(problems, badField, "schedule.at");
  const throttle = schedule.throttle_per_minute ?? {};
  const cap = schedule.frequency_cap ?? null;
  const quiet = schedule.quiet_hours ?? null;
  const err = (field: string) => problemFor(problems, badField, field);
  return (
    <section className="card form" aria-label="Schedule">
      <div className="card-header">
        <h2>Schedule and sending rules</h2>
      </div>
      <fieldset className="fieldset">
        <legend className="field-label">Start</legend>
        <div className="check-row">
          <label className="check">
            <input type="radio" name="schedule_mode" value="now" checked={schedule.mode === "now"} onChange={() => set({ mode: "now" })} />
            <span>Now (at launch)</span>
          </label>
          <label className="check">
            <input type="radio" name="schedule_mode" value="at" checked={schedule.mode === "at"} onChange={() => set({ mode: "at" })} />
            <span>At a date and time</span>
          </label>
          <label className="check">
            <input
              type="radio"
              name="schedule_mode"
              value="local_time"
              checked={schedule.mode === "local_time"}
              onChange={() => set({ mode: "local_time", local_time: schedule.local_time ?? "09:00" })}
            />
            <span>At a local time for each lead</span>
          </label>
        </div>
      </fieldset>
      {schedule.mode === "at" && (
        <label className="field narrow-field">
          <span className="field-label">Date and time ({timeZone})</span>
          <input
            type="datetime-local"
            name="at"
            className={`input ${atProblem ? "invalid" : ""}`}
            value={schedule.at ? toZonedLocal(schedule.at, timeZone) : ""}
            onChange={(event) => set({ at: fromZonedLocal(event.target.value, timeZone)?.toISOString() ?? null })}
          />
          {atProblem && <span className="field-error">{atProblem}</span>}
        </label>
      )}
      {schedule.mode === "local_time" && (
        <div className="inline-fields">
          <label className="field">
            <span className="field-label">Day</span>
            <input
              type="date"
              name="date"
              className={`input ${err("schedule.date") ? "invalid" : ""}`}
              value={schedule.date ?? ""}
              onChange={(event) => set({ date: event.target.value || null })}
            />
          </label>
          <label className="field">
            <span className="field-label">Local time</span>
            <input
              type="time"
              name="local_time"
              className={`input ${err("schedule.local_time") ? "invalid" : ""}`}
              value={schedule.local_time ?? ""}
              onChange={(event) => set({ local_time: event.target.value || null })}
            />
          </label>
          <span className="field-hint">Leads are grouped by timezone; each group starts when its clock shows that time.</span>
        </div>
      )}

      <fieldset className="fieldset">
        <legend className="field-label">Throttle (messages per minute, empty: no limit)</legend>
        <div className="inline-fields">
          {CHANNELS.map((channel) => (
            <label key={channel} className="field field-number">
              <span className="field-label">{CHANNEL_LABELS[channel]}</span>
              <input
                type="number"
                name={`throttle_${channel}`}
                min={1}
                step={1}
                className={`input input-sm ${err(`schedule.throttle_per_minute.${channel}`) ? "invalid" : ""}`}
                value={throttle[channel] ?? ""}
                onChange={(event) => {
                  const next = { ...throttle };
                  if (event.target.value === "") delete next[channel];
                  else next[channel] = Number(event.target.value);
                  set({ throttle_per_minute: Object.keys(next).length ? next : null });
                }}
              />
            </label>
          ))}
        </div>
      </fieldset>

      <label className="check">
        <input
          type="checkbox"
          name="frequency_cap"
          checked={cap !== null}
          onChange={(event) => set({ frequency_cap: event.target.checked ? { max_messages: 3, days: 7 } : null })}
        />
        <span>Frequency cap across all campaigns</span>
      </label>
      {cap && (
        <div className="inline-fields">
          <label className="field field-number">
            <span className="field-label">At most</span>
            <input
              type="number"
              name="cap_max"
              min={1}
              className={`input input-sm ${err("schedule.frequency_cap") ? "invalid" : ""}`}
              value={cap.max_messages}
              onChange={(event) => set({ frequency_cap: { ...cap, max_messages: Number(event.target.value) } })}
            />
          </label>
          <label className="field field-number">
            <span className="field-label">messages per lead in (days)</span>
            <input
              type="number"
              name="cap_days"
              min={1}
              max={365}
              className={`input input-sm ${err("schedule.frequency_cap") ? "invalid" : ""}`}
              value={cap.days}
              onChange={(event) => set({ frequency_cap: { ...cap, days: Number(event.target.value) } })}
            />
          </label>
        </div>
      )}

      <label className="check">
        <input
          type="checkbox"
          name="quiet_hours"
          checked={quiet !== null}
          onChange={(event) => set({ quiet_hours: event.target.checked ? { start: "21:00", end: "08:00" } : null })}
        />
        <span>Quiet hours (each lead's local time)</span>
      </label>
      {quiet && (
        <div className="inline-fields">
          <label className="field">
            <span className="field-label">From</span>
            <input
              type="time"
              name="quiet_start"
              className={`input input-sm ${err("schedule.quiet_hours") ? "invalid" : ""}`}
              value={quiet.start}
              onChange={(event) => set({ quiet_hours: { ...quiet, start: event.target.value } })}
            />
          </label>
          <label className="field">
            <span className="field-label">To</span>
            <input
              type="time"
              name="quiet_end"
              className={`input input-sm ${err("schedule.quiet_hours") ? "invalid" : ""}`}
              value={quiet.end}
              onChange={(event) => set({ quiet_hours: { ...quiet, end: event.target.value } })}
            />
          </label>
        </div>
      )}

      <fieldset className="fieldset">
        <legend className="field-label">Sending days (each lead's local weekday)</legend>
        <div className="check-row">
          {WEEKDAY_LABELS.map((label, day) => (
            <label key={label} className="check">
              <input
                type="checkbox"
                name="weekdays"
                value={day}
                checked={schedule.weekdays.includes(day)}
                onChange={(event) => {
                  const days = new Set(schedule.weekdays);
                  if (event.target.checked) days.add(day);
                  else days.delete(day);
                  set({ weekdays: [...days].sort((a, b) => a - b) });
                }}
              />
              <span>{label}</span>
            </label>
          ))}
        </div>
        {err("schedule.weekdays") && <span className="field-error">{err("schedule.weekdays")}</span>}
      </fieldset>
      {problems
        .filter((p) => !["schedule.at", "schedule.weekdays"].includes(p.field))
        .map((p) => (
          <p key={p.field} className="field-error">
            {p.message}
          </p>
        ))}
    </section>
  );
}
