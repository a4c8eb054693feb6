import { keepPreviousData, useInfiniteQuery, useQuery, type QueryClient } from "@tanstack/react-query";
import {
  ApiError,
  api,
  isUnauthenticated,
  rememberCsrfToken,
  toApiError,
  unwrap,
  type Health,
  type LeadEvent,
  type LeadPage,
  type LeadSort,
  type Me,
  type PreviewRequest,
  type SortOrder,
} from "./client";

export const PAGE_SIZE = 50;

export const queryKeys = {
  me: ["me"] as const,
  config: ["config"] as const,
  health: ["health"] as const,
  /** Every lead query starts with "leads": invalidate that prefix after any lead change. */
  leads: (params: LeadParams) => ["leads", "page", params] as const,
  leadCount: ["leads", "count"] as const,
  leadFields: ["lead-fields"] as const,
  lead: (id: number) => ["lead", id] as const,
  leadEvents: (id: number) => ["lead", id, "events"] as const,
  leadLists: (id: number) => ["lead", id, "lists"] as const,
  /** Every list query starts with "lists" (memberships and counts change with leads too). */
  lists: ["lists"] as const,
  list: (id: number) => ["lists", id] as const,
  listStats: (id: number) => ["lists", id, "stats"] as const,
  listLeads: (id: number) => ["lists", id, "leads"] as const,
  listPreview: (body: PreviewRequest) => ["list-preview", body] as const,
  customFields: ["custom-fields"] as const,
  secretNames: ["secrets", "names"] as const,
  /** Every template query starts with "templates": invalidate that prefix after a save. */
  templates: ["templates"] as const,
  templateChoices: ["templates", "choices"] as const,
  templatePages: ["templates", "page"] as const,
  templatePage: (query: object) => ["templates", "page", query] as const,
  template: (id: number) => ["templates", "one", id] as const,
  templateVersions: (id: number) => ["templates", "one", id, "versions"] as const,
  templateVersion: (id: number, number: number) => ["templates", "one", id, "versions", number] as const,
  templateFolders: ["templates", "folders"] as const,
  templateTokens: ["templates", "tokens"] as const,
  templateCheck: (body: object) => ["template-check", body] as const,
  templatePreview: (body: object) => ["template-preview", body] as const,
  contentBlocks: ["content-blocks"] as const,
  brand: ["brand"] as const,
  campaigns: ["campaigns"] as const,
  campaign: (id: number) => ["campaign", id] as const,
  progress: (id: number) => ["campaign", id, "progress"] as const,
  report: (id: number, bucket: string) => ["campaign", id, "report", bucket] as const,
  outbox: (offset: number, search: string, limit: number) => ["outbox", { offset, search, limit }] as const,
  outboxMessage: (id: number) => ["outbox-message", id] as const,
  members: ["members"] as const,
  apiKeys: ["api-keys"] as const,
  permissionMatrix: ["permission-matrix"] as const,
  audit: (filters: AuditFilters, offset: number, limit: number) => ["audit", { ...filters, offset, limit }] as const,
  /** Every import query starts with "imports". */
  imports: ["imports"] as const,
  import: (id: number) => ["imports", id] as const,
  importPreview: (id: number) => ["imports", id, "preview"] as const,
  importProgress: (id: number) => ["imports", id, "progress"] as const,
  exportColumns: ["export-columns"] as const,
  exportJob: (id: number) => ["exports", id] as const,
  /** Every media query starts with "media": invalidate that prefix after an upload or an edit. */
  media: ["media"] as const,
  mediaPages: ["media", "page"] as const,
  mediaPage: (query: object) => ["media", "page", query] as const,
  mediaAsset: (id: number) => ["media", "asset", id] as const,
  mediaTags: ["media", "tags"] as const,
  mediaFolders: ["media", "folders"] as const,
  /** Every scheduled-report query starts with "reports": invalidate that prefix after any change or run. */
  reports: ["reports"] as const,
  reportOptions: ["reports", "options"] as const,
  reportPage: (query: object) => ["reports", "page", query] as const,
  reportRuns: (id: number, offset: number) => ["reports", "runs", id, offset] as const,
};

