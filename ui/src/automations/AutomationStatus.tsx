import type { AutomationStatus } from "./api";

/** The badge tone of each status (the shared badge palette: active runs, paused waits, draft and archived rest). */
const TONE: Record<AutomationStatus, string> = {
  draft: "draft",
  active: "running",
  paused: "paused",
  archived: "cancelled",
};

export function AutomationStatusBadge({ status }: { status: AutomationStatus }) {
  return (
    <span className={`badge badge-${TONE[status] ?? "unknown"}`} data-testid="automation-status" data-status={status}>
      {status}
    </span>
  );
}

/** "v3", or a dash for an automation never published. */
export function versionLabel(version: number | null | undefined): string {
  return version ? `v${version}` : "—";
}
