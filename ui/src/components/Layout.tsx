import { useEffect, useState } from "react";
import { Link, NavLink, Outlet, useLocation, useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, isUnauthenticated, unwrap, type Me } from "../api/client";
import { useConfig } from "../api/queries";
import { can, type Permission } from "../auth";
import { useSession, useSwitchWorkspace } from "../session";
import { ErrorAlert } from "./Alert";
import { HealthIndicator } from "./HealthIndicator";
import { Icon, type IconName } from "./Icon";
import { RoleBadge } from "./RoleBadge";

type NavItem = { to: string; label: string; icon: IconName; permission?: Permission; sub?: boolean };

export const NAV_ITEMS: NavItem[] = [
  { to: "/", label: "Dashboard", icon: "dashboard" },
  { to: "/leads", label: "Leads", icon: "leads" },
  { to: "/imports", label: "Import", icon: "import", permission: "leads:write" },
  { to: "/lists", label: "Lists", icon: "lists" },
  { to: "/media", label: "Media", icon: "media" },
  { to: "/templates", label: "Templates", icon: "templates" },
  { to: "/campaigns", label: "Campaigns", icon: "campaigns" },
  { to: "/automations", label: "Automations", icon: "automations" },
  { to: "/analytics", label: "Analytics", icon: "analytics", permission: "analytics:read" },
  { to: "/reports", label: "Reports", icon: "reports", permission: "analytics:read" },
  { to: "/outbox", label: "Outbox", icon: "outbox" },
  { to: "/settings", label: "Settings", icon: "settings" },
  { to: "/settings/members", label: "Members", icon: "members", permission: "members:manage", sub: true },
  { to: "/settings/api-keys", label: "API keys", icon: "key", permission: "api_keys:manage", sub: true },
  { to: "/settings/secrets", label: "Secrets", icon: "lock", permission: "settings:manage", sub: true },
  { to: "/settings/custom-fields", label: "Custom fields", icon: "fields", permission: "settings:manage", sub: true },
  { to: "/settings/brand", label: "Brand guidelines", icon: "brand", permission: "settings:manage", sub: true },
  { to: "/settings/audit", label: "Audit log", icon: "audit", permission: "audit:read", sub: true },
];

/** The sidebar entries the caller's role may open. */
export function visibleNavItems(me: Pick<Me, "permissions">): NavItem[] {
  return NAV_ITEMS.filter((item) => !item.permission || can(me, item.permission));
}

/** Header with the product name, health, workspace and user; a sidebar (a drop-down menu on narrow screens); the page. */
export function Layout() {
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  const config = useConfig();
  const me = useSession();

  // Close the narrow-screen menu whenever the page changes.
  useEffect(() => setMenuOpen(false), [location.pathname]);

  return (
    <div className={`app ${menuOpen ? "menu-open" : ""}`}>
      <header className="topbar">
        <button
          type="button"
          className="menu-toggle"
          aria-label={menuOpen ? "Close menu" : "Open menu"}
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((open) => !open)}
        >
          <Icon name={menuOpen ? "close" : "menu"} size={22} />
        </button>
        <NavLink to="/" className="brand">
          <span className="brand-mark" aria-hidden="true">
            H
          </span>
          <span className="brand-name">Herald</span>
        </NavLink>
        <div className="topbar-spacer" />
        <HealthIndicator />
        <UserArea me={me} />
      </header>
      <aside className="sidebar" id="main-nav">
        <nav aria-label="Main">
          {visibleNavItems(me).map((item) => (
            <NavLink
              key={item.to}
              to={item.to}
              end={item.to === "/" || item.to === "/settings"}
              onClick={() => setMenuOpen(false)}
              className={({ isActive }) => `nav-link ${item.sub ? "nav-sub" : ""} ${isActive ? "active" : ""}`}
            >
              <Icon name={item.icon} size={item.sub ? 16 : 18} />
              <span>{item.label}</span>
            </NavLink>
          ))}
        </nav>
        {config.data && <div className="sidebar-footer">Herald v{config.data.version}</div>}
      </aside>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}

/** Workspace switcher, who is signed in with which role, password and sign-out. */
function UserArea({ me }: { me: Me }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [error, setError] = useState<unknown>(null);
  const switchWorkspace = useSwitchWorkspace();

  const signOut = useMutation({
    mutationFn: () => unwrap(api.POST("/api/auth/logout")),
    onMutate: () => setError(null),
    onSuccess: () => leave(),
    onError: (err) => (isUnauthenticated(err) ? leave() : setError(err)),
  });

  function leave() {
    navigate("/login", { replace: true });
    queryClient.clear();
  }

  const busy = switchWorkspace.isPending || signOut.isPending;

  return (
    <div className="user-area">
      <label className="workspace-switcher">
        <span className="visually-hidden">Workspace</span>
        <select
          name="workspace"
          className="input"
          value={me.workspace.id}
          disabled={busy || me.user === null}
          title="Switch workspace"
          onChange={(event) => {
            setError(null);
            switchWorkspace.mutate(Number(event.target.value), { onError: setError });
          }}
        >
          {me.workspaces.map((workspace) => (
            <option key={workspace.id} value={workspace.id}>
              {workspace.name}
            </option>
          ))}
        </select>
      </label>
      <Link to="/account" className="user-email" title="Your account">
        {me.user?.email ?? "API key"}
      </Link>
      <RoleBadge role={me.role} testId="current-role" />
      {me.user && (
        <Link to="/account" className="btn btn-ghost btn-sm btn-icon" title="Change password" aria-label="Change password">
          <Icon name="lock" size={16} />
        </Link>
      )}
      <button type="button" className="btn btn-secondary btn-sm" disabled={busy} onClick={() => signOut.mutate()}>
        <Icon name="signout" size={16} />
        <span className="signout-text">Sign out</span>
      </button>
      {Boolean(error) && (
        <div className="user-area-error">
          <ErrorAlert error={error} onDismiss={() => setError(null)} />
        </div>
      )}
    </div>
  );
}
