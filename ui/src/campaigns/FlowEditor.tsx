import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
import type { RuleGroupType } from "react-querybuilder";
import { useLeadFields } from "../api/queries";
import { Options } from "../components/Options";
import { FilterBuilder } from "../filters/LazyFilterBuilder";
import { fieldMap, prepareFilter, toQuery } from "../filters/model";
import {
  CHANNELS,
  CHANNEL_LABELS,
  ENGAGEMENT_EVENTS,
  EVENT_LABELS,
  MAX_LEVELS,
  MAX_VARIANTS,
  MIN_VARIANTS,
  ROOT,
  STEP_TYPE_LABELS,
  WINNER_METRICS,
  addVariant,
  armsOf,
  canMove,
  earlierSends,
  fieldProblems,
  insertStep,
  levelOf,
  moveStep,
  newStep,
  percentProblems,
  placeProblems,
  removeStep,
  removeVariant,
  updateStep,
  type BranchStep,
  type Channel,
  type Duration,
  type Flow,
  type PlacedProblem,
  type Problem,
  type SendStep,
  type SequencePath,
  type SplitStep,
  type Step,
  type StepPath,
  type StepType,
  type WaitStep,
} from "./flow";
import { TemplatePicker } from "./TemplatePicker";

type EditorContext = {
  flow: Flow;
  change: (next: (flow: Flow) => Flow) => void;
  byStep: Map<StepPath, PlacedProblem[]>;
  disabled: boolean;
};

const Ctx = createContext<EditorContext | null>(null);

function useEditor(): EditorContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("flow editor parts outside <FlowEditor>");
  return ctx;
}

type Props = {
  flow: Flow;
  onChange: (flow: Flow) => void;
  /** The API's problems (validate, or a 422) and the wizard's own. */
  problems: readonly Problem[];
  /** The workspace's lead statuses, for "exit on goal". */
  statuses: readonly string[];
  disabled?: boolean;
};

/**
 * The flow as a vertical list of steps; branches and A/B splits hold their arms' steps, indented. Every problem
 * the API names (flow.steps[2].yes[0].template_id) is shown on that step, its field outlined.
 */
export function FlowEditor({ flow, onChange, problems, statuses, disabled = false }: Props) {
  const { byStep, general } = useMemo(() => placeProblems(flow, problems), [flow, problems]);
  const ctx = useMemo<EditorContext>(
    () => ({ flow, change: (next) => onChange(next(flow)), byStep, disabled }),
    [flow, onChange, byStep, disabled],
  );
  return (
    <Ctx.Provider value={ctx}>
      <div className="flow-editor" aria-label="Flow">
        {general.length > 0 && (
          <ul className="flow-general-problems" data-testid="flow-general-problems">
            {general.map((p, i) => (
              <li key={i} className={`problem-line problem-${p.severity}`}>
                {p.message}
              </li>
            ))}
          </ul>
        )}
        <Sequence sequence={ROOT} steps={flow.steps} where="" />
        <ExitOnGoal flow={flow} statuses={statuses} onChange={onChange} disabled={disabled} />
      </div>
    </Ctx.Provider>
  );
}

function Sequence({ sequence, steps, where }: { sequence: SequencePath; steps: Step[]; where: string }) {
  return (
    <div className="flow-sequence">
      {steps.length === 0 && sequence !== ROOT && <p className="muted small flow-empty">No steps: leads go straight on.</p>}
      {steps.length === 0 && sequence === ROOT && (
        <p className="muted flow-empty">Add the first step: usually a send.</p>
      )}
      {steps.length > 0 && (
        <ol className="flow-steps">
          {steps.map((step, index) => (
            <StepCard key={`${step.id}-${index}`} step={step} path={`${sequence}[${index}]`} number={index + 1} />
          ))}
        </ol>
      )}
      <AddStep sequence={sequence} where={where} />
    </div>
  );
}

const ADDABLE: StepType[] = ["send", "wait", "branch", "ab_split", "exit"];

