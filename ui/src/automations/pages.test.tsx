import { afterEach, describe, expect, it } from "vitest";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { Me } from "../api/client";
import { Automations } from "../pages/Automations";
import { SessionProvider } from "../session";
import type { AutomationSummary } from "./api";
import { automationKeys } from "./queries";

const workspace = { id: 5, name: "Acme", slug: "acme", requires_approval: false, role: "marketer", default_region: "US", timezone: "UTC" };
const me = (permissions: string[]): Me => ({
  user: { id: 1, email: "mia@example.com", name: "Mia" },
  workspace,
  role: "marketer",
  permissions,
  can_launch: false,
  workspaces: [workspace],
  csrf_token: "t",
});

const rows: AutomationSummary[] = [
  { id: 3, name: "Case study", status: "active", published_version: 2, updated_at: "2026-01-05T10:00:00Z", running: 1234, entered: 5678 },
  { id: 4, name: "Win-back", status: "draft", published_version: null, updated_at: "2026-01-04T10:00:00Z", running: 0, entered: 0 },
];

function render(node: ReactNode, permissions: string[]): string {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
  client.setQueryData(automationKeys.list, rows);
  return renderToStaticMarkup(
    <QueryClientProvider client={client}>
      <SessionProvider me={me(permissions)}>
        <MemoryRouter>{node}</MemoryRouter>
      </SessionProvider>
    </QueryClientProvider>,
  );
}

describe("the automations page", () => {
  afterEach(() => {
    delete (globalThis as { window?: unknown }).window;
  });

  it("lists the stored automations: status, published version, journeys running and entered", () => {
    const html = render(<Automations />, ["workspace:read", "campaigns:write"]);
    expect(html.match(/data-testid="automation-row"/g)).toHaveLength(2);
    expect(html).toContain('href="/automations/3"');
    expect(html).toMatch(/data-status="active"[^>]*>active</);
    expect(html).toContain("badge-running");
    expect(html).toMatch(/data-testid="automation-published">v2</);
    expect(html).toMatch(/data-testid="automation-published">—</);
    expect(html).toMatch(/data-testid="automation-running">1,234</);
    expect(html).toMatch(/data-testid="automation-entered">5,678</);
    expect(html).toContain("New automation");
  });

  it("offers to import or drop a draft the old builder left in this browser", () => {
    const items = new Map([["herald.automations.draft.5", JSON.stringify({ name: "Old draft", graph: { nodes: [], edges: [] }, savedAt: null })]]);
    (globalThis as { window?: unknown }).window = { localStorage: { getItem: (key: string) => items.get(key) ?? null } };
    const html = render(<Automations />, ["workspace:read", "campaigns:write"]);
    expect(html).toContain('data-testid="local-drafts"');
    expect(html).toContain("Old draft");
    expect(html).toContain(">Import</button>");
    expect(html).toContain(">Drop</button>");
  });

  it("shows a reader the list, each row opening the automation (read-only), without New automation nor the browser's draft", () => {
    const items = new Map([["herald.automations.draft.5", JSON.stringify({ name: "Old draft", graph: { nodes: [], edges: [] } })]]);
    (globalThis as { window?: unknown }).window = { localStorage: { getItem: (key: string) => items.get(key) ?? null } };
    const html = render(<Automations />, ["workspace:read"]);
    expect(html.match(/data-testid="automation-row"/g)).toHaveLength(2);
    expect(html).toContain('href="/automations/3"');
    expect(html).toContain('data-testid="read-only-hint"');
    expect(html).not.toContain("New automation");
    expect(html).not.toContain("Old draft");
  });
});