/** GET /api/auth/me, with a 401 answered as `null` (nobody is signed in) rather than as an error. */
async function fetchMe(): Promise<Me | null> {
  try {
    const me = await unwrap(api.GET("/api/auth/me"));
    rememberCsrfToken(me.csrf_token);
    return me;
  } catch (err) {
    if (isUnauthenticated(err)) return null;
    throw err;
  }
}

/** The signed-in caller (`null` when signed out): user, current workspace, role, permissions. */
export function useMe() {
  return useQuery({ queryKey: queryKeys.me, queryFn: fetchMe, staleTime: 60_000 });
}

/** Store a fresh MeOut (sign-in, workspace switch, password change) and its CSRF token. */
export function setMe(queryClient: QueryClient, me: Me | null): void {
  if (me) rememberCsrfToken(me.csrf_token);
  queryClient.setQueryData(queryKeys.me, me);
}

export function useConfig() {
  return useQuery({
    queryKey: queryKeys.config,
    queryFn: () => unwrap(api.GET("/api/config")),
    staleTime: 5 * 60_000,
  });
}

/** Fetch /api/health; a 503 still carries a HealthOut body, which is returned rather than thrown. */
async function fetchHealth(): Promise<Health> {
  let result;
  try {
    result = await api.GET("/api/health");
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ApiError(0, `Cannot reach the Herald API (${reason})`, null, "network");
  }
  if (result.data) return result.data;
  const body: unknown = result.error;
  if (result.response.status === 503 && typeof body === "object" && body !== null && "status" in body) {
    return body as Health;
  }
  throw toApiError(result.response.status, body);
}

export const HEALTH_INTERVAL_MS = 15_000;

export function useHealth() {
  return useQuery({
    queryKey: queryKeys.health,
    queryFn: fetchHealth,
    refetchInterval: HEALTH_INTERVAL_MS,
    retry: false,
  });
}

/** A filter tree as the API takes it (react-querybuilder JSON without the UI's ids). */
export type FilterJson = { [key: string]: unknown };

/** What the leads table asks for: search words, a filter tree (or none), the sort. */
export type LeadParams = {
  search: string;
  filter: FilterJson | null;
  sort: LeadSort;
  order: SortOrder;
  limit: number;
};

/** One keyset page of leads: GET /api/leads without a filter, POST /api/leads/search with one. */
export function fetchLeadPage(params: LeadParams, cursor: string | null): Promise<LeadPage> {
  const { search, filter, sort, order, limit } = params;
  if (filter) {
    return unwrap(
      api.POST("/api/leads/search", { body: { filter, search: search || null, sort, order, cursor, limit } }),
    );
  }
  return unwrap(
    api.GET("/api/leads", {
      params: { query: { sort, order, limit, ...(search ? { search } : {}), ...(cursor ? { cursor } : {}) } },
    }),
  );
}

/** Leads page after page as the table scrolls (`fetchNextPage` follows `next_cursor`). */
export function useLeadPages(params: LeadParams) {
  return useInfiniteQuery({
    queryKey: queryKeys.leads(params),
    queryFn: ({ pageParam }) => fetchLeadPage(params, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
    placeholderData: keepPreviousData,
  });
}

/** How many leads the workspace has (for the dashboard). */
export function useLeadCount() {
  return useQuery({
    queryKey: queryKeys.leadCount,
    queryFn: () => unwrap(api.GET("/api/leads", { params: { query: { limit: 1 } } })),
  });
}

/** The filter builder's catalogue: standard and custom fields with their operators. */
export function useLeadFields() {
  return useQuery({
    queryKey: queryKeys.leadFields,
    queryFn: () => unwrap(api.GET("/api/leads/fields")),
    staleTime: 60_000,
  });
}

export function useLead(id: number) {
  return useQuery({
    queryKey: queryKeys.lead(id),
    queryFn: () => unwrap(api.GET("/api/leads/{lead_id}", { params: { path: { lead_id: id } } })),
  });
}

export const EVENTS_PAGE = 50;

/** The timeline, newest first, older pages through `before`. */
export function useLeadEvents(id: number) {
  return useInfiniteQuery({
    queryKey: queryKeys.leadEvents(id),
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/leads/{lead_id}/events", {
          params: { path: { lead_id: id }, query: { limit: EVENTS_PAGE, ...(pageParam ? { before: pageParam } : {}) } },
        }),
      ),
    initialPageParam: null as number | null,
    getNextPageParam: (last: LeadEvent[]) => (last.length < EVENTS_PAGE ? null : (last[last.length - 1]?.id ?? null)),
  });
}