function AddStep({ sequence, where }: { sequence: SequencePath; where: string }) {
  const { change, disabled } = useEditor();
  const deep = levelOf(sequence) >= MAX_LEVELS;
  return (
    <div className="flow-add" role="group" aria-label={`Add a step${where}`}>
      {ADDABLE.filter((type) => !(deep && (type === "branch" || type === "ab_split"))).map((type) => (
        <button
          key={type}
          type="button"
          className="btn btn-secondary btn-sm"
          disabled={disabled}
          aria-label={`Add ${STEP_TYPE_LABELS[type].toLowerCase()} step${where}`}
          onClick={() => change((flow) => insertStep(flow, sequence, newStep(flow, type)))}
        >
          + {STEP_TYPE_LABELS[type]}
        </button>
      ))}
    </div>
  );
}

function StepCard({ step, path, number }: { step: Step; path: StepPath; number: number }) {
  const { flow, change, byStep, disabled } = useEditor();
  const problems = byStep.get(path) ?? [];
  const errors = problems.filter((p) => p.severity === "error").length;
  const update = (next: (s: Step) => Step) => change((f) => updateStep(f, path, next));
  return (
    <li
      className={`flow-step flow-step-${step.type} ${errors ? "has-error" : problems.length ? "has-warning" : ""}`}
      data-testid="flow-step"
      data-step-id={step.id}
      data-path={path}
      aria-label={`${STEP_TYPE_LABELS[step.type]} step ${step.id}`}
    >
      <div className="flow-step-head">
        <span className="flow-step-number">{number}</span>
        <span className={`flow-type flow-type-${step.type}`}>{STEP_TYPE_LABELS[step.type]}</span>
        <code className="flow-step-id">{step.id}</code>
        <span className="flex-spacer" />
        <div className="flow-step-tools">
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            aria-label="Move up"
            title="Move up"
            disabled={disabled || !canMove(flow, path, -1)}
            onClick={() => change((f) => moveStep(f, path, -1))}
          >
            ↑
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            aria-label="Move down"
            title="Move down"
            disabled={disabled || !canMove(flow, path, 1)}
            onClick={() => change((f) => moveStep(f, path, 1))}
          >
            ↓
          </button>
          <button
            type="button"
            className="btn btn-ghost btn-sm"
            aria-label="Delete step"
            title="Delete step"
            disabled={disabled}
            onClick={() => change((f) => removeStep(f, path))}
          >
            ×
          </button>
        </div>
      </div>
      {problems.length > 0 && (
        <ul className="step-problems" data-testid="step-problems">
          {problems.map((p, i) => (
            <li key={i} className={`problem-line problem-${p.severity}`} role={p.severity === "error" ? "alert" : undefined}>
              {p.message}
              {p.field && <span className="muted"> · {p.field}</span>}
            </li>
          ))}
        </ul>
      )}
      <div className="flow-step-body">
        {step.type === "send" && <SendBody step={step} problems={problems} update={update} />}
        {step.type === "wait" && <WaitBody step={step} problems={problems} update={update} />}
        {step.type === "branch" && <BranchBody step={step} path={path} problems={problems} update={update} />}
        {step.type === "ab_split" && <SplitBody step={step} path={path} problems={problems} update={update} />}
        {step.type === "exit" && <p className="muted small">Leads who reach this step leave the campaign.</p>}
      </div>
    </li>
  );
}

type BodyProps<S extends Step> = { step: S; problems: PlacedProblem[]; update: (next: (s: Step) => Step) => void };

/** The channels as `<Options>` items, labelled for people (the send step's channel and its fallback's). */
const channelItems = (channels: readonly Channel[]) => channels.map((c) => ({ value: c, label: CHANNEL_LABELS[c] }));

const bad = (problems: PlacedProblem[], field: string) => fieldProblems(problems, field).some((p) => p.severity === "error");

