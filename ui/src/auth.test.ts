import { describe, expect, it } from "vitest";
import { QueryClient } from "@tanstack/react-query";
import { ApiError, readCookie } from "./api/client";
import { queryKeys } from "./api/queries";
import { can, loginPath, safeNextPath } from "./auth";
import { dayRange, localMidnightIso, prettyJson, summarizeChange } from "./audit";
import { visibleNavItems } from "./components/Layout";
import { handleSessionError } from "./queryClient";
import { pathAfterSwitch } from "./session";

describe("permissions", () => {
  it("grants only what the profile lists", () => {
    const me = { permissions: ["workspace:read", "campaigns:write"] };
    expect(can(me, "campaigns:write")).toBe(true);
    expect(can(me, "campaigns:launch")).toBe(false);
    expect(can(null, "workspace:read")).toBe(false);
  });

  it("shows the settings entries per role", () => {
    const labels = (permissions: string[]) => visibleNavItems({ permissions }).map((item) => item.label);
    expect(labels(["workspace:read"])).not.toContain("Members");
    expect(labels(["workspace:read"])).not.toContain("Audit log");
    expect(labels(["workspace:read"])).toContain("Settings");
    const manager = labels(["workspace:read", "audit:read", "analytics:read"]);
    expect(manager).toContain("Audit log");
    expect(manager).not.toContain("API keys");
    const admin = labels(["workspace:read", "audit:read", "members:manage", "api_keys:manage"]);
    expect(admin).toEqual(expect.arrayContaining(["Members", "API keys", "Audit log"]));
  });
});

describe("login redirects", () => {
  it("keeps the intended page, except the dashboard and the login page", () => {
    expect(loginPath({ pathname: "/campaigns/3", search: "?x=1", hash: "" })).toBe("/login?next=%2Fcampaigns%2F3%3Fx%3D1");
    expect(loginPath({ pathname: "/", search: "", hash: "" })).toBe("/login");
    expect(loginPath({ pathname: "/login", search: "?next=%2Fleads" })).toBe("/login");
  });

  it("only returns to paths of this app", () => {
    expect(safeNextPath("/campaigns/3?x=1")).toBe("/campaigns/3?x=1");
    expect(safeNextPath(null)).toBe("/");
    expect(safeNextPath("")).toBe("/");
    expect(safeNextPath("https://evil.example/")).toBe("/");
    expect(safeNextPath("//evil.example/")).toBe("/");
    expect(safeNextPath("/\\evil.example")).toBe("/");
    expect(safeNextPath("/login?next=/leads")).toBe("/");
  });

  it("leaves pages showing one record of the old workspace after switching", () => {
    expect(pathAfterSwitch("/campaigns/12", "")).toBe("/campaigns");
    expect(pathAfterSwitch("/outbox", "?message=4")).toBe("/outbox");
    expect(pathAfterSwitch("/automations/7", "")).toBe("/automations");
    expect(pathAfterSwitch("/automations/new", "")).toBeNull();
    expect(pathAfterSwitch("/campaigns", "")).toBeNull();
    expect(pathAfterSwitch("/settings/members", "")).toBeNull();
  });
});

describe("session errors", () => {
  it("reads the CSRF cookie among others", () => {
    const cookies = "theme=dark; herald_csrf=abc%3D123; other=1";
    expect(readCookie(cookies, "herald_csrf")).toBe("abc=123");
    expect(readCookie(cookies, "herald")).toBeNull();
    expect(readCookie("", "herald_csrf")).toBeNull();
  });

  it("signs the app out on a 401 and nothing else", () => {
    const client = new QueryClient();
    client.setQueryData(queryKeys.me, { role: "admin" });
    handleSessionError(client, new ApiError(403, "your role (viewer) does not allow x", null, "forbidden"));
    expect(client.getQueryData(queryKeys.me)).toEqual({ role: "admin" });
    handleSessionError(client, new ApiError(401, "your session has ended: sign in again", null, "unauthenticated"));
    expect(client.getQueryData(queryKeys.me)).toBeNull();
  });
});

describe("audit helpers", () => {
  it("turns local days into an inclusive range of instants", () => {
    const range = dayRange("2025-03-09", "2025-03-09");
    expect(range.since).toBe(new Date(2025, 2, 9).toISOString());
    expect(range.until).toBe(new Date(2025, 2, 10).toISOString());
    expect(dayRange("", "")).toEqual({ since: "", until: "" });
    expect(localMidnightIso("not a date")).toBeNull();
    // month ends roll over
    expect(localMidnightIso("2025-01-31", 1)).toBe(new Date(2025, 1, 1).toISOString());
  });

  it("summarizes what changed", () => {
    expect(summarizeChange({ role: "marketer" }, { role: "manager" })).toBe("role: marketer → manager");
    expect(summarizeChange({ name: "A", requires_approval: false }, { name: "A", requires_approval: true })).toBe(
      "requires_approval: false → true",
    );
    expect(summarizeChange(null, { name: "Spring", members: 40 })).toBe("name: Spring, members: 40");
    expect(summarizeChange({ email: "a@b.c", role: "viewer" }, null)).toBe("email: a@b.c, role: viewer");
    expect(summarizeChange(null, null)).toBe("");
    expect(summarizeChange(null, { text: "x".repeat(200) }, 20)).toHaveLength(20);
  });

  it("pretty-prints JSON", () => {
    expect(prettyJson(null)).toBe("—");
    expect(prettyJson({ a: 1 })).toBe('{\n  "a": 1\n}');
  });
});
