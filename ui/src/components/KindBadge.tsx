/** A list's kind (static, dynamic, hybrid) as a small tinted label. */
export function KindBadge({ kind }: { kind: string }) {
  return (
    <span className={`kind-badge kind-${kind}`} data-testid="list-kind">
      {kind}
    </span>
  );
}
