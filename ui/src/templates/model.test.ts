import { describe, expect, it } from "vitest";
import {
  contentForChannel,
  contentOf,
  embeddedMediaIds,
  emptyContent,
  errorField,
  groupTokens,
  insertAt,
  parseAddresses,
  problemLocation,
  sameContent,
  socialLengths,
  sortProblems,
  toggleNetwork,
  tokenText,
} from "./model";
import { buildDiffRows, fieldDiffs, htmlLines } from "./versionDiff";

describe("token insertion", () => {
  it("wraps a token in braces once", () => {
    expect(tokenText("lead.first_name")).toBe("{{ lead.first_name }}");
    expect(tokenText(" {{ lead.first_name | default('there') }} ")).toBe("{{ lead.first_name | default('there') }}");
    expect(tokenText("{% if lead.company %}")).toBe("{% if lead.company %}");
  });

  it("inserts at the caret, replacing a selection, and puts the caret after", () => {
    expect(insertAt("Hello !", 6, 6, "{{ x }}")).toEqual({ value: "Hello {{ x }}!", caret: 13 });
    expect(insertAt("Hello NAME!", 6, 10, "{{ x }}")).toEqual({ value: "Hello {{ x }}!", caret: 13 });
  });

  it("appends without a caret and clamps out-of-range positions", () => {
    expect(insertAt("Hi ", null, null, "{{ x }}")).toEqual({ value: "Hi {{ x }}", caret: 10 });
    expect(insertAt("Hi", 99, 120, "!")).toEqual({ value: "Hi!", caret: 3 });
    expect(insertAt("Hi", 2, 0, "!")).toEqual({ value: "Hi!", caret: 3 });
  });

  it("groups the catalogue and filters it", () => {
    const tokens = [
      { token: "lead.first_name", label: "First name", group: "Lead", example: "Ada" },
      { token: "lead.custom.plan", label: "Plan", group: "Custom fields", example: "pro" },
      { token: "lead.email", label: "Email", group: "Lead", example: "ada@example.com" },
    ];
    expect(groupTokens(tokens).map((g) => [g.group, g.tokens.length])).toEqual([
      ["Lead", 2],
      ["Custom fields", 1],
    ]);
    expect(groupTokens(tokens, "PLAN").map((g) => g.tokens.map((t) => t.token))).toEqual([["lead.custom.plan"]]);
  });
});

describe("content", () => {
  it("sends only the channel's fields", () => {
    const content = {
      ...emptyContent("sms"),
      subject: "s",
      body_html: "<p>x</p>",
      body_text: "Hi",
      media_ids: [1, 2],
      whatsapp_template: " promo ",
      social_networks: ["facebook", "x"] as const,
    };
    expect(contentForChannel("sms", { ...content, social_networks: [...content.social_networks] })).toEqual({
      subject: "",
      preheader: "",
      body_html: "",
      body_text: "Hi",
      media_ids: [],
      whatsapp_template: "",
      social_networks: [],
    });
    const whatsapp = contentForChannel("whatsapp", { ...content, social_networks: [] });
    expect(whatsapp.media_ids).toEqual([1]);
    expect(whatsapp.whatsapp_template).toBe("promo");
    expect(contentForChannel("social", { ...content, social_networks: ["facebook", "x"] }).social_networks).toEqual(["x", "facebook"]);
  });

  it("treats the editor's empty paragraph as no body", () => {
    const saved = contentOf({ subject: "Hi", body_html: "" });
    expect(sameContent("email", saved, { ...saved, body_html: "<p></p>" })).toBe(true);
    expect(sameContent("email", saved, { ...saved, body_html: "<p>x</p>" })).toBe(false);
  });

  it("toggles networks in a fixed order", () => {
    expect(toggleNetwork(["facebook"], "x")).toEqual(["x", "facebook"]);
    expect(toggleNetwork(["x", "facebook"], "x")).toEqual(["facebook"]);
  });

  it("counts per network and flags what is over", () => {
    const lengths = socialLengths("a".repeat(281), ["x", "linkedin"]);
    expect(lengths).toEqual([
      { network: "x", label: "X", limit: 280, length: 281, over: true },
      { network: "linkedin", label: "LinkedIn", limit: 3000, length: 281, over: false },
    ]);
    expect(socialLengths("😀".repeat(280), ["x"])[0]?.over).toBe(false);
  });

  it("finds the library images an email body embeds", () => {
    const html = '<p><img src="/api/media/12/file/web" alt="a"><img src="media:3"><img src="/api/media/12/file/web"></p>';
    expect(embeddedMediaIds(html)).toEqual([12, 3]);
  });
});

