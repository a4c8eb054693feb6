import { describe, expect, it } from "vitest";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import example from "../../../tests/fixtures/automations/qualified_case_study.json";
import type { Me } from "../api/client";
import { AutomationEditorPage } from "../pages/AutomationBuilder";
import { SessionProvider } from "../session";
import type { Automation } from "./api";
import { AutomationBuilder } from "./Builder";
import { readGraph } from "./graph";
import type { DraftGraph } from "./model";
import { EdgePanel, NodePanel } from "./panels";
import { automationKeys } from "./queries";

const graph = readGraph(example).graph as DraftGraph;
const workspace = { id: 5, name: "Acme", slug: "acme", requires_approval: false, role: "viewer", default_region: "US", timezone: "UTC" };
const viewer: Me = {
  user: { id: 9, email: "vic@example.com", name: "Vic" },
  workspace,
  role: "viewer",
  permissions: ["workspace:read"],
  can_launch: false,
  workspaces: [workspace],
  csrf_token: "t",
};
const automation: Automation = {
  id: 3,
  name: "Qualified case study",
  status: "active",
  published_version: 1,
  draft: example,
  valid: true,
  problems: [],
  versions: [{ version: 1, published_at: "2026-01-05T10:00:00Z", published_by: 1 }],
  created_at: "2026-01-04T10:00:00Z",
  updated_at: "2026-01-05T10:00:00Z",
};

function render(node: ReactNode, path = "/"): string {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  client.setQueryData(automationKeys.one(automation.id), automation);
  return renderToStaticMarkup(
    <QueryClientProvider client={client}>
      <SessionProvider me={viewer}>
        <MemoryRouter initialEntries={[path]}>{node}</MemoryRouter>
      </SessionProvider>
    </QueryClientProvider>,
  );
}

const builder = (readOnly: boolean) =>
  render(<AutomationBuilder initialGraph={graph} onChange={() => {}} fileName="a.json" readOnly={readOnly} problems={[]} />);

describe("the read-only builder", () => {
  it("has no palette, no undo, redo, auto-layout or clear, and says it is read-only", () => {
    const html = builder(true);
    expect(html).not.toContain('aria-label="Node palette"');
    for (const tool of ["Undo", "Redo", "Auto-layout", "Clear"]) expect(html).not.toContain(`>${tool}</button>`);
    expect(html).toContain(">Fit view</button>");
    expect(html).toContain('data-testid="read-only"');
    expect(html).toContain('data-read-only="true"');
  });

  it("shows the automation's settings disabled, and the stored problems' count without asking the API", () => {
    const html = builder(true);
    expect(html).toMatch(/<fieldset disabled=""[^>]*data-testid="read-only-fields"/);
    expect(html).toContain("Read-only: select a node to see its settings.");
    expect(html).toMatch(/data-testid="validation-summary"[^>]*>No problems</);
  });

  it("is the editing builder without readOnly", () => {
    const html = builder(false);
    expect(html).toContain('aria-label="Node palette"');
    expect(html).toContain(">Undo</button>");
    expect(html).toContain(">Auto-layout</button>");
    expect(html).not.toContain("read-only-fields");
    expect(html).toMatch(/data-testid="validation-summary"[^>]*>Checking…</);
  });

  it("draws a node's and an edge's panel without their delete buttons, the node's fields disabled", () => {
    const wait = graph.nodes.find((n) => n.id === "wait-2d");
    if (!wait) throw new Error("the example has wait-2d");
    const node = (readOnly: boolean) =>
      render(<NodePanel node={wait} graph={graph} problems={[]} change={() => {}} onDelete={() => {}} readOnly={readOnly} />);
    expect(node(true)).not.toContain("Delete node");
    expect(node(true)).toMatch(/<fieldset disabled=""[^>]*data-testid="read-only-fields"/);
    expect(node(false)).toContain("Delete node");
    expect(node(false)).not.toContain("read-only-fields");
    const edge = { source: "wait-2d", outcome: "next", target: "case-study" };
    expect(render(<EdgePanel edge={edge} onDelete={() => {}} readOnly />)).not.toContain("Delete edge");
    expect(render(<EdgePanel edge={edge} onDelete={() => {}} />)).toContain("Delete edge");
  });
});

describe("the automation page of a member who may only read", () => {
  const page = () =>
    render(
      <Routes>
        <Route path="/automations/:id" element={<AutomationEditorPage />} />
      </Routes>,
      "/automations/3",
    );

  it("shows the automation, its versions and Monitor, and nothing that changes it", () => {
    const html = page();
    expect(html).toContain("Qualified case study");
    expect(html).toContain('data-testid="read-only-notice"');
    expect(html).toContain('data-testid="monitor-toggle"');
    expect(html).toContain('data-testid="automation-versions"');
    expect(html).toContain('data-read-only="true"');
    for (const control of ["Publish", "Publish changes", "Published", "Pause", "Delete", "Save"]) {
      expect(html).not.toContain(`>${control}</button>`);
    }
    expect(html).not.toContain('data-testid="simulate-toggle"');
    expect(html).not.toContain('name="name"');
    expect(html).not.toContain('data-testid="draft-saved"');
  });
});
