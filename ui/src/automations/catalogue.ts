import type { Category, Json, NodeType } from "./model";

/** What the palette offers: each node type, its category, words for people, and the config a new one starts with. */
export type NodeTypeInfo = {
  category: Category;
  label: string;
  hint: string;
  /** A fresh config; required settings the builder cannot guess are left out (the API names them). */
  config: () => Json;
};

const anyone = () => ({ combinator: "and", rules: [] });

export const NODE_TYPES: Record<NodeType, NodeTypeInfo> = {
  // Triggers
  lead_status_changed: {
    category: "trigger",
    label: "Status changed",
    hint: "A lead's status becomes the one chosen",
    config: () => ({}),
  },
  lead_created: { category: "trigger", label: "Lead created", hint: "A lead is created", config: () => ({ sources: [] }) },
  added_to_list: { category: "trigger", label: "Added to list", hint: "A lead is added to a list", config: () => ({}) },
  tag_added: { category: "trigger", label: "Tag added", hint: "A tag is added to a lead", config: () => ({ tag: "" }) },
  custom_field_changed: {
    category: "trigger",
    label: "Field changed",
    hint: "A custom field changes (to a value)",
    config: () => ({}),
  },
  external_event: {
    category: "trigger",
    label: "External event",
    hint: "An event arrives: POST /api/events, a form, a webhook",
    config: () => ({ event: "" }),
  },
  campaign_interaction: {
    category: "trigger",
    label: "Campaign interaction",
    hint: "A lead opens, clicks or unsubscribes from a campaign",
    config: () => ({ interaction: "clicked", campaign_id: null }),
  },
  date_field: {
    category: "trigger",
    label: "Date reached",
    hint: "A date field (birthday, renewal) plus an offset",
    config: () => ({ offset_days: 0, time: "09:00", every_year: false }),
  },
  recurring_schedule: {
    category: "trigger",
    label: "Schedule",
    hint: "Daily, weekly or monthly, for an audience",
    config: () => ({ frequency: "daily", time: "09:00", filter: anyone() }),
  },
  // Conditions
  filter: { category: "condition", label: "Filter", hint: "Yes when the lead matches a filter", config: () => ({ filter: anyone() }) },
  engagement: {
    category: "condition",
    label: "Opened / clicked?",
    hint: "Yes when the lead opened or clicked an earlier send",
    config: () => ({ event: "opened" }),
  },
  random_split: {
    category: "condition",
    label: "Random split",
    hint: "Branches by percentage",
    config: () => ({ branches: [{ key: "a", percent: 50 }, { key: "b", percent: 50 }] }),
  },
  // Actions
  send_message: { category: "action", label: "Send message", hint: "Email, SMS or WhatsApp", config: () => ({ channel: "email" }) },
  update_field: {
    category: "action",
    label: "Update field",
    hint: "Set the status, the score or a custom field",
    config: () => ({ field: "score", operation: "increment", value: 10 }),
  },
  add_tag: { category: "action", label: "Add tag", hint: "Tag the lead", config: () => ({ tag: "" }) },
  remove_tag: { category: "action", label: "Remove tag", hint: "Untag the lead", config: () => ({ tag: "" }) },
  add_to_list: { category: "action", label: "Add to list", hint: "A static or hybrid list", config: () => ({}) },
  remove_from_list: { category: "action", label: "Remove from list", hint: "A static or hybrid list", config: () => ({}) },
  assign_owner: { category: "action", label: "Assign owner", hint: "A user, or round robin", config: () => ({ mode: "user" }) },
  notify_user: {
    category: "action",
    label: "Notify a user",
    hint: "Email the owner or a user",
    config: () => ({ recipient: "owner", subject: "", body: "" }),
  },
  call_webhook: {
    category: "action",
    label: "Call webhook",
    hint: "An HTTP request",
    config: () => ({ url: "https://", method: "POST" }),
  },
  start_automation: { category: "action", label: "Start automation", hint: "Enter another automation", config: () => ({}) },
  exit: { category: "action", label: "Exit", hint: "The lead leaves the journey", config: () => ({}) },
  // Delays
  wait_duration: { category: "delay", label: "Wait", hint: "A duration", config: () => ({ duration: { days: 1 } }) },
  wait_until_time_of_day: {
    category: "delay",
    label: "Wait until a time",
    hint: "A time of day in the lead's timezone",
    config: () => ({ time: "09:00", weekdays: [0, 1, 2, 3, 4, 5, 6] }),
  },
  wait_until_date_field: {
    category: "delay",
    label: "Wait until a date",
    hint: "A date field of the lead, plus an offset",
    config: () => ({ offset_days: 0, time: "09:00", every_year: false, when_past: "continue" }),
  },
  wait_for_event: {
    category: "delay",
    label: "Wait for event",
    hint: "Until an event happens, or a timeout",
    config: () => ({ event: { kind: "opened" }, timeout: { days: 3 } }),
  },
};

export const CATEGORIES: { key: Category; label: string }[] = [
  { key: "trigger", label: "Triggers" },
  { key: "condition", label: "Conditions" },
  { key: "action", label: "Actions" },
  { key: "delay", label: "Delays" },
];

export const NODE_TYPE_NAMES = Object.keys(NODE_TYPES) as NodeType[];

export function isNodeType(value: unknown): value is NodeType {
  return typeof value === "string" && Object.hasOwn(NODE_TYPES, value);
}

export function typesOf(category: Category): NodeType[] {
  return NODE_TYPE_NAMES.filter((type) => NODE_TYPES[type].category === category);
}

/** The short prefix of the ids the builder gives new nodes ("send-2", "wait-1"). */
export const ID_PREFIX: Record<Category, string> = { trigger: "trigger", condition: "check", action: "do", delay: "wait" };

export const OUTCOME_LABELS: Record<string, string> = {
  next: "next",
  fallback: "fallback",
  yes: "yes",
  no: "no",
  event: "event",
  timeout: "timeout",
  skipped: "skipped",
};

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
