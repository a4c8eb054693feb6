import { describe, expect, it } from "vitest";
import { renderToStaticMarkup } from "react-dom/server";
import type { ValueEditorProps } from "react-querybuilder";
import type { FieldInfo, Lead } from "../api/client";
import { FilterValueEditor } from "../filters/FilterBuilder";
import { fieldMap } from "../filters/model";
import { keyFromLabel } from "../pages/CustomFields";
import { previewBody } from "../pages/ListEditor";
import { leadPatch } from "../pages/LeadProfile";
import { pathAfterSwitch } from "../session";
import { bulkResultText, bulkValue, selectionBody } from "./bulk";
import { MemoryRouter } from "react-router-dom";
import { InteractionList } from "./Interactions";
import { describeInteraction } from "./interactionText";
import {
  COLUMNS_STORAGE_KEY,
  DEFAULT_COLUMNS,
  availableColumns,
  customText,
  leadName,
  loadColumns,
  parseColumns,
  saveColumns,
  toggleColumn,
  visibleColumns,
} from "./columns";
import { describeEvent, showValue } from "./events";

const LEAD: Lead = {
  id: 7,
  email: "ada@example.com",
  phone: "+441234567890",
  first_name: "Ada",
  last_name: "Lovelace",
  company: "Analytical",
  job_title: "",
  status: "new",
  score: 10,
  owner_id: null,
  source: "",
  tags: ["vip"],
  timezone: "Europe/London",
  locale: "",
  country: "GB",
  external_id: null,
  custom_fields: { tier: "gold" },
  consent_email: "granted",
  consent_sms: "unknown",
  consent_whatsapp: "unknown",
  consent_details: {},
  suppressed_email: null,
  suppressed_sms: null,
  suppressed_whatsapp: null,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};

function memoryStorage(initial: Record<string, string> = {}) {
  const data = { ...initial };
  return {
    data,
    getItem: (key: string) => data[key] ?? null,
    setItem: (key: string, value: string) => {
      data[key] = value;
    },
  };
}

describe("lead columns", () => {
  it("fall back to the defaults without a usable stored choice", () => {
    expect(parseColumns(null)).toEqual(DEFAULT_COLUMNS);
    expect(parseColumns("not json")).toEqual(DEFAULT_COLUMNS);
    expect(parseColumns('{"a":1}')).toEqual(DEFAULT_COLUMNS);
    expect(parseColumns('["email","custom.tier"]')).toEqual(["email", "custom.tier"]);
  });

  it("persist in storage", () => {
    const storage = memoryStorage();
    saveColumns(storage, ["email", "score"]);
    expect(storage.data[COLUMNS_STORAGE_KEY]).toBe('["email","score"]');
    expect(loadColumns(storage)).toEqual(["email", "score"]);
    expect(loadColumns(null)).toEqual(DEFAULT_COLUMNS);
  });

  it("show in table order, custom fields last, unknown ids skipped", () => {
    const available = availableColumns([
      { id: 1, key: "tier", label: "Tier", type: "choice", choices: [], created_at: "" },
    ]);
    expect(available.at(-1)).toMatchObject({ id: "custom.tier", label: "Tier" });
    const shown = visibleColumns(available, ["custom.tier", "score", "custom.gone", "email"]).map((c) => c.id);
    expect(shown).toEqual(["email", "score", "custom.tier"]);
    expect(toggleColumn(["email"], "score")).toEqual(["email", "score"]);
    expect(toggleColumn(["email", "score"], "email")).toEqual(["score"]);
  });

  it("name a lead and show custom values", () => {
    expect(leadName(LEAD)).toBe("Ada Lovelace");
    expect(leadName({ ...LEAD, first_name: "", last_name: "" })).toBe("ada@example.com");
    expect(leadName({ ...LEAD, first_name: "", last_name: "", email: null, phone: null })).toBe("Lead #7");
    expect(customText(true)).toBe("yes");
    expect(customText(null)).toBe("");
    expect(customText(["a", "b"])).toBe("a, b");
    expect(customText(3.5)).toBe("3.5");
  });
});