function SendBody({ step, problems, update }: BodyProps<SendStep>) {
  const { disabled } = useEditor();
  const set = (patch: Partial<SendStep>) => update((s) => ({ ...(s as SendStep), ...patch }));
  const fallback = step.fallback ?? null;
  const otherChannels = CHANNELS.filter((c) => c !== step.channel);
  return (
    <fieldset className="flow-fields" disabled={disabled}>
      <div className="form-grid form-grid-3">
        <label className="field">
          <span className="field-label">Channel</span>
          <select
            className={`input ${bad(problems, "channel") ? "invalid" : ""}`}
            aria-label="Channel"
            value={step.channel}
            onChange={(event) => {
              const channel = event.target.value as Channel;
              const keepFallback = fallback && fallback.channel !== channel ? fallback : null;
              set({ channel, template_id: null, template_version: null, fallback: keepFallback });
            }}
          >
            <Options items={channelItems(CHANNELS)} />
          </select>
        </label>
        <TemplatePicker
          channel={step.channel}
          templateId={step.template_id}
          version={step.template_version}
          label="Template"
          invalid={bad(problems, "template_id")}
          versionInvalid={bad(problems, "template_version")}
          onChange={(template_id, template_version) => set({ template_id, template_version })}
        />
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={fallback !== null}
          onChange={(event) =>
            set({
              fallback: event.target.checked
                ? { channel: otherChannels[0] as Channel, template_id: null, template_version: null }
                : null,
            })
          }
        />
        <span>Fallback channel when {CHANNEL_LABELS[step.channel]} is impossible or fails for good</span>
      </label>
      {fallback && (
        <div className="form-grid form-grid-3 flow-fallback">
          <label className="field">
            <span className="field-label">Fallback channel</span>
            <select
              className={`input ${bad(problems, "fallback.channel") ? "invalid" : ""}`}
              aria-label="Fallback channel"
              value={fallback.channel}
              onChange={(event) =>
                set({ fallback: { channel: event.target.value as Channel, template_id: null, template_version: null } })
              }
            >
              <Options items={channelItems(otherChannels)} />
            </select>
          </label>
          <TemplatePicker
            channel={fallback.channel}
            templateId={fallback.template_id}
            version={fallback.template_version}
            label="Fallback template"
            invalid={bad(problems, "fallback.template_id")}
            versionInvalid={bad(problems, "fallback.template_version")}
            onChange={(template_id, template_version) => set({ fallback: { ...fallback, template_id, template_version } })}
          />
        </div>
      )}
    </fieldset>
  );
}

function NumberInput({
  label,
  value,
  onChange,
  min = 0,
  max,
  invalid,
}: {
  label: string;
  value: number | undefined;
  onChange: (value: number) => void;
  min?: number;
  max?: number;
  invalid?: boolean;
}) {
  return (
    <label className="field field-number">
      <span className="field-label">{label}</span>
      <input
        type="number"
        className={`input input-sm ${invalid ? "invalid" : ""}`}
        aria-label={label}
        min={min}
        max={max}
        step={1}
        value={value ?? 0}
        onChange={(event) => onChange(event.target.value === "" ? 0 : Math.max(min, Math.floor(Number(event.target.value))))}
      />
    </label>
  );
}

function DurationFields({
  value,
  onChange,
  invalid,
  prefix = "",
}: {
  value: Duration;
  onChange: (value: Duration) => void;
  invalid?: boolean;
  prefix?: string;
}) {
  return (
    <div className="inline-fields">
      <NumberInput label={`${prefix}Days`} value={value.days} invalid={invalid} onChange={(days) => onChange({ ...value, days })} />
      <NumberInput label={`${prefix}Hours`} value={value.hours} invalid={invalid} onChange={(hours) => onChange({ ...value, hours })} />
      <NumberInput
        label={`${prefix}Minutes`}
        value={value.minutes}
        invalid={invalid}
        onChange={(minutes) => onChange({ ...value, minutes })}
      />
    </div>
  );
}

