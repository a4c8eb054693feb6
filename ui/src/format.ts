const numberFormat = new Intl.NumberFormat("en-US");
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

/** 1000 -> "1,000" */
export function formatNumber(n: number): string {
  return numberFormat.format(n);
}

/** 99.5 -> "99.5%", 100 -> "100%" (at most one decimal, none when whole). */
export function formatPercent(percent: number): string {
  const clamped = Math.max(0, Math.min(100, Number.isFinite(percent) ? percent : 0));
  const rounded = Math.round(clamped * 10) / 10;
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)}%`;
}

function parse(value: string | null | undefined): Date | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatDateTime(value: string | null | undefined): string {
  const date = parse(value);
  return date ? dateTimeFormat.format(date) : "—";
}

export function formatDate(value: string | null | undefined): string {
  const date = parse(value);
  return date ? dateFormat.format(date) : "—";
}

/** "Showing 1–50 of 1,000" */
export function rangeLabel(offset: number, count: number, total: number): string {
  if (total === 0 || count === 0) return `Showing 0 of ${formatNumber(total)}`;
  return `Showing ${formatNumber(offset + 1)}–${formatNumber(offset + count)} of ${formatNumber(total)}`;
}