/** The lead's latest opens, clicks, bounces, complaints, unsubscribes and conversions. */
export function useLeadInteractions(id: number) {
  return useQuery({
    queryKey: ["lead", id, "interactions"] as const,
    queryFn: () =>
      unwrap(api.GET("/api/leads/{lead_id}/interactions", { params: { path: { lead_id: id }, query: { limit: 100 } } })),
  });
}

export function useLeadLists(id: number) {
  return useQuery({
    queryKey: queryKeys.leadLists(id),
    queryFn: () => unwrap(api.GET("/api/leads/{lead_id}/lists", { params: { path: { lead_id: id } } })),
  });
}

export function useCustomFields() {
  return useQuery({ queryKey: queryKeys.customFields, queryFn: () => unwrap(api.GET("/api/custom-fields")) });
}

/** The workspace's secret names (never values), for a webhook node's `auth_secret`. */
export function useSecretNames(enabled = true) {
  return useQuery({
    queryKey: queryKeys.secretNames,
    queryFn: () => unwrap(api.GET("/api/secrets/names")),
    enabled,
    staleTime: 30_000,
  });
}

export function useLists() {
  return useQuery({ queryKey: queryKeys.lists, queryFn: () => unwrap(api.GET("/api/lists")) });
}

export function useList(id: number, enabled = true) {
  return useQuery({
    queryKey: queryKeys.list(id),
    queryFn: () => unwrap(api.GET("/api/lists/{list_id}", { params: { path: { list_id: id } } })),
    enabled,
  });
}

export function useListStats(id: number) {
  return useQuery({
    queryKey: queryKeys.listStats(id),
    queryFn: () => unwrap(api.GET("/api/lists/{list_id}/stats", { params: { path: { list_id: id } } })),
  });
}

