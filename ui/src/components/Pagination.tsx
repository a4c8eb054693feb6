import { rangeLabel } from "../format";

type Props = {
  offset: number;
  limit: number;
  count: number;
  total: number;
  onChange: (offset: number) => void;
  busy?: boolean;
};

/** "Showing 1–50 of 1,000" with Previous / Next buttons. */
export function Pagination({ offset, limit, count, total, onChange, busy }: Props) {
  const hasPrev = offset > 0;
  const hasNext = offset + count < total;
  return (
    <div className="pagination">
      <span className="pagination-label" aria-live="polite">
        {rangeLabel(offset, count, total)}
      </span>
      <div className="pagination-buttons">
        <button
          type="button"
          className="btn btn-secondary btn-sm"
          disabled={!hasPrev || busy}
          onClick={() => onChange(Math.max(0, offset - limit))}
        >
          ← Previous
        </button>
        <button
          type="button"
          className="btn btn-secondary btn-sm"
          disabled={!hasNext || busy}
          onClick={() => onChange(offset + limit)}
        >
          Next →
        </button>
      </div>
    </div>
  );
}
