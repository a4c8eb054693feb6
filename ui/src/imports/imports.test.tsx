import { describe, expect, it } from "vitest";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ApiError, type ImportOut, type ImportPreview, type Me } from "../api/client";
import { queryKeys } from "../api/queries";
import { visibleNavItems } from "../components/Layout";
import { FileDrop, rejectionMessage } from "../components/FileDrop";
import { ImportSteps, uploadErrorText } from "../pages/Imports";
import { SessionProvider, pathAfterSwitch } from "../session";
import { bulkFileFields } from "./BulkFile";
import { ImportRun, errorReportUrl } from "./ImportRun";
import { MapStep } from "./MapStep";

const WORKSPACE = { id: 1, name: "Acme", slug: "acme", requires_approval: false, role: "marketer", default_region: "US", lead_statuses: ["new", "won"], timezone: "UTC" };
const marketer: Me = {
  user: { id: 1, email: "mo@example.com", name: "Mo" },
  workspace: WORKSPACE,
  role: "marketer",
  permissions: ["workspace:read", "leads:write"],
  can_launch: false,
  workspaces: [WORKSPACE],
  csrf_token: "t",
};
const viewer: Me = { ...marketer, role: "viewer", permissions: ["workspace:read"] };

const ROW: ImportOut = {
  id: 12,
  filename: "fair.csv",
  status: "completed",
  kind: "csv",
  encoding: "utf-8",
  delimiter: ",",
  sheets: [],
  sheet: null,
  headers: ["E-mail", "Name"],
  size_bytes: 2048,
  mapping: ["email", "first_name"],
  options: {},
  counts: { total_rows: 1200, rows_read: 1200, imported: 1000, updated: 150, skipped: 30, rejected: 20, reported: 35 },
  error: null,
  workflow_id: "import-12",
  created_at: "2026-01-01T00:00:00Z",
  started_at: "2026-01-01T00:00:01Z",
  finished_at: "2026-01-01T00:01:00Z",
};

function render(node: ReactNode, me: Me = marketer, seed?: (client: QueryClient) => void): string {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  seed?.(client);
  return renderToStaticMarkup(
    <QueryClientProvider client={client}>
      <MemoryRouter>
        <SessionProvider me={me}>{node}</SessionProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("import pages", () => {
  it("shows the Import entry to roles that may write leads", () => {
    expect(visibleNavItems(marketer).map((item) => item.label)).toContain("Import");
    expect(visibleNavItems(viewer).map((item) => item.label)).not.toContain("Import");
    expect(pathAfterSwitch("/imports/12", "")).toBe("/imports");
    expect(pathAfterSwitch("/imports", "")).toBeNull();
  });

  it("has a real file input with the test id", () => {
    const html = renderToStaticMarkup(<FileDrop label="File to import" testId="import-file" onFile={() => undefined} />);
    expect(html).toMatch(/<input[^>]*type="file"/);
    expect(html).toContain('data-testid="import-file"');
    expect(html).toContain('aria-label="File to import"');
    expect(html).toContain(".xlsx");
    expect(html).not.toContain("multiple");
  });

  it("explains refused drops", () => {
    expect(rejectionMessage([{ errors: [{ code: "file-invalid-type", message: "" }] }])).toContain("not supported");
    expect(rejectionMessage([{ errors: [] }, { errors: [] }])).toBe("Drop one file at a time.");
  });

  it("shows the server's upload message without the field prefix", () => {
    expect(uploadErrorText(new ApiError(422, "file: the file is empty", "file"))).toBe("The file is empty");
    expect(uploadErrorText(new ApiError(413, "file: larger than the limit of 10 bytes", "file"))).toBe("Larger than the limit of 10 bytes");
  });

  it("marks the current step", () => {
    const html = renderToStaticMarkup(<ImportSteps current={2} />);
    expect(html).toContain('class="step step-done"');
    expect(html).toContain('aria-current="step"');
  });

  it("shows the finished import's counts, error report and leads link", () => {
    const html = render(<ImportRun row={ROW} />);
    expect(html).toContain("Import finished");
    expect(html).not.toContain("Cancel import");
    expect(html).toContain('data-testid="count-rows-read">1,200<');
    expect(html).toContain('data-testid="count-imported">1,000<');
    expect(html).toContain('data-testid="count-updated">150<');
    expect(html).toContain('data-testid="count-skipped">30<');
    expect(html).toContain('data-testid="count-rejected">20<');
    expect(html).toContain(`href="${errorReportUrl(12)}" download=""`);
    expect(html).toContain(">Download error report</a>");
    expect(html).toContain('href="/leads"');
    const clean = render(<ImportRun row={{ ...ROW, counts: { ...ROW.counts, skipped: 30, rejected: 0, reported: 0 } }} />);
    expect(clean).not.toContain("Download error report");
  });

  it("offers Cancel import while running, to writers only", () => {
    const running = { ...ROW, status: "running", finished_at: null };
    const html = render(<ImportRun row={running} />);
    expect(html).toContain("Importing…");
    expect(html).toContain(">Cancel import</button>");
    expect(html).toContain('role="progressbar"');
    expect(render(<ImportRun row={running} />, viewer)).not.toContain("Cancel import");
  });

  it("labels each mapping select by its column header", () => {
    const preview: ImportPreview = {
      ...ROW,
      status: "uploaded",
      sheets: ["People", "Other"],
      sheet: "People",
      rows: [["ada@example.com", "Ada"]],
      suggestions: [
        { column: 0, header: "E-mail", target: "email", reason: "header" },
        { column: 1, header: "Name", target: "ignore", reason: "no match" },
      ],
      targets: [
        { value: "ignore", label: "Do not import", type: "ignore" },
        { value: "email", label: "Email", type: "standard" },
        { value: "first_name", label: "First name", type: "standard" },
      ],
      saved_mappings: [{ id: 4, name: "Fair", columns: { "E-mail": "email" }, created_at: "2026-01-01T00:00:00Z" }],
    };
    const html = render(<MapStep row={preview} />, marketer, (client) =>
      client.setQueryData(queryKeys.importPreview(preview.id), preview),
    );
    expect(html).toContain("<h2>Map columns</h2>");
    expect(html).toContain('aria-label="Target for E-mail"');
    expect(html).toContain('aria-label="Target for Name"');
    expect(html).toContain("New custom field…");
    expect(html).toContain("Apply saved mapping");
    expect(html).toContain('name="sheet"');
    expect(html).toContain(">Start import</button>");
    expect(html).toContain("ada@example.com");
  });

  it("sends only the fields a bulk action reads", () => {
    expect(bulkFileFields({ action: "suppress", channel: "sms", reason: "bounced", tag: "" })).toEqual({
      fields: [
        ["action", "suppress"],
        ["channel", "sms"],
        ["reason", "bounced"],
      ],
    });
    expect(bulkFileFields({ action: "unsubscribe", channel: "email", reason: "bounced", tag: "x" })).toEqual({
      fields: [
        ["action", "unsubscribe"],
        ["channel", "email"],
      ],
    });
    expect(bulkFileFields({ action: "tag", channel: "email", reason: "unsubscribed", tag: " vip " })).toEqual({
      fields: [
        ["action", "tag"],
        ["tag", "vip"],
      ],
    });
    expect(bulkFileFields({ action: "tag", channel: "email", reason: "unsubscribed", tag: " " })).toEqual({
      problem: { field: "tag", message: "Type the tag to add." },
    });
    expect(bulkFileFields({ action: "delete", channel: "email", reason: "unsubscribed", tag: "" })).toEqual({ fields: [["action", "delete"]] });
  });
});
