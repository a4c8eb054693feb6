import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { nextBefore, type JourneyStatus, type MonitorMode } from "./model";

/** The monitoring is asked again this often while it is on screen. */
export const MONITOR_REFRESH_MS = 5_000;
export const ERRORS_PAGE = 20;
export const JOURNEYS_PAGE = 25;

export type MonitorScope = { automationId: number; mode: MonitorMode; version: number | null };
export type JourneyFilters = { status: JourneyStatus | null; nodeId: string | null; leadId: number | null };

export const monitorKeys = {
  all: (id: number) => ["automation-monitor", id] as const,
  counts: (s: MonitorScope) => ["automation-monitor", s.automationId, "counts", s.mode, s.version] as const,
  errors: (s: MonitorScope, nodeId: string | null) =>
    ["automation-monitor", s.automationId, "errors", s.mode, s.version, nodeId] as const,
  journeys: (s: MonitorScope, f: JourneyFilters) =>
    ["automation-monitor", s.automationId, "journeys", s.mode, s.version, f.status, f.nodeId, f.leadId] as const,
  journey: (id: number, journeyId: number) => ["automation-monitor", id, "journey", journeyId] as const,
};

const path = (id: number) => ({ automation_id: id });
const scoped = (s: MonitorScope) => ({ mode: s.mode, ...(s.version !== null ? { version: s.version } : {}) });

/** Leads per node and status, totals, versions. */
export function useMonitorCounts(scope: MonitorScope) {
  return useQuery({
    queryKey: monitorKeys.counts(scope),
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/automations/{automation_id}/monitor", { params: { path: path(scope.automationId), query: scoped(scope) }, signal })),
    refetchInterval: MONITOR_REFRESH_MS,
    placeholderData: keepPreviousData,
  });
}

/** The error log, newest first (one node's, or all of them), a page at a time. */
export function useErrorLog(scope: MonitorScope, nodeId: string | null) {
  return useInfiniteQuery({
    queryKey: monitorKeys.errors(scope, nodeId),
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/automations/{automation_id}/errors", {
          params: {
            path: path(scope.automationId),
            query: { ...scoped(scope), limit: ERRORS_PAGE, ...(nodeId ? { node_id: nodeId } : {}), ...(pageParam ? { before: pageParam } : {}) },
          },
          signal,
        }),
      ),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: nextBefore,
    refetchInterval: MONITOR_REFRESH_MS,
  });
}

/** The journeys, newest first, filtered by status, node and lead, a page at a time. */
export function useJourneys(scope: MonitorScope, filters: JourneyFilters) {
  return useInfiniteQuery({
    queryKey: monitorKeys.journeys(scope, filters),
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/automations/{automation_id}/journeys", {
          params: {
            path: path(scope.automationId),
            query: {
              ...scoped(scope),
              limit: JOURNEYS_PAGE,
              ...(filters.status ? { status: filters.status } : {}),
              ...(filters.nodeId ? { node_id: filters.nodeId } : {}),
              ...(filters.leadId ? { lead_id: filters.leadId } : {}),
              ...(pageParam ? { before: pageParam } : {}),
            },
          },
          signal,
        }),
      ),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: nextBefore,
    refetchInterval: MONITOR_REFRESH_MS,
  });
}

/** One journey with its steps and path; `journeyId` null waits. Asked again while it runs. */
export function useJourney(automationId: number, journeyId: number | null) {
  return useQuery({
    queryKey: monitorKeys.journey(automationId, journeyId ?? 0),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/automations/{automation_id}/journeys/{journey_id}", {
          params: { path: { automation_id: automationId, journey_id: journeyId ?? 0 } },
          signal,
        }),
      ),
    enabled: journeyId !== null,
    refetchInterval: (q) => (q.state.data && !["active", "waiting"].includes(q.state.data.journey.status) ? false : MONITOR_REFRESH_MS),
  });
}
