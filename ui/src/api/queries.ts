import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ApiError, api, toApiError, unwrap, type Health } from "./client";

export const PAGE_SIZE = 50;

export const queryKeys = {
  config: ["config"] as const,
  health: ["health"] as const,
  leads: (offset: number, search: string, limit: number) => ["leads", { offset, search, limit }] as const,
  lists: ["lists"] as const,
  templates: ["templates"] as const,
  campaigns: ["campaigns"] as const,
  campaign: (id: number) => ["campaign", id] as const,
  progress: (id: number) => ["campaign", id, "progress"] as const,
  outbox: (offset: number, search: string, limit: number) => ["outbox", { offset, search, limit }] as const,
  outboxMessage: (id: number) => ["outbox-message", id] as const,
};

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

export function useLeads(offset: number, search: string, limit = PAGE_SIZE) {
  return useQuery({
    queryKey: queryKeys.leads(offset, search, limit),
    queryFn: () =>
      unwrap(api.GET("/api/leads", { params: { query: { limit, offset, ...(search ? { search } : {}) } } })),
    placeholderData: keepPreviousData,
  });
}

export function useLists() {
  return useQuery({ queryKey: queryKeys.lists, queryFn: () => unwrap(api.GET("/api/lists")) });
}

export function useTemplates() {
  return useQuery({ queryKey: queryKeys.templates, queryFn: () => unwrap(api.GET("/api/templates")) });
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

/** True for the statuses in which a campaign run is still alive in Temporal. */
export function isActive(status: string | null | undefined): boolean {
  return status === "running" || status === "paused";
}
