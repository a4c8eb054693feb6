import type { Me, Role } from "./api/client";

/** The permission strings of GET /api/auth/me (`x-permission` in openapi.json). */
export type Permission =
  | "workspace:read"
  | "leads:write"
  | "lists:write"
  | "templates:write"
  | "media:write"
  | "campaigns:write"
  | "campaigns:launch"
  | "campaigns:approve"
  | "analytics:read"
  | "audit:read"
  | "members:manage"
  | "api_keys:manage"
  | "settings:manage";

export const ROLES: readonly Role[] = ["admin", "manager", "marketer", "viewer"];

/** One line per role, for forms that hand out a role. */
export const ROLE_SUMMARY: Record<Role, string> = {
  admin: "everything, including members, API keys and settings",
  manager: "approves launches; templates, lists, media, analytics and the audit log",
  marketer: "creates and edits campaigns, lists, templates and media",
  viewer: "reads everything, changes nothing",
};

/** Whether the signed-in caller's role in the current workspace grants `permission`. */
export function can(me: Pick<Me, "permissions"> | null | undefined, permission: Permission): boolean {
  return Boolean(me?.permissions.includes(permission));
}

/**
 * Where to go after signing in: a path inside the app from `?next=`, never another origin
 * ("//evil.example", "https://…") nor the login page itself.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/login#")) return "/";
  return next;
}

/** The login page's address, remembering the page the visitor wanted (the dashboard needs no reminder). */
export function loginPath(location: { pathname: string; search?: string; hash?: string }): string {
  const target = `${location.pathname}${location.search ?? ""}${location.hash ?? ""}`;
  if (target === "/" || target === "" || location.pathname === "/login") return "/login";
  return `/login?next=${encodeURIComponent(target)}`;
}