describe("bulk actions", () => {
  it("read the value the form holds", () => {
    expect(bulkValue("tag", "vip, partner")).toEqual({ value: ["vip", "partner"] });
    expect(bulkValue("untag", " , ")).toHaveProperty("error");
    expect(bulkValue("set_status", "won")).toEqual({ value: "won" });
    expect(bulkValue("set_owner", "")).toEqual({ value: null });
    expect(bulkValue("set_owner", "12")).toEqual({ value: 12 });
    expect(bulkValue("set_owner", "x")).toHaveProperty("error");
    expect(bulkValue("add_to_list", "3")).toEqual({ value: 3 });
    expect(bulkValue("remove_from_list", "")).toHaveProperty("error");
    expect(bulkValue("delete", "")).toEqual({ value: null });
  });

  it("send ticked ids, or the whole search and filter", () => {
    expect(selectionBody({ kind: "ids", ids: new Set([3, 1]) }, null, "")).toEqual({ lead_ids: [3, 1] });
    const filter = { combinator: "and", rules: [{ field: "country", operator: "=", value: "GB" }] };
    expect(selectionBody({ kind: "all" }, filter, "ada")).toEqual({ filter, search: "ada" });
    // Everything, unfiltered: an empty group matches every lead.
    expect(selectionBody({ kind: "all" }, null, "")).toEqual({ filter: { combinator: "and", rules: [] }, search: null });
  });

  it("say how many leads changed", () => {
    expect(bulkResultText("tag", 1234)).toBe("1,234 leads updated");
    expect(bulkResultText("set_status", 1)).toBe("1 lead updated");
    expect(bulkResultText("delete", 2)).toBe("2 leads deleted");
  });
});

describe("timeline", () => {
  const names = { list: (id: number) => (id === 4 ? "Hot leads" : undefined), customField: (key: string) => (key === "tier" ? "Tier" : undefined) };

  it("reads each event type", () => {
    const text = (type: string, data: Record<string, unknown>) => describeEvent({ type, data }, names).text;
    expect(text("created", { source: "api" })).toBe("Created (source: api)");
    expect(text("status_changed", { from: "new", to: "won" })).toBe("Status changed from new to won");
    expect(text("tagged", { tags: ["vip", "partner"] })).toBe("Tagged vip, partner");
    expect(text("untagged", { tags: ["vip"] })).toBe("Untagged vip");
    expect(text("added_to_list", { list_id: 4 })).toBe("Added to list Hot leads");
    expect(text("removed_from_list", { list_id: 9 })).toBe("Removed from list #9");
    expect(text("field_changed", { field: "company", from: "A", to: "B" })).toBe("Company changed from “A” to “B”");
    expect(text("field_changed", { field: "score", from: 1, to: 5 })).toBe("Score changed from 1 to 5");
    expect(text("field_changed", { field: "owner_id", to: 3 })).toBe("Owner set to user #3");
    expect(text("field_changed", { field: "owner_id", to: null })).toBe("Owner cleared");
    expect(text("field_changed", { field: "custom_fields", from: {}, to: { tier: "gold" } })).toBe("Tier set to “gold”");
    expect(text("field_changed", { field: "custom_fields", from: { tier: "gold", x: 1 }, to: { tier: "silver" } })).toBe(
      "Tier changed from “gold” to “silver”; x cleared",
    );
    expect(text("message_sent", { channel: "email" })).toBe("Message sent (channel: “email”)");
  });

  it("links list events to their list", () => {
    expect(describeEvent({ type: "added_to_list", data: { list_id: 4 } }, names).listId).toBe(4);
    expect(showValue([])).toBe("—");
  });
});

describe("lead profile", () => {
  const form = {
    first_name: "Ada",
    last_name: "Lovelace",
    email: "ada@example.com",
    phone: "+441234567890",
    company: "Analytical",
    job_title: "",
    status: "new",
    score: "10",
    owner_id: "",
    source: "",
    tags: "vip",
    timezone: "Europe/London",
    locale: "",
    country: "GB",
    external_id: "",
  };

  it("sends only what changed", () => {
    expect(leadPatch(LEAD, form, { ...LEAD.custom_fields })).toEqual({});
    const patch = leadPatch(
      LEAD,
      { ...form, status: "won", score: "12", email: " ", tags: "vip, new", owner_id: "4", country: "fr" },
      { tier: "", region: "EU" },
    );
    expect(patch).toEqual({
      status: "won",
      score: 12,
      email: null,
      tags: ["vip", "new"],
      owner_id: 4,
      country: "FR",
      custom_fields: { tier: null, region: "EU" },
    });
  });
});

