import type { LeadInteraction } from "../api/client";

const CHANNELS: Record<string, string> = { email: "email", sms: "SMS", whatsapp: "WhatsApp message" };

/** One line per interaction: what happened, to which message. */
export function describeInteraction(item: LeadInteraction): string {
  const what = CHANNELS[item.channel ?? "email"] ?? item.channel ?? "message";
  const from = item.campaign_name ? ` from “${item.campaign_name}”` : "";
  const automated = item.machine ? " (automated)" : "";
  switch (item.type) {
    case "open":
      return `Opened the ${what}${from}${automated}`;
    case "click":
      return `Clicked ${item.url ?? "a link"}${from ? ` in the ${what}${from}` : ""}${automated}`;
    case "unsubscribe":
      return `Unsubscribed from ${what}${from}`;
    case "bounce":
      return `${item.permanent ? "Hard bounce" : "Soft bounce"}${from}${item.detail ? `: ${item.detail}` : ""}`;
    case "complaint":
      return `Marked the ${what}${from} as spam`;
    case "conversion":
      return `Converted${item.value ? ` (${Number(item.value).toFixed(2)})` : ""}${item.campaign_name ? `, credited to “${item.campaign_name}”` : ""}`;
    default:
      return `${item.type}${from}`;
  }
}
