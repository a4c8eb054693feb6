import { useTemplates } from "../api/queries";
import { CHANNEL_LABELS, EVENT_LABELS, STEP_TYPE_LABELS, formatDuration, type Step } from "./flow";

/** The flow read-only, as an indented outline (the campaign page's details). */
export function FlowOutline({ steps }: { steps: Step[] }) {
  const templates = useTemplates();
  const name = (id: number | null) => (id === null ? "no template" : (templates.data?.find((t) => t.id === id)?.name ?? `template ${id}`));
  const describe = (step: Step): string => {
    switch (step.type) {
      case "send":
        return `${CHANNEL_LABELS[step.channel] ?? step.channel} · ${name(step.template_id)}${
          step.template_version !== null ? ` v${step.template_version}` : ""
        }${step.fallback ? ` · else ${CHANNEL_LABELS[step.fallback.channel]} ${name(step.fallback.template_id)}` : ""}`;
      case "wait":
        return step.until
          ? `until ${step.until.date} ${step.until.time} (${step.until.timezone_mode === "lead" ? "lead's time" : "workspace time"})`
          : `for ${formatDuration(step.duration)}`;
      case "branch":
        return step.condition.kind === "engagement"
          ? `if the lead ${EVENT_LABELS[step.condition.event] ?? step.condition.event} ${step.condition.step_id}`
          : "on lead fields";
      case "ab_split":
        return `${step.variants.map((v) => `${v.name} ${v.percent}%`).join(" / ")}${step.winner ? ` · winner by ${step.winner.metric.replace("_", " ")}` : ""}`;
      case "exit":
        return "leave the campaign";
    }
  };
  const render = (list: Step[]) => (
    <ol className="flow-outline">
      {list.map((step) => (
        <li key={step.id} data-testid="outline-step">
          <span className={`flow-type flow-type-${step.type}`}>{STEP_TYPE_LABELS[step.type]}</span> <code>{step.id}</code>{" "}
          <span className="muted">{describe(step)}</span>
          {step.type === "branch" && (
            <div className="flow-outline-arms">
              <div>
                <span className="small strong">Yes</span>
                {step.yes.length ? render(step.yes) : <span className="muted small"> — </span>}
              </div>
              <div>
                <span className="small strong">No</span>
                {step.no.length ? render(step.no) : <span className="muted small"> — </span>}
              </div>
            </div>
          )}
          {step.type === "ab_split" && (
            <div className="flow-outline-arms">
              {step.variants.map((v) => (
                <div key={v.id}>
                  <span className="small strong">{v.name}</span>
                  {v.steps.length ? render(v.steps) : <span className="muted small"> — </span>}
                </div>
              ))}
            </div>
          )}
        </li>
      ))}
    </ol>
  );
  if (steps.length === 0) return <span className="muted">No steps yet.</span>;
  return render(steps);
}
