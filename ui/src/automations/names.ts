/** Names of new automations: a workspace's names are unique (the API answers 409 for one already used). */

export const UNTITLED = "Untitled automation";

/** "Untitled automation N", the smallest N not taken. */
export function untitledName(taken: Iterable<string>): string {
  return freeName(UNTITLED, taken, 1);
}

/** `name` if it is free, else "name (2)", "name (3)"... (`first`: start numbering at once, from it). */
export function freeName(name: string, taken: Iterable<string>, first?: number): string {
  const used = new Set([...taken].map((n) => n.trim().toLowerCase()));
  const base = name.trim();
  if (first === undefined && !used.has(base.toLowerCase())) return base;
  const numbered = (n: number) => (first === undefined ? `${base} (${n})` : `${base} ${n}`);
  for (let n = first ?? 2; ; n++) {
    if (!used.has(numbered(n).toLowerCase())) return numbered(n);
  }
}
