import { describe, expect, it } from "vitest";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { queryKeys } from "../api/queries";
import { StatusBadge } from "../components/StatusBadge";
import { pathAfterSwitch } from "../session";
import { FlowEditor } from "./FlowEditor";
import type { Flow } from "./flow";
import { StepProgressPanel } from "./StepProgress";
import { readStepProgress } from "./model";
import { ReportPanel, rate } from "./CampaignReport";
import { funnelStages } from "./funnelStages";
import { ComparisonTable, OverviewPanel, points } from "../pages/Analytics";
import type { CampaignReport, ReportFunnel } from "../api/client";

function render(node: ReactNode): string {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(queryKeys.templateChoices, {
    items: [
      { id: 11, name: "Welcome", channel: "email" },
      { id: 21, name: "Nudge", channel: "sms" },
    ],
  });
  return renderToStaticMarkup(
    <QueryClientProvider client={client}>
      <MemoryRouter>{node}</MemoryRouter>
    </QueryClientProvider>,
  );
}

const flow: Flow = {
  steps: [
    { id: "welcome", type: "send", channel: "email", template_id: 11, template_version: null, fallback: null },
    { id: "wait-1", type: "wait", duration: { minutes: 1 }, until: null, respect_quiet_hours: true },
    {
      id: "opened",
      type: "branch",
      condition: { kind: "engagement", step_id: "welcome", event: "opened" },
      yes: [{ id: "thanks", type: "send", channel: "email", template_id: null, template_version: null }],
      no: [],
    },
  ],
  exit_on_statuses: [],
};

describe("flow editor", () => {
  it("shows every step, nested ones included, with the API's problem on the step it names", () => {
    const html = render(
      <FlowEditor
        flow={flow}
        onChange={() => undefined}
        statuses={["new", "won"]}
        problems={[
          { message: "template 99 does not exist", field: "flow.steps[2].yes[0].template_id", severity: "error" },
          { message: "needs a status", field: "flow.exit_on_statuses[0]", severity: "error" },
        ]}
      />,
    );
    expect(html.match(/data-testid="flow-step"/g)).toHaveLength(4);
    expect(html).toContain('data-step-id="thanks"');
    // the problem sits in the nested step's card, which is marked, and its template select is outlined
    const thanks = html.slice(html.indexOf('data-step-id="thanks"'));
    expect(thanks.slice(0, thanks.indexOf("</li>"))).toContain("template 99 does not exist");
    expect(html).toMatch(/flow-step flow-step-send has-error[^>]*data-step-id="thanks"/);
    expect(html).toContain("needs a status");
    expect(html).toContain('aria-label="Add send step to Yes of opened"');
    expect(html).toContain("Welcome");
    expect(html).toContain("Exit on goal");
  });

  it("offers every channel for a send step and the other channels for its fallback", () => {
    const withFallback: Flow = {
      steps: [
        {
          id: "welcome",
          type: "send",
          channel: "email",
          template_id: 11,
          template_version: null,
          fallback: { channel: "sms", template_id: 21, template_version: null },
        },
      ],
      exit_on_statuses: [],
    };
    const html = render(<FlowEditor flow={withFallback} onChange={() => undefined} statuses={[]} problems={[]} />);
    const select = (label: string) => {
      const start = html.indexOf(`aria-label="${label}"`);
      return html.slice(start, html.indexOf("</select>", start));
    };
    const options = (label: string) => [...select(label).matchAll(/<option value="(\w+)"( selected="")?>([^<]*)</g)];
    expect(options("Channel").map((m) => [m[1], m[3]])).toEqual([
      ["email", "Email"],
      ["sms", "SMS"],
      ["whatsapp", "WhatsApp"],
    ]);
    expect(options("Channel").find((m) => m[2])?.[1]).toBe("email");
    expect(options("Fallback channel").map((m) => [m[1], m[3]])).toEqual([
      ["sms", "SMS"],
      ["whatsapp", "WhatsApp"],
    ]);
    expect(options("Fallback channel").find((m) => m[2])?.[1]).toBe("sms");
  });
});

describe("campaign page parts", () => {
  it("renders the per-step numbers and skipped reasons", () => {
    const html = render(
      <StepProgressPanel
        steps={readStepProgress([
          { step_id: "first", index: 0, type: "send", channel: "email", sent: 40, failed: 0, skipped: 2, by_reason: { no_consent: 2 } },
          { step_id: "pause", index: 1, type: "wait" },
          { step_id: "second", index: 2, type: "send", channel: "email", sent: 40 },
        ])}
      />,
    );
    expect(html.match(/data-testid="step-row"/g)).toHaveLength(2);
    expect(html).toContain('data-testid="step-sent">40<');
    expect(html).toContain("No consent");
  });

  it("shows the new campaign statuses readably", () => {
    const html = renderToStaticMarkup(<StatusBadge status="pending_approval" />);
    expect(html).toContain("badge-pending_approval");
    expect(html).toContain(">pending approval<");
  });

  it("keeps the calendar on a workspace switch, leaves a campaign or the wizard", () => {
    expect(pathAfterSwitch("/campaigns/calendar", "")).toBeNull();
    expect(pathAfterSwitch("/campaigns/new", "")).toBe("/campaigns");
    expect(pathAfterSwitch("/campaigns/4/edit", "")).toBe("/campaigns");
  });
});

/** A report funnel: zeros and null rates, with `over` on top. */
function funnel(over: Partial<ReportFunnel>): ReportFunnel {
  return {
    sent: 0, delivered: 0, failed: 0, hard_bounces: 0, unique_opens: 0, total_opens: 0, machine_opens: 0,
    unique_clicks: 0, total_clicks: 0, unsubscribes: 0, bounces: 0, complaints: 0, conversions: 0, revenue: 0,
    delivery_rate: null, open_rate: null, click_rate: null, click_to_open: null, unsubscribe_rate: null,
    bounce_rate: null, complaint_rate: null, conversion_rate: null, roi: null, ...over,
  };  // prettier-ignore
}

