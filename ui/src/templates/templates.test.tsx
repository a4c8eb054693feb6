import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { brandBody } from "../pages/BrandGuidelines";
import { NetworkChoice, SmsCounter } from "./ChannelParts";
import { ProblemsPanel } from "./ProblemsPanel";

describe("template editor parts", () => {
  it("counts an SMS as typed and names what forces UCS-2", () => {
    const gsm = renderToStaticMarkup(<SmsCounter text={"a".repeat(161)} />);
    expect(gsm).toMatch(/data-testid="sms-encoding"[^>]*>GSM-7</);
    expect(gsm).toMatch(/data-testid="sms-segments">2</);
    const ucs = renderToStaticMarkup(<SmsCounter text="Zoë 😀" />);
    expect(ucs).toMatch(/>UCS-2</);
    expect(ucs).toContain("“ë” “😀”");
  });

  it("turns a network's counter red over its limit", () => {
    const html = renderToStaticMarkup(
      <NetworkChoice networks={["x", "linkedin"]} onChange={() => undefined} text={"a".repeat(281)} readOnly={false} />,
    );
    expect(html).toMatch(/class="over-limit" data-testid="counter-x">281 \/ 280</);
    expect(html).toMatch(/class="muted" data-testid="counter-linkedin">281 \/ 3,000</);
    expect(html).toMatch(/data-testid="counter-facebook">max 63,206</);
  });

  it("lists problems errors first, with field and position", () => {
    const html = renderToStaticMarkup(
      <ProblemsPanel
        channel="email"
        checking={false}
        error={null}
        onFocusField={() => undefined}
        problems={[
          { severity: "warning", rule: "color", message: "#ff0000 is not a brand colour", field: "body_html", line: 1, column: 12 },
          { severity: "error", rule: "unknown_token", message: "unknown token lead.nope", field: "subject", line: 1, column: 7 },
        ]}
      />,
    );
    expect(html).toContain("1 error · 1 warning");
    expect(html.indexOf("unknown token")).toBeLessThan(html.indexOf("brand colour"));
    expect(html).toContain("Subject, line 1, column 7");
    expect(html).toContain("Body, line 1, column 12");
  });

  it("says when there is nothing to fix", () => {
    const html = renderToStaticMarkup(<ProblemsPanel channel="sms" checking={false} error={null} onFocusField={() => undefined} problems={[]} />);
    expect(html).toContain("No problems");
  });

  it("sends brand guidelines with the image weight in bytes and no empty colour", () => {
    const form = {
      colors: ["#112233", " "],
      fonts: ["Helvetica"],
      logo_media_id: null,
      require_footer: true,
      postal_address: " 1 Main St ",
      banned_phrases: ["free money"],
      link_domains: ["example.com"],
      max_image_kb: "200",
    };
    expect(brandBody(form)).toMatchObject({ colors: ["#112233"], postal_address: "1 Main St", max_image_bytes: 204800 });
    expect(brandBody({ ...form, max_image_kb: "" }).max_image_bytes).toBeNull();
    // A saved limit that is not a whole number of kilobytes stays as it was until retyped.
    expect(brandBody({ ...form, max_image_kb: "97.7", saved_image_bytes: 100000 }).max_image_bytes).toBe(100000);
    expect(brandBody({ ...form, max_image_kb: "98", saved_image_bytes: 100000 }).max_image_bytes).toBe(100352);
  });
});