function WaitBody({ step, problems, update }: BodyProps<WaitStep>) {
  const { disabled } = useEditor();
  const set = (patch: Partial<WaitStep>) => update((s) => ({ ...(s as WaitStep), ...patch }));
  const mode = step.until ? "until" : "duration";
  return (
    <fieldset className="flow-fields" disabled={disabled}>
      <div className="segmented" role="radiogroup" aria-label="Wait kind">
        <button
          type="button"
          role="radio"
          aria-checked={mode === "duration"}
          className={`btn btn-sm ${mode === "duration" ? "active" : "btn-secondary"}`}
          onClick={() => set({ until: null, duration: step.duration ?? { days: 1 } })}
        >
          For a while
        </button>
        <button
          type="button"
          role="radio"
          aria-checked={mode === "until"}
          className={`btn btn-sm ${mode === "until" ? "active" : "btn-secondary"}`}
          onClick={() => set({ until: step.until ?? { date: "", time: "09:00", timezone_mode: "workspace" } })}
        >
          Until a date
        </button>
      </div>
      {mode === "duration" && (
        <DurationFields
          value={step.duration ?? {}}
          invalid={bad(problems, "duration")}
          onChange={(duration) => set({ duration })}
        />
      )}
      {step.until && (
        <div className="inline-fields">
          <label className="field">
            <span className="field-label">Date</span>
            <input
              type="date"
              className={`input input-sm ${bad(problems, "until") ? "invalid" : ""}`}
              aria-label="Wait until date"
              value={step.until.date}
              onChange={(event) => set({ until: { ...step.until!, date: event.target.value } })}
            />
          </label>
          <label className="field">
            <span className="field-label">Time</span>
            <input
              type="time"
              className={`input input-sm ${bad(problems, "until") ? "invalid" : ""}`}
              aria-label="Wait until time"
              value={step.until.time}
              onChange={(event) => set({ until: { ...step.until!, time: event.target.value } })}
            />
          </label>
          <label className="field">
            <span className="field-label">In the timezone of</span>
            <select
              className="input input-sm"
              aria-label="Timezone"
              value={step.until.timezone_mode}
              onChange={(event) =>
                set({ until: { ...step.until!, timezone_mode: event.target.value === "lead" ? "lead" : "workspace" } })
              }
            >
              <option value="workspace">the workspace</option>
              <option value="lead">each lead</option>
            </select>
          </label>
        </div>
      )}
      <label className="check">
        <input
          type="checkbox"
          checked={step.respect_quiet_hours}
          onChange={(event) => set({ respect_quiet_hours: event.target.checked })}
        />
        <span>Respect quiet hours and weekdays (end the wait when sending is allowed)</span>
      </label>
    </fieldset>
  );
}

function BranchBody({ step, path, problems, update }: BodyProps<BranchStep> & { path: StepPath }) {
  const { flow, disabled } = useEditor();
  const set = (patch: Partial<BranchStep>) => update((s) => ({ ...(s as BranchStep), ...patch }));
  const sends = earlierSends(flow, path);
  const condition = step.condition;
  return (
    <>
      <fieldset className="flow-fields" disabled={disabled}>
        <div className="inline-fields">
          <label className="field">
            <span className="field-label">Split on</span>
            <select
              className="input input-sm"
              aria-label="Condition kind"
              value={condition.kind}
              onChange={(event) =>
                set({
                  condition:
                    event.target.value === "engagement"
                      ? { kind: "engagement", step_id: sends[sends.length - 1]?.id ?? "", event: "opened" }
                      : { kind: "filter", filter: { combinator: "and", rules: [] } },
                })
              }
            >
              <option value="engagement">Engagement with an earlier send</option>
              <option value="filter">Lead fields</option>
            </select>
          </label>
          {condition.kind === "engagement" && (
            <>
              <label className="field">
                <span className="field-label">The lead</span>
                <select
                  className={`input input-sm ${bad(problems, "condition.event") ? "invalid" : ""}`}
                  aria-label="Event"
                  value={condition.event}
                  onChange={(event) => set({ condition: { ...condition, event: event.target.value as typeof condition.event } })}
                >
                  {ENGAGEMENT_EVENTS.map((e) => (
                    <option key={e} value={e}>
                      {EVENT_LABELS[e]}
                    </option>
                  ))}
                </select>
              </label>
              <label className="field">
                <span className="field-label">Send step</span>
                <select
                  className={`input input-sm ${bad(problems, "condition.step_id") || bad(problems, "condition") ? "invalid" : ""}`}
                  aria-label="Send step"
                  value={condition.step_id}
                  onChange={(event) => set({ condition: { ...condition, step_id: event.target.value } })}
                >
                  <option value="">{sends.length ? "Choose a send step" : "No earlier send step"}</option>
                  {!sends.some((s) => s.id === condition.step_id) && condition.step_id && (
                    <option value={condition.step_id}>{condition.step_id} (not before this branch)</option>
                  )}
                  {sends.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.id} ({CHANNEL_LABELS[s.channel]})
                    </option>
                  ))}
                </select>
              </label>
            </>
          )}
        </div>
        {condition.kind === "filter" && (
          <BranchFilter
            filter={condition.filter}
            onChange={(filter) => set({ condition: { kind: "filter", filter } })}
            invalid={bad(problems, "condition")}
          />
        )}
      </fieldset>
      <Arms step={step} path={path} />
    </>
  );
}

