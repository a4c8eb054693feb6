type Props = { colSpan: number; loading: boolean; empty: boolean; emptyText: string };

/** A single full-width row for "Loading…" or an empty result. */
export function TableState({ colSpan, loading, empty, emptyText }: Props) {
  if (!loading && !empty) return null;
  return (
    <tr className="table-state">
      <td colSpan={colSpan}>{loading ? "Loading…" : emptyText}</td>
    </tr>
  );
}