describe("campaign report", () => {
  const report: CampaignReport = {
    campaign_id: 3, run_id: 9, run_number: 2, status: "completed", cost: 50, bucket: "day",
    totals: funnel({ sent: 9, delivered: 8, unique_opens: 5, machine_opens: 1, unique_clicks: 3, hard_bounces: 1,
      bounces: 3, unsubscribes: 1, conversions: 1, revenue: 100, open_rate: 0.625, click_rate: 0.375,
      click_to_open: 0.6, roi: 1 }),
    steps: [
      { index: 0, step_id: "ab", label: "ab", type: "ab_split", channel: null, funnel: funnel({}), variants: [] },
      { index: 1, step_id: "sa", label: "ab › A › sa", type: "send", channel: "email",
        funnel: funnel({ sent: 5, open_rate: 0.6 }), variants: [{ variant: "a", funnel: funnel({ sent: 5 }) }] },
    ],
    ab_tests: [{ step_id: "ab", metric: "click_rate", winner: "b", runner_up: "a", z: 1.1, p_value: 0.27,
      significant: false, rates: { a: 0.2, b: 0.5 } }],
    links: [{ url: "https://example.com/x", clicks: 3, unique_clicks: 2 }],
    series: [],
    by_channel: [{ key: "email", sent: 9, unique_opens: 5, unique_clicks: 3, open_rate: 5 / 9, click_rate: 1 / 3 }],
    by_country: [
      { key: "FR", sent: 5, unique_opens: 3, unique_clicks: 1, open_rate: 0.6, click_rate: 0.2 },
      { key: "", sent: 4, unique_opens: 2, unique_clicks: 2, open_rate: 0.5, click_rate: 0.5 },
    ],
    by_device: [{ device: "mobile", opened: 1, clicked: 1 }],
  };  // prettier-ignore

  it("shows the funnel, rates, A/B verdict and links; rates without a denominator are a dash", () => {
    const html = render(<ReportPanel report={report} />);
    expect(html).toContain('data-testid="report-open-rate">62.5%<');
    expect(html).toContain('data-testid="report-click-rate">37.5%<');
    expect(html).toContain('data-testid="report-ctor">60%<');
    expect(html).toContain('data-testid="report-revenue">100.00<');
    expect(html).toContain("ROI 100%");
    expect(html).toContain('data-testid="report-ab-winner">b<');
    expect(html).toContain("Not significant against a yet (p = 0.270)");
    expect(html.match(/data-testid="report-step-row"/g)).toHaveLength(2); // the send step and its variant
    expect(html).toContain("https://example.com/x");
    expect(html).toContain("1 automated opens");
    expect(html).toContain('data-testid="report-by-country"');
    expect(html.match(/data-testid="breakdown-row"/g)).toHaveLength(3);
    expect(html).toContain("<td>FR</td><td>5</td><td>60%</td><td>20%</td>");
    expect(html).toContain("<td>mobile</td>");
    expect(rate(null)).toBe("—");
    expect(rate(0.5)).toBe("50%");
  });
});

describe("analytics page parts", () => {
  it("shows the period's numbers, top campaigns and list growth", () => {
    const html = render(
      <OverviewPanel
        overview={{
          days: 30, since: "2026-10-30T00:00:00Z", totals: funnel({ sent: 1200, open_rate: 0.41 }),
          trend: [{ day: "2026-11-28", sent: 1200, opens: 400, clicks: 80 }],
          top_campaigns: [{ campaign_id: 4, name: "Autumn", sent: 1200, open_rate: 0.41, click_rate: 0.08 }],
          list_growth: [{ list_id: 2, name: "Newsletter", first_size: 100, last_size: 160, change: 60 }],
        }}  // prettier-ignore
      />,
    );
    expect(html).toContain('data-testid="overview-sent">1,200<');
    expect(html).toContain('data-testid="overview-open-rate">41%<');
    expect(html).toContain('href="/campaigns/4"');
    expect(html).toContain("+60");
  });

  it("compares campaigns with signed differences in points", () => {
    const html = render(
      <ComparisonTable
        comparison={{
          campaigns: [
            { campaign_id: 1, name: "A", run_number: 1, totals: funnel({ sent: 10, open_rate: 0.5 }), deltas: { open_rate: 0 } },
            { campaign_id: 2, name: "B", run_number: 1, totals: funnel({ sent: 8, open_rate: 0.375 }), deltas: { open_rate: -0.125 } },
          ],
        }}  // prettier-ignore
      />,
    );
    expect(html).toContain("37.5%");
    expect(html).toContain("-12.5 pts");
    expect(points(0.05)).toBe("+5.0 pts");
    expect(points(0)).toBe("±0 pts");
    expect(points(null)).toBe("");
  });
});

describe("report funnel", () => {
  it("lists sent, delivered, human opens, clicks and conversions, each as a share of the stage before", () => {
    const stages = funnelStages(funnel({ sent: 10, delivered: 8, unique_opens: 4, machine_opens: 3, unique_clicks: 0, conversions: 0 }));
    expect(stages.map((s) => [s.stage, s.count])).toEqual([
      ["Sent", 10], ["Delivered", 8], ["Opened", 4], ["Clicked", 0], ["Converted", 0],
    ]);  // prettier-ignore
    expect(stages.map((s) => s.fromPrevious)).toEqual([null, 0.8, 0.5, 0, null]);
  });
});
