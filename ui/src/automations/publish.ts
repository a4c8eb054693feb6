import type { AutomationStatus } from "./api";
import type { GraphProblem } from "./model";
import type { SaveStatus } from "./saver";

/** What the editor knows when it draws the Publish button. */
export type PublishInput = {
  status: AutomationStatus;
  publishedVersion: number | null;
  /** The live check's answer for the draft (undefined: none yet). */
  problems: readonly GraphProblem[] | undefined;
  save: SaveStatus;
  /** A publish, pause or resume is under way. */
  busy: boolean;
};

export type PublishButton = { label: string; disabled: boolean; reason: string | null };

/**
 * The Publish button: disabled (the reason as its tooltip) while the draft has errors, before its first check, for
 * an archived automation, or while another action runs. Warnings do not stop a publication. The draft is saved first
 * if it has unsaved changes, and the API checks it again (a 422 lists what it found).
 */
export function publishButton({ status, publishedVersion, problems, save, busy }: PublishInput): PublishButton {
  const label = publishedVersion === null ? "Publish" : "Publish changes";
  const off = (reason: string) => ({ label, disabled: true, reason });
  if (status === "archived") return off("An archived automation cannot be published.");
  if (busy) return off("Working…");
  if (problems === undefined) return off("Checking the draft…");
  const errors = problems.filter((p) => p.severity === "error").length;
  if (errors) return off(`Fix the ${errors === 1 ? "error" : `${errors} errors`} first: a draft with errors cannot be published.`);
  const next = publishedVersion === null ? "version 1" : `version ${publishedVersion + 1}`;
  const saveFirst = save === "saved" ? "" : " (the draft is saved first)";
  return { label, disabled: false, reason: `Publish the draft as ${next}: new journeys enter it${saveFirst}.` };
}

/** Pause for an active automation, Resume for a paused one, nothing otherwise. */
export function pauseAction(status: AutomationStatus): "pause" | "resume" | null {
  if (status === "active") return "pause";
  if (status === "paused") return "resume";
  return null;
}

/** The live check's problems and others (a refused publication's), each once. */
export function mergeProblems(live: readonly GraphProblem[], extra: readonly GraphProblem[] | undefined): GraphProblem[] {
  if (!extra?.length) return [...live];
  const key = (p: GraphProblem) => [p.node_id ?? "", p.field, p.code, p.message].join("\u0000");
  const seen = new Set(live.map(key));
  return [...live, ...extra.filter((p) => !seen.has(key(p)))];
}
