import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { Me } from "../api/client";
import { NotBuilt } from "../pages/NotBuilt";
import { RequirePermission, SessionProvider } from "../session";
import { ProgressBar } from "./ProgressBar";
import { RoleBadge } from "./RoleBadge";
import { SecretCallout } from "./SecretCallout";
import { StatusBadge } from "./StatusBadge";

const viewer: Me = {
  user: { id: 1, email: "vera@example.com", name: "Vera" },
  workspace: { id: 1, name: "Acme", slug: "acme", requires_approval: false, role: "viewer", default_region: "US", timezone: "UTC" },
  role: "viewer",
  permissions: ["workspace:read"],
  can_launch: false,
  workspaces: [{ id: 1, name: "Acme", slug: "acme", requires_approval: false, role: "viewer", default_region: "US", timezone: "UTC" }],
  csrf_token: "t",
};

describe("components", () => {
  it("StatusBadge shows the status word and carries the test id", () => {
    const html = renderToStaticMarkup(<StatusBadge status="completed" testId="run-status" />);
    expect(html).toContain('data-testid="run-status"');
    expect(html).toContain(">completed</span>");
    expect(html).toContain("badge-completed");
  });

  it("ProgressBar clamps its value and exposes it to assistive tech", () => {
    const html = renderToStaticMarkup(<ProgressBar percent={150} status="running" />);
    expect(html).toContain('aria-valuenow="100"');
    expect(html).toContain("width:100%");
  });

  it("RoleBadge shows the role word for the header's test id", () => {
    const html = renderToStaticMarkup(<RoleBadge role="manager" testId="current-role" />);
    expect(html).toContain('data-testid="current-role"');
    expect(html).toContain(">manager</span>");
  });

  it("SecretCallout shows the secret once with a copy button", () => {
    const html = renderToStaticMarkup(
      <SecretCallout title="Key created" value="hk_secret" testId="api-key-secret" onDismiss={() => undefined}>
        Copy it now: it will not be shown again.
      </SecretCallout>,
    );
    expect(html).toContain('data-testid="api-key-secret">hk_secret</code>');
    expect(html).toContain("Copy it now: it will not be shown again.");
    expect(html).toContain("Copy</span>");
  });

  it("RequirePermission explains instead of showing a page the role may not open", () => {
    const page = (
      <SessionProvider me={viewer}>
        <RequirePermission permission="members:manage" page="Members">
          <h1>Members</h1>
        </RequirePermission>
      </SessionProvider>
    );
    const html = renderToStaticMarkup(page);
    expect(html).not.toContain("<h1>Members</h1>");
    expect(html).toContain("No access");
    const admin = { ...viewer, role: "admin", permissions: ["workspace:read", "members:manage"] };
    expect(renderToStaticMarkup(<SessionProvider me={admin}>{page.props.children}</SessionProvider>)).toContain(
      "<h1>Members</h1>",
    );
  });

  it("NotBuilt says which page is missing", () => {
    const html = renderToStaticMarkup(<NotBuilt page="Media" />);
    expect(html).toContain("Media is not built yet. It arrives in a later release.");
  });
});
