/**
 * Pure helpers of the template library and editor: channels, content fields, counters, token insertion,
 * the side-by-side version diff and problem locations. No React, no requests: tested in model.test.ts.
 */

export type Channel = "email" | "sms" | "whatsapp" | "social";
export type SocialNetwork = "x" | "linkedin" | "facebook";

export const CHANNELS: readonly { value: Channel; label: string; hint: string }[] = [
  { value: "email", label: "Email", hint: "Subject, preheader and a rich-text body with images." },
  { value: "sms", label: "SMS", hint: "Plain text, counted in GSM-7 or UCS-2 segments." },
  { value: "whatsapp", label: "WhatsApp", hint: "Text, an optional image and an approved template name." },
  { value: "social", label: "Social post", hint: "Text and up to four images for X, LinkedIn and Facebook." },
];

export function isChannel(value: unknown): value is Channel {
  return CHANNELS.some((c) => c.value === value);
}

export function channelLabel(channel: string): string {
  return CHANNELS.find((c) => c.value === channel)?.label ?? channel;
}

export const SOCIAL_NETWORKS: readonly { value: SocialNetwork; label: string; limit: number }[] = [
  { value: "x", label: "X", limit: 280 },
  { value: "linkedin", label: "LinkedIn", limit: 3000 },
  { value: "facebook", label: "Facebook", limit: 63206 },
];

/** How many media a channel's content may hold (email embeds its images in the body instead). */
export const MEDIA_LIMIT: Record<Channel, number> = { email: 0, sms: 0, whatsapp: 1, social: 4 };
export const SUBJECT_MAX = 998;
export const PREHEADER_MAX = 250;
export const WHATSAPP_TEMPLATE_PATTERN = "[a-z0-9_]{1,512}";

/** What one version of a template holds (the API's content fields). */
export type TemplateContent = {
  subject: string;
  preheader: string;
  body_html: string;
  body_text: string;
  media_ids: number[];
  whatsapp_template: string;
  social_networks: SocialNetwork[];
};

export const CONTENT_FIELDS = [
  "subject",
  "preheader",
  "body_html",
  "body_text",
  "media_ids",
  "whatsapp_template",
  "social_networks",
] as const satisfies readonly (keyof TemplateContent)[];

export type ContentField = (typeof CONTENT_FIELDS)[number];

export function emptyContent(channel: Channel): TemplateContent {
  return {
    subject: "",
    preheader: "",
    body_html: "",
    body_text: "",
    media_ids: [],
    whatsapp_template: "",
    social_networks: channel === "social" ? SOCIAL_NETWORKS.map((n) => n.value) : [],
  };
}

type ContentLike = {
  subject?: string | null;
  preheader?: string | null;
  body_html?: string | null;
  body_text?: string | null;
  media_ids?: readonly number[] | null;
  whatsapp_template?: string | null;
  social_networks?: readonly string[] | null;
};

/** The content fields of an API object (a template, a version), with missing ones empty. */
export function contentOf(source: ContentLike): TemplateContent {
  return {
    subject: source.subject ?? "",
    preheader: source.preheader ?? "",
    body_html: source.body_html ?? "",
    body_text: source.body_text ?? "",
    media_ids: [...(source.media_ids ?? [])],
    whatsapp_template: source.whatsapp_template ?? "",
    social_networks: (source.social_networks ?? []).filter(isSocialNetwork),
  };
}

function isSocialNetwork(value: unknown): value is SocialNetwork {
  return SOCIAL_NETWORKS.some((n) => n.value === value);
}

/**
 * The editor's empty document is `<p></p>`: it means the same as no body at all, so a template saved empty does not
 * look changed the moment the editor opens it.
 */
export function normalizeHtml(html: string): string {
  const trimmed = html.trim();
  return trimmed === "<p></p>" ? "" : trimmed;
}

/** The content as the API gets it: the fields the channel does not use are sent empty. */
export function contentForChannel(channel: Channel, content: TemplateContent): TemplateContent {
  const email = channel === "email";
  return {
    subject: email ? content.subject : "",
    preheader: email ? content.preheader : "",
    body_html: email ? normalizeHtml(content.body_html) : "",
    body_text: content.body_text,
    media_ids: content.media_ids.slice(0, MEDIA_LIMIT[channel]),
    whatsapp_template: channel === "whatsapp" ? content.whatsapp_template.trim() : "",
    social_networks: channel === "social" ? orderNetworks(content.social_networks) : [],
  };
}

function orderNetworks(networks: readonly SocialNetwork[]): SocialNetwork[] {
  return SOCIAL_NETWORKS.map((n) => n.value).filter((n) => networks.includes(n));
}

export function sameContent(channel: Channel, a: TemplateContent, b: TemplateContent): boolean {
  return JSON.stringify(contentForChannel(channel, a)) === JSON.stringify(contentForChannel(channel, b));
}

export function toggleNetwork(networks: readonly SocialNetwork[], network: SocialNetwork): SocialNetwork[] {
  return networks.includes(network) ? networks.filter((n) => n !== network) : orderNetworks([...networks, network]);
}

/** Characters as the social networks count them here: code points (an emoji is one). */
export function textLength(text: string): number {
  return Array.from(text).length;
}

export type NetworkLength = { network: SocialNetwork; label: string; limit: number; length: number; over: boolean };

