import type { ReportFunnel } from "../api/client";

export type FunnelStage = {
  stage: string;
  count: number;
  /** This stage's count as a fraction of the previous stage's (null for the first, or after an empty stage). */
  fromPrevious: number | null;
  fill: string;
};

const STAGES: { stage: string; pick: (f: ReportFunnel) => number; fill: string }[] = [
  { stage: "Sent", pick: (f) => f.sent, fill: "#94a3b8" },
  { stage: "Delivered", pick: (f) => f.delivered, fill: "#6366f1" },
  { stage: "Opened", pick: (f) => f.unique_opens, fill: "#4f46e5" },
  { stage: "Clicked", pick: (f) => f.unique_clicks, fill: "#15803d" },
  { stage: "Converted", pick: (f) => f.conversions, fill: "#b45309" },
];

/** The report's funnel, stage by stage: messages sent, delivered, opened and clicked by a person (machine opens
 * apart), conversions; each with its share of the stage before it. */
export function funnelStages(funnel: ReportFunnel): FunnelStage[] {
  const counts = STAGES.map(({ pick }) => pick(funnel));
  return STAGES.map(({ stage, fill }, index) => {
    const count = counts[index] ?? 0;
    const previous = index === 0 ? 0 : (counts[index - 1] ?? 0);
    return { stage, count, fromPrevious: previous === 0 ? null : count / previous, fill };
  });
}