function BranchFilter({
  filter,
  onChange,
  invalid,
}: {
  filter: { [key: string]: unknown };
  onChange: (filter: { [key: string]: unknown }) => void;
  invalid: boolean;
}) {
  const fields = useLeadFields();
  const [query, setQuery] = useState<RuleGroupType>(() => toQuery(filter));
  const byName = useMemo(() => fieldMap(fields.data), [fields.data]);
  if (!fields.data) return <p className="muted small">Loading the fields…</p>;
  return (
    <div className={`flow-filter ${invalid ? "invalid" : ""}`}>
      <FilterBuilder
        fields={fields.data}
        query={query}
        onQueryChange={(next) => {
          setQuery(next);
          onChange(prepareFilter(next, byName).filter);
        }}
      />
    </div>
  );
}

function Arms({ step, path }: { step: BranchStep | SplitStep; path: StepPath }) {
  return (
    <div className="flow-arms">
      {armsOf(step, path).map((arm, i) => {
        const steps = step.type === "branch" ? step[arm.key as "yes" | "no"] : (step.variants[i]?.steps ?? []);
        return (
          <Arm key={arm.sequence} label={step.type === "branch" ? arm.label : `Variant ${arm.label}`} tone={arm.key}>
            <Sequence sequence={arm.sequence} steps={steps} where={` to ${arm.label} of ${step.id}`} />
          </Arm>
        );
      })}
    </div>
  );
}

function Arm({ label, tone, children }: { label: string; tone: string; children: ReactNode }) {
  return (
    <section className={`flow-arm flow-arm-${tone === "yes" || tone === "no" ? tone : "variant"}`} aria-label={label}>
      <h4 className="flow-arm-title">{label}</h4>
      {children}
    </section>
  );
}

