import { useEffect, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { useConfig } from "../api/queries";
import { HealthIndicator } from "./HealthIndicator";
import { Icon, type IconName } from "./Icon";

export const NAV_ITEMS: { to: string; label: string; icon: IconName }[] = [
  { to: "/", label: "Dashboard", icon: "dashboard" },
  { to: "/leads", label: "Leads", icon: "leads" },
  { to: "/lists", label: "Lists", icon: "lists" },
  { to: "/media", label: "Media", icon: "media" },
  { to: "/templates", label: "Templates", icon: "templates" },
  { to: "/campaigns", label: "Campaigns", icon: "campaigns" },
  { to: "/automations", label: "Automations", icon: "automations" },
  { to: "/analytics", label: "Analytics", icon: "analytics" },
  { to: "/outbox", label: "Outbox", icon: "outbox" },
  { to: "/settings", label: "Settings", icon: "settings" },
];

/** Header with the product name and health, a sidebar (a drop-down menu on narrow screens), and the page. */
export function Layout() {
  const [menuOpen, setMenuOpen] = useState(false);
  const location = useLocation();
  const config = useConfig();

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
      </header>
      <aside className="sidebar" id="main-nav">
        <nav aria-label="Main">
          {NAV_ITEMS.map((item) => (
            <NavLink
              key={item.to}
              to={item.to}
              end={item.to === "/"}
              onClick={() => setMenuOpen(false)}
              className={({ isActive }) => `nav-link ${isActive ? "active" : ""}`}
            >
              <Icon name={item.icon} />
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