describe("problems", () => {
  it("says where", () => {
    expect(problemLocation({ line: 3, column: 7 })).toBe("line 3, column 7");
    expect(problemLocation({ line: 3, column: null })).toBe("line 3");
    expect(problemLocation({ line: null })).toBe("");
  });

  it("puts errors first, then by field and position", () => {
    const problems = [
      { severity: "warning", rule: "color", message: "w", field: "body_html", line: 1, column: 1 },
      { severity: "error", rule: "syntax", message: "b", field: "body_html", line: 2, column: 1 },
      { severity: "error", rule: "syntax", message: "a", field: "subject", line: 1, column: 4 },
    ];
    expect(sortProblems(problems).map((p) => p.message)).toEqual(["a", "b", "w"]);
  });

  it("maps a save error to its content field", () => {
    expect(errorField("body_html")).toBe("body_html");
    expect(errorField("media_ids[1]")).toBe("media_ids");
    expect(errorField(null)).toBe(null);
  });

  it("reads test-send addresses", () => {
    expect(parseAddresses("a@x.com, b@x.com;a@x.com\n+33612345678")).toEqual(["a@x.com", "b@x.com", "+33612345678"]);
  });
});

describe("version diff", () => {
  it("pairs replaced lines and pads the shorter side", () => {
    const rows = buildDiffRows("one\ntwo\nthree\n", "one\nTWO\nextra\nthree\n");
    expect(rows.map((r) => [r.left.kind, r.left.text, r.right.kind, r.right.text])).toEqual([
      ["same", "one", "same", "one"],
      ["removed", "two", "added", "TWO"],
      ["empty", "", "added", "extra"],
      ["same", "three", "same", "three"],
    ]);
    expect(rows.map((r) => [r.left.number, r.right.number])).toEqual([
      [1, 1],
      [2, 2],
      [null, 3],
      [3, 4],
    ]);
  });

  it("shows a removed tail and an added field", () => {
    expect(buildDiffRows("a\nb", "a").map((r) => [r.left.kind, r.right.kind])).toEqual([
      ["same", "same"],
      ["removed", "empty"],
    ]);
    expect(buildDiffRows("", "new").map((r) => [r.left.kind, r.right.text])).toEqual([["empty", "new"]]);
    expect(buildDiffRows("", "")).toEqual([]);
  });

  it("splits an HTML body into one line per block", () => {
    expect(htmlLines('<p>Hi</p><ul><li>a</li><li>b</li></ul><p><img src="x">After</p>')).toBe(
      '<p>Hi</p>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n<p><img src="x">\nAfter</p>',
    );
  });

  it("diffs the channel's fields", () => {
    const before = { ...emptyContent("email"), subject: "Hello", body_html: "<p>Hi {{ lead.first_name }}</p><p>Bye</p>" };
    const after = { ...before, body_html: "<p>Hi {{ lead.first_name }}</p><p>See you</p>" };
    const diffs = fieldDiffs("email", before, after);
    expect(diffs.map((d) => [d.field, d.changed])).toEqual([
      ["subject", false],
      ["preheader", false],
      ["body_html", true],
      ["body_text", false],
    ]);
    const body = diffs.find((d) => d.field === "body_html");
    expect(body?.rows.map((r) => [r.left.kind, r.right.kind])).toEqual([
      ["same", "same"],
      ["removed", "added"],
    ]);
    expect(fieldDiffs("social", { ...emptyContent("social"), media_ids: [1] }, { ...emptyContent("social"), media_ids: [1, 2] })[1]).toMatchObject({
      field: "media_ids",
      changed: true,
    });
  });
});