function SplitBody({ step, path, problems, update }: BodyProps<SplitStep> & { path: StepPath }) {
  const { disabled } = useEditor();
  const set = (patch: Partial<SplitStep>) => update((s) => ({ ...(s as SplitStep), ...patch }));
  const percentIssues = percentProblems(step.variants);
  const total = step.variants.reduce((sum, v) => sum + (Number.isFinite(v.percent) ? v.percent : 0), 0);
  const winner = step.winner ?? null;
  return (
    <>
      <fieldset className="flow-fields" disabled={disabled}>
        <table className="table table-compact variant-table">
          <thead>
            <tr>
              <th>Variant</th>
              <th className="num">Percent</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {step.variants.map((variant, i) => (
              <tr key={variant.id} data-testid="variant-row">
                <td>
                  <input
                    className={`input input-sm ${bad(problems, `variants[${i}].name`) ? "invalid" : ""}`}
                    aria-label={`Variant ${i + 1} name`}
                    value={variant.name}
                    maxLength={80}
                    onChange={(event) =>
                      set({ variants: step.variants.map((v, j) => (j === i ? { ...v, name: event.target.value } : v)) })
                    }
                  />
                </td>
                <td className="num">
                  <input
                    type="number"
                    className={`input input-sm input-percent ${percentIssues.length || bad(problems, `variants[${i}].percent`) ? "invalid" : ""}`}
                    aria-label={`Variant ${i + 1} percent`}
                    min={1}
                    max={100}
                    step={1}
                    value={variant.percent}
                    onChange={(event) =>
                      set({
                        variants: step.variants.map((v, j) =>
                          j === i ? { ...v, percent: event.target.value === "" ? 0 : Number(event.target.value) } : v,
                        ),
                      })
                    }
                  />
                </td>
                <td className="num">
                  <button
                    type="button"
                    className="btn btn-ghost btn-sm"
                    aria-label={`Remove variant ${i + 1}`}
                    disabled={step.variants.length <= MIN_VARIANTS}
                    onClick={() => update((s) => removeVariant(s as SplitStep, i))}
                  >
                    ×
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td>
                <button
                  type="button"
                  className="btn btn-secondary btn-sm"
                  disabled={step.variants.length >= MAX_VARIANTS}
                  onClick={() => update((s) => addVariant(s as SplitStep))}
                >
                  Add variant
                </button>
              </td>
              <td className={`num strong ${total === 100 ? "" : "over-limit"}`} data-testid="percent-total">
                {total}%
              </td>
              <td />
            </tr>
          </tfoot>
        </table>
        <label className="check">
          <input
            type="checkbox"
            checked={winner !== null}
            onChange={(event) =>
              set({ winner: event.target.checked ? { metric: "click_rate", after: { hours: 24 }, test_percent: 20 } : null })
            }
          />
          <span>Pick a winner automatically and send it to the rest</span>
        </label>
        {winner && (
          <div className="inline-fields">
            <label className="field">
              <span className="field-label">Best</span>
              <select
                className="input input-sm"
                aria-label="Winner metric"
                value={winner.metric}
                onChange={(event) => set({ winner: { ...winner, metric: event.target.value as typeof winner.metric } })}
              >
                {WINNER_METRICS.map((m) => (
                  <option key={m} value={m}>
                    {m.replace("_", " ")}
                  </option>
                ))}
              </select>
            </label>
            <NumberInput
              label="Test group %"
              value={winner.test_percent}
              min={5}
              max={50}
              invalid={bad(problems, "winner.test_percent")}
              onChange={(test_percent) => set({ winner: { ...winner, test_percent } })}
            />
            <DurationFields
              prefix="After "
              value={winner.after}
              invalid={bad(problems, "winner.after")}
              onChange={(after) => set({ winner: { ...winner, after } })}
            />
          </div>
        )}
      </fieldset>
      <Arms step={step} path={path} />
    </>
  );
}

function ExitOnGoal({
  flow,
  statuses,
  onChange,
  disabled,
}: {
  flow: Flow;
  statuses: readonly string[];
  onChange: (flow: Flow) => void;
  disabled: boolean;
}) {
  if (statuses.length === 0) return null;
  const chosen = new Set(flow.exit_on_statuses);
  return (
    <fieldset className="fieldset flow-goal" disabled={disabled}>
      <legend className="field-label">Exit on goal: a lead whose status becomes one of these leaves the campaign</legend>
      <div className="check-row">
        {statuses.map((status) => (
          <label key={status} className="check">
            <input
              type="checkbox"
              checked={chosen.has(status)}
              onChange={(event) => {
                const next = new Set(chosen);
                if (event.target.checked) next.add(status);
                else next.delete(status);
                onChange({ ...flow, exit_on_statuses: statuses.filter((s) => next.has(s)) });
              }}
            />
            <span>{status}</span>
          </label>
        ))}
      </div>
    </fieldset>
  );
}