/** The leads a saved list holds now, keyset page after page. */
export function useListLeads(id: number, enabled = true) {
  return useInfiniteQuery({
    queryKey: queryKeys.listLeads(id),
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/lists/{list_id}/leads", {
          params: { path: { list_id: id }, query: { limit: PAGE_SIZE, ...(pageParam ? { cursor: pageParam } : {}) } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
    enabled,
  });
}

/** Count, reachability and a sample for an unsaved list definition; `body` null waits. */
export function useListPreview(body: PreviewRequest | null) {
  return useQuery({
    queryKey: queryKeys.listPreview(body ?? { kind: "dynamic" }),
    queryFn: () => unwrap(api.POST("/api/lists/preview", { body: body ?? { kind: "dynamic" } })),
    enabled: body !== null,
    placeholderData: keepPreviousData,
    staleTime: 10_000,
  });
}

/** The templates a campaign may send (the first 500 by name; the library pages through them all). */
export function useTemplates() {
  return useQuery({
    queryKey: queryKeys.templateChoices,
    queryFn: () => unwrap(api.GET("/api/templates", { params: { query: { limit: 500 } } })),
    select: (page) => page.items,
  });
}

export function useCampaigns(options: { poll?: boolean } = {}) {
  return useQuery({
    queryKey: queryKeys.campaigns,
    queryFn: () => unwrap(api.GET("/api/campaigns")),
    // While any campaign is sending, keep the list's progress bars moving.
    refetchInterval: options.poll
      ? (query) => (query.state.data?.some((c) => isActive(c.latest_run?.status ?? c.status)) ? 3000 : false)
      : false,
  });
}

export function useOutbox(offset: number, search: string, limit = PAGE_SIZE) {
  return useQuery({
    queryKey: queryKeys.outbox(offset, search, limit),
    queryFn: () =>
      unwrap(api.GET("/api/outbox", { params: { query: { limit, offset, ...(search ? { search } : {}) } } })),
    placeholderData: keepPreviousData,
  });
}

export function useOutboxMessage(id: number | null) {
  return useQuery({
    queryKey: queryKeys.outboxMessage(id ?? 0),
    queryFn: () => unwrap(api.GET("/api/outbox/{message_id}", { params: { path: { message_id: id ?? 0 } } })),
    enabled: id !== null,
    staleTime: Infinity,
  });
}

export function useMembers(enabled = true) {
  return useQuery({ queryKey: queryKeys.members, queryFn: () => unwrap(api.GET("/api/members")), enabled });
}

export function useApiKeys() {
  return useQuery({ queryKey: queryKeys.apiKeys, queryFn: () => unwrap(api.GET("/api/api-keys")) });
}

export function usePermissionMatrix() {
  return useQuery({
    queryKey: queryKeys.permissionMatrix,
    queryFn: () => unwrap(api.GET("/api/workspaces/permissions")),
    staleTime: Infinity,
  });
}

/** Filters of GET /api/audit; empty strings mean "any". `since`/`until` are ISO instants. */
export type AuditFilters = {
  action: string;
  entity_type: string;
  entity_id: string;
  user_id: string;
  since: string;
  until: string;
  search: string;
};

export function useAudit(filters: AuditFilters, offset: number, limit = PAGE_SIZE) {
  return useQuery({
    queryKey: queryKeys.audit(filters, offset, limit),
    queryFn: () => {
      const query: Record<string, string | number> = { limit, offset };
      for (const [key, value] of Object.entries(filters)) if (value) query[key] = value;
      // user_id is an integer to the API; the form keeps it as text.
      if (filters.user_id) query.user_id = Number(filters.user_id);
      return unwrap(api.GET("/api/audit", { params: { query } }));
    },
    placeholderData: keepPreviousData,
  });
}

/** The workspace's imports, newest first; refreshed every few seconds while one of them is working. */
export function useImports() {
  return useQuery({
    queryKey: queryKeys.imports,
    queryFn: () => unwrap(api.GET("/api/imports", { params: { query: { limit: 50 } } })),
    refetchInterval: (query) =>
      query.state.data?.some((row) => row.status === "queued" || row.status === "running") ? 5000 : false,
  });
}

export function useImport(id: number) {
  return useQuery({
    queryKey: queryKeys.import(id),
    queryFn: () => unwrap(api.GET("/api/imports/{import_id}", { params: { path: { import_id: id } } })),
  });
}

/** The preview of an uploaded import (the upload answer seeds it; a deep link reads it again). */
export function useImportPreview(id: number, enabled = true) {
  return useQuery({
    queryKey: queryKeys.importPreview(id),
    queryFn: () => unwrap(api.GET("/api/imports/{import_id}/preview", { params: { path: { import_id: id } } })),
    enabled,
    staleTime: Infinity,
  });
}

/** How often the progress panel asks while an import is queued or running. */
export const IMPORT_POLL_MS = 1000;

/** Counts and phase of an import, every second while it is queued or running. */
export function useImportProgress(id: number, enabled = true) {
  return useQuery({
    queryKey: queryKeys.importProgress(id),
    queryFn: () => unwrap(api.GET("/api/imports/{import_id}/progress", { params: { path: { import_id: id } } })),
    enabled,
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === undefined || status === "queued" || status === "running" ? IMPORT_POLL_MS : false;
    },
    refetchIntervalInBackground: true,
  });
}

/** Every column an export can hold (custom fields included). */
export function useExportColumns(enabled = true) {
  return useQuery({
    queryKey: queryKeys.exportColumns,
    queryFn: () => unwrap(api.GET("/api/exports/columns")),
    enabled,
    staleTime: 60_000,
  });
}

/** A background export, polled until it is ready or failed. */
export function useExportJob(id: number | null) {
  return useQuery({
    queryKey: queryKeys.exportJob(id ?? 0),
    queryFn: () => unwrap(api.GET("/api/exports/{export_id}", { params: { path: { export_id: id ?? 0 } } })),
    enabled: id !== null,
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === "ready" || status === "failed" ? false : 1000;
    },
  });
}

/** True for the statuses in which a campaign run is still alive in Temporal. */
export function isActive(status: string | null | undefined): boolean {
  return status === "running" || status === "paused";
}
