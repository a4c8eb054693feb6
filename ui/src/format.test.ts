import { describe, expect, it } from "vitest";
import { formatPercent, rangeLabel } from "./format";
import { toApiError } from "./api/client";
import { summarizeHealth } from "./components/HealthIndicator";

describe("format", () => {
  it("writes the pagination range with thousands separators", () => {
    expect(rangeLabel(0, 50, 1000)).toBe("Showing 1–50 of 1,000");
    expect(rangeLabel(950, 50, 1000)).toBe("Showing 951–1,000 of 1,000");
    expect(rangeLabel(0, 0, 0)).toBe("Showing 0 of 0");
  });

  it("writes percents as the server gives them, whole numbers without decimals", () => {
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(42.5)).toBe("42.5%");
    expect(formatPercent(120)).toBe("100%");
  });
});

describe("api errors", () => {
  it("keeps message and field of the API's error body", () => {
    const err = toApiError(422, { message: "template 9 does not exist", field: "template_id", code: "invalid" });
    expect(err.message).toBe("template 9 does not exist");
    expect(err.field).toBe("template_id");
    expect(err.status).toBe(422);
  });

  it("falls back to a generic message for bodies it does not know", () => {
    expect(toApiError(502, undefined).message).toBe("Request failed (HTTP 502)");
  });
});

describe("health summary", () => {
  const up = { ok: true, detail: "ok" };
  it("says all systems up when both parts are fine", () => {
    const s = summarizeHealth({ status: "ok", version: "1", database: up, temporal: up }, null);
    expect(s).toMatchObject({ tone: "ok", text: "All systems up" });
  });
  it("names the failing part", () => {
    const s = summarizeHealth(
      { status: "degraded", version: "1", database: up, temporal: { ok: false, detail: "connection refused" } },
      null,
    );
    expect(s).toMatchObject({ tone: "down", text: "Temporal down" });
  });
  it("reports an unreachable API", () => {
    expect(summarizeHealth(undefined, new Error("boom")).text).toBe("API unreachable");
  });
});
