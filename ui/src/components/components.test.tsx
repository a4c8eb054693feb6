import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { NotBuilt } from "../pages/NotBuilt";
import { ProgressBar } from "./ProgressBar";
import { StatusBadge } from "./StatusBadge";

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

  it("NotBuilt says which page is missing", () => {
    const html = renderToStaticMarkup(<NotBuilt page="Media" />);
    expect(html).toContain("Media is not built yet. It arrives in a later release.");
  });
});