describe("lists", () => {
  const filter = { combinator: "and", rules: [] };

  it("preview what the form holds", () => {
    expect(previewBody("static", filter, [1, 2], null)).toEqual({ kind: "static", lead_ids: [1, 2] });
    expect(previewBody("dynamic", filter, [1], null)).toEqual({ kind: "dynamic", filter });
    expect(previewBody("hybrid", filter, [1], null)).toEqual({ kind: "hybrid", filter, lead_ids: [1] });
    // A saved hybrid list: its explicit members come from the list itself.
    expect(previewBody("hybrid", filter, [], 5)).toEqual({
      kind: "dynamic",
      filter: { combinator: "or", rules: [filter, { field: "list", operator: "inList", value: 5 }] },
    });
  });

  it("suggest custom field keys from labels", () => {
    expect(keyFromLabel("Plan tier")).toBe("plan_tier");
    expect(keyFromLabel("  Été 2026 — région! ")).toBe("ete_2026_region");
    expect(keyFromLabel("2nd phone")).toBe("nd_phone");
  });

  it("leave pages of another workspace's records", () => {
    expect(pathAfterSwitch("/leads/12", "")).toBe("/leads");
    expect(pathAfterSwitch("/lists/3", "")).toBe("/lists");
    expect(pathAfterSwitch("/lists/new", "")).toBeNull();
  });
});

describe("filter value editors", () => {
  const fields: FieldInfo[] = [
    { name: "country", label: "Country", type: "text", operators: ["=", "in"] },
    { name: "score", label: "Score", type: "number", operators: ["between"] },
    { name: "status", label: "Status", type: "choice", operators: ["="], choices: ["new", "won"] },
    { name: "created_at", label: "Created", type: "date", operators: ["inLast"] },
    { name: "list", label: "List", type: "list", operators: ["inList"] },
  ];
  const context = { fields: fieldMap(fields), lists: [{ id: 4, name: "Hot leads" }], campaigns: [] };
  const render = (field: string, operator: string, value: unknown) =>
    renderToStaticMarkup(
      <FilterValueEditor
        {...({ field, operator, value, handleOnChange: () => undefined, className: "rule-value", context, path: [0] } as unknown as ValueEditorProps)}
      />,
    );

  it("keep react-querybuilder's input.rule-value for plain values", () => {
    expect(render("country", "=", "GB")).toMatch(/<input type="text" class="rule-value input input-sm"[^>]*value="GB"/);
    expect(render("status", "=", "won")).toMatch(/<input type="text" class="rule-value[^"]*"[^>]*list="rule-choices-0-status"/);
    expect(render("status", "=", "won")).toContain('<option value="new">');
  });

  it("draw two inputs, amount and unit, or a list choice for the special shapes", () => {
    expect(render("score", "between", [1, 5]).match(/rule-value-list-item/g)).toHaveLength(2);
    const relative = render("created_at", "inLast", { amount: 2, unit: "weeks" });
    expect(relative).toContain('value="2"');
    expect(relative).toContain('<option value="weeks" selected="">');
    expect(render("country", "in", ["GB", "FR"])).toContain('value="GB, FR"');
    expect(render("list", "inList", 4)).toContain('<option value="4" selected="">Hot leads</option>');
  });
});

describe("lead interactions", () => {
  const base = {
    id: 1, machine: false, url: null, occurred_at: "2026-11-20T10:00:00Z", channel: "email", campaign_id: 3,
    campaign_name: "Spring", run_id: 9, step: 0, variant: null, value: null, detail: null, permanent: null,
  };  // prettier-ignore

  it("says what happened, to which campaign's message, automated ones marked", () => {
    expect(describeInteraction({ ...base, type: "open" })).toBe("Opened the email from “Spring”");
    expect(describeInteraction({ ...base, type: "open", machine: true })).toBe("Opened the email from “Spring” (automated)");
    expect(describeInteraction({ ...base, type: "click", url: "https://example.com/a" })).toBe(
      "Clicked https://example.com/a in the email from “Spring”",
    );
    expect(
      describeInteraction({ ...base, type: "bounce", campaign_name: null, permanent: true, detail: "550 user unknown" }),
    ).toBe("Hard bounce: 550 user unknown");
    expect(describeInteraction({ ...base, type: "conversion", value: "42.5" })).toBe("Converted (42.50), credited to “Spring”");
    expect(describeInteraction({ ...base, type: "unsubscribe", channel: "sms" })).toBe("Unsubscribed from SMS from “Spring”");
  });

  it("lists them with links to the campaign and the clicked URL", () => {
    const html = renderToStaticMarkup(
      <MemoryRouter>
        <InteractionList items={[{ ...base, id: 2, type: "click", url: "https://example.com/a" }, { ...base, type: "open" }]} />
      </MemoryRouter>,
    );
    expect(html.match(/data-testid="interaction"/g)).toHaveLength(2);
    expect(html).toContain('href="/campaigns/3"');
    expect(html).toContain('href="https://example.com/a"');
    expect(renderToStaticMarkup(<InteractionList items={[]} />)).toContain("No opens, clicks or conversions yet.");
  });
});
