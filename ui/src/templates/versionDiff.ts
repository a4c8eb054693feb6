/** The side-by-side diff of two template versions (jsdiff's line diff), field by field. Tested in model.test.ts. */
import { diffLines } from "diff";
import { channelFields, fieldLabel, type Channel, type ContentField, type TemplateContent } from "./model";

export type DiffKind = "same" | "added" | "removed" | "empty";
export type DiffCell = { number: number | null; text: string; kind: DiffKind };
export type DiffRow = { left: DiffCell; right: DiffCell };

const EMPTY_CELL: DiffCell = { number: null, text: "", kind: "empty" };

function splitLines(value: string): string[] {
  const lines = value.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * Side-by-side rows for two texts (jsdiff's line diff): unchanged lines face each other, a removed run faces the
 * added run that replaced it line by line, and the shorter side is padded with empty cells.
 */
export function buildDiffRows(before: string, after: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let left = 1;
  let right = 1;
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    const n = Math.max(removed.length, added.length);
    for (let i = 0; i < n; i += 1) {
      const l = removed[i];
      const r = added[i];
      rows.push({
        left: l === undefined ? EMPTY_CELL : { number: left++, text: l, kind: "removed" },
        right: r === undefined ? EMPTY_CELL : { number: right++, text: r, kind: "added" },
      });
    }
    removed = [];
    added = [];
  };
  // "a" and "a\n" are the same last line to a reader.
  const eol = (text: string) => (text === "" || text.endsWith("\n") ? text : `${text}\n`);
  for (const part of diffLines(eol(before), eol(after))) {
    const lines = splitLines(part.value);
    if (part.removed) removed.push(...lines);
    else if (part.added) added.push(...lines);
    else {
      flush();
      for (const line of lines) {
        rows.push({ left: { number: left++, text: line, kind: "same" }, right: { number: right++, text: line, kind: "same" } });
      }
    }
  }
  flush();
  return rows;
}

/** TipTap writes the body on one line: one line per block makes a readable diff. */
export function htmlLines(html: string): string {
  return html
    .replace(/(<\/(?:p|h[1-6]|li|ul|ol|blockquote|div|table|tr|pre)>|<br\s*\/?>|<hr\s*\/?>|<img\b[^>]*>)(?!\n)/gi, "$1\n")
    .replace(/(<(?:ul|ol)\b[^>]*>)(?!\n)/gi, "$1\n")
    .trimEnd();
}

export type FieldDiff = { field: ContentField; label: string; changed: boolean; rows: DiffRow[] };

function fieldText(field: ContentField, content: TemplateContent): string {
  switch (field) {
    case "body_html":
      return htmlLines(content.body_html);
    case "media_ids":
      return content.media_ids.map((id) => `media ${id}`).join("\n");
    case "social_networks":
      return content.social_networks.join("\n");
    default:
      return content[field];
  }
}

/** Per field of the channel: the side-by-side rows between two versions, and whether anything changed. */
export function fieldDiffs(channel: Channel, before: TemplateContent, after: TemplateContent): FieldDiff[] {
  return channelFields(channel).map((field) => {
    const a = fieldText(field, before);
    const b = fieldText(field, after);
    return { field, label: fieldLabel(field, channel), changed: a !== b, rows: buildDiffRows(a, b) };
  });
}