export function socialLengths(text: string, networks: readonly SocialNetwork[]): NetworkLength[] {
  const length = textLength(text);
  return SOCIAL_NETWORKS.filter((n) => networks.includes(n.value)).map((n) => ({
    network: n.value,
    label: n.label,
    limit: n.limit,
    length,
    over: length > n.limit,
  }));
}

// ---- tokens ---------------------------------------------------------------------------------------------

/** `lead.first_name` → `{{ lead.first_name }}`; an expression already in braces stays as it is. */
export function tokenText(token: string): string {
  const trimmed = token.trim();
  if (trimmed.startsWith("{{") || trimmed.startsWith("{%")) return trimmed;
  return `{{ ${trimmed} }}`;
}

/** Put `insert` in place of the selection [start, end) of `value`; the caret lands right after it. */
export function insertAt(value: string, start: number | null, end: number | null, insert: string): { value: string; caret: number } {
  const from = clamp(start ?? value.length, 0, value.length);
  const to = clamp(end ?? from, from, value.length);
  return { value: value.slice(0, from) + insert + value.slice(to), caret: from + insert.length };
}

function clamp(n: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, n));
}

export type TokenEntry = { token: string; label: string; group: string; example: string };

/** Tokens by group, groups in catalogue order, filtered by a search over token, label and group. */
export function groupTokens(tokens: readonly TokenEntry[], search = ""): { group: string; tokens: TokenEntry[] }[] {
  const needle = search.trim().toLowerCase();
  const groups = new Map<string, TokenEntry[]>();
  for (const token of tokens) {
    const haystack = `${token.token} ${token.label} ${token.group}`.toLowerCase();
    if (needle && !haystack.includes(needle)) continue;
    const list = groups.get(token.group) ?? [];
    list.push(token);
    groups.set(token.group, list);
  }
  return [...groups].map(([group, list]) => ({ group, tokens: list }));
}

// ---- media in email bodies -----------------------------------------------------------------------------

/** The address the editor stores for an embedded image (the server rewrites it to a public signed one). */
export function mediaImageSrc(id: number): string {
  return `/api/media/${id}/file/web`;
}

/** The ids of the library images an email body embeds, in order, once each. */
export function embeddedMediaIds(html: string): number[] {
  const ids = [...html.matchAll(/\/api\/media\/(\d+)\/file\b|media:(\d+)/g)].map((m) => Number(m[1] ?? m[2]));
  return [...new Set(ids)];
}

// ---- problems ------------------------------------------------------------------------------------------

export type Problem = {
  severity: string;
  rule: string;
  message: string;
  field: string;
  line?: number | null;
  column?: number | null;
};

export const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  folder_id: "Folder",
  description: "Description",
  subject: "Subject",
  preheader: "Preheader",
  body_html: "Body",
  body_text: "Text",
  media_ids: "Media",
  whatsapp_template: "Approved template name",
  social_networks: "Networks",
};

/** The label of a content field; the email's text part is the "Plain-text version". */
export function fieldLabel(field: string, channel: Channel = "email"): string {
  if (field === "body_text" && channel === "email") return "Plain-text version";
  return FIELD_LABELS[field] ?? field;
}

/** "line 3, column 7", "line 3" or "". */
export function problemLocation(problem: Pick<Problem, "line" | "column">): string {
  if (problem.line == null) return "";
  return problem.column == null ? `line ${problem.line}` : `line ${problem.line}, column ${problem.column}`;
}

/** Errors first, then warnings, then the rest, each in field order. */
export function sortProblems<P extends Problem>(problems: readonly P[]): P[] {
  const rank = (severity: string) => (severity === "error" ? 0 : severity === "warning" ? 1 : 2);
  const fieldRank = (field: string) => {
    const index = (CONTENT_FIELDS as readonly string[]).indexOf(field);
    return index < 0 ? CONTENT_FIELDS.length : index;
  };
  return [...problems].sort(
    (a, b) =>
      rank(a.severity) - rank(b.severity) ||
      fieldRank(a.field) - fieldRank(b.field) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

export function countBySeverity(problems: readonly Problem[]): { errors: number; warnings: number } {
  let errors = 0;
  let warnings = 0;
  for (const p of problems) {
    if (p.severity === "error") errors += 1;
    else warnings += 1;
  }
  return { errors, warnings };
}

/** The content field a save error points at (`body_html`, `media_ids[1]` → `media_ids`), or null. */
export function errorField(field: string | null | undefined): string | null {
  if (!field) return null;
  const base = field.replace(/^body\./, "").split(/[.[]/)[0] ?? "";
  return base || null;
}

/** The fields a channel uses, in the editor's order. */
export function channelFields(channel: Channel): ContentField[] {
  switch (channel) {
    case "email":
      return ["subject", "preheader", "body_html", "body_text"];
    case "sms":
      return ["body_text"];
    case "whatsapp":
      return ["body_text", "media_ids", "whatsapp_template"];
    case "social":
      return ["body_text", "media_ids", "social_networks"];
  }
}

// ---- the library ---------------------------------------------------------------------------------------

/** A card's text: the snippet, or the subject, or a dash. */
export function cardSnippet(summary: { snippet?: string | null; subject?: string | null }): string {
  return (summary.snippet || summary.subject || "").trim() || "—";
}

/** Test-send addresses (emails or phone numbers) from a free text: split on commas, semicolons and white space, once each. */
export function parseAddresses(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).map((a) => a.trim()).filter(Boolean))];
}
