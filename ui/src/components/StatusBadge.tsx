const KNOWN = new Set([
  "draft",
  "running",
  "paused",
  "completed",
  "cancelled",
  "failed",
  // campaigns waiting to start (#8)
  "scheduled",
  "pending_approval",
  "rejected",
  // imports and exports
  "uploaded",
  "queued",
  "ready",
  // media assets
  "processing",
  // lead statuses and consent values share the same palette
  "new",
  "contacted",
  "qualified",
  "proposal",
  "won",
  "lost",
  "unsubscribed",
  "granted",
  "denied",
  "unknown",
]);

type Props = { status: string; testId?: string };

/** A coloured pill with the status word as its text. */
export function StatusBadge({ status, testId }: Props) {
  const tone = KNOWN.has(status) ? status : "unknown";
  return (
    <span className={`badge badge-${tone}`} data-testid={testId}>
      {status.replace(/_/g, " ")}
    </span>
  );
}
