import { createContext, useContext, type ReactNode } from "react";
import { Navigate, Outlet, useLocation, useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Me } from "./api/client";
import { queryKeys, setMe, useMe } from "./api/queries";
import { can, loginPath, type Permission } from "./auth";
import { Alert, ErrorAlert } from "./components/Alert";
import { PageHeader } from "./components/PageHeader";

const SessionContext = createContext<Me | null>(null);

/** The signed-in caller; only inside <RequireAuth> (every page but the login page). */
export function useSession(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error("useSession() outside <RequireAuth>");
  return me;
}

/** Whether the caller may do `permission` in the current workspace. */
export function useCan(permission: Permission): boolean {
  return can(useSession(), permission);
}

export function SessionProvider({ me, children }: { me: Me; children: ReactNode }) {
  return <SessionContext.Provider value={me}>{children}</SessionContext.Provider>;
}

/** Renders the app for a signed-in caller; sends everyone else to the login page, remembering where they were. */
export function RequireAuth({ children }: { children?: ReactNode }) {
  const me = useMe();
  const location = useLocation();

  if (me.data === null) return <Navigate to={loginPath(location)} replace />;
  if (me.data) return <SessionProvider me={me.data}>{children ?? <Outlet />}</SessionProvider>;
  if (me.error) {
    return (
      <div className="auth-screen">
        <div className="card auth-card">
          <h1>Herald is unavailable</h1>
          <ErrorAlert error={me.error} />
          <button type="button" className="btn btn-primary" disabled={me.isFetching} onClick={() => void me.refetch()}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  return (
    <div className="auth-screen">
      <p className="muted">Loading…</p>
    </div>
  );
}

/** A page only some roles may open: others get an explanation instead of the server's 403. */
export function RequirePermission({ permission, page, children }: { permission: Permission; page: string; children: ReactNode }) {
  const me = useSession();
  if (can(me, permission)) return <>{children}</>;
  return (
    <>
      <PageHeader title="No access" />
      <Alert tone="info">
        {page} needs the <code>{permission}</code> permission; your role in {me.workspace.name} is{" "}
        <strong>{me.role}</strong>.
      </Alert>
    </>
  );
}

/** Pages that show one workspace's record; after switching workspace, go to their list instead. */
export function pathAfterSwitch(pathname: string, search: string): string | null {
  // A campaign (or its wizard) belongs to the old workspace; the calendar shows the new one's.
  if (/^\/campaigns\/(?!calendar$)[^/]+/.test(pathname)) return "/campaigns";
  if (/^\/leads\/[^/]+/.test(pathname)) return "/leads";
  if (/^\/lists\/\d+/.test(pathname)) return "/lists";
  if (/^\/imports\/\d+/.test(pathname)) return "/imports";
  if (/^\/automations\/\d+/.test(pathname)) return "/automations";
  if (pathname === "/outbox" && new URLSearchParams(search).has("message")) return "/outbox";
  if (pathname === "/reports" && new URLSearchParams(search).has("report")) return "/reports";
  return null;
}

/** POST /api/auth/workspace, then refetch everything: every list is workspace-scoped. */
export function useSwitchWorkspace() {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  return useMutation({
    mutationFn: (workspaceId: number) =>
      unwrap(api.POST("/api/auth/workspace", { body: { workspace_id: workspaceId } })),
    onSuccess: (next) => {
      setMe(queryClient, next);
      // Drop what the other workspace showed (rather than flash it) and fetch again.
      void queryClient.resetQueries({ predicate: (query) => query.queryKey[0] !== queryKeys.me[0] });
      const target = pathAfterSwitch(location.pathname, location.search);
      if (target) navigate(target);
    },
  });
}
