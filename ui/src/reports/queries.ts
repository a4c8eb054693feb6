import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { queryKeys } from "../api/queries";
import { runPollInterval, type ReportDefinitionIn, type ReportDefinitionPatch } from "./model";

export const REPORTS_PAGE = 25;
export const RUNS_PAGE = 10;

const path = (id: number) => ({ params: { path: { report_id: id } } });

/** Metrics, periods, cadences, limits, the workspace's campaign tags and timezone. */
export function useReportOptions() {
  return useQuery({
    queryKey: queryKeys.reportOptions,
    queryFn: () => unwrap(api.GET("/api/reports/options")),
    staleTime: 60_000,
  });
}

/** A page of report definitions; asked again every few seconds while one's latest run is still going. */
export function useReportPage(offset: number, search: string) {
  const query = { limit: REPORTS_PAGE, offset, ...(search ? { search } : {}) };
  return useQuery({
    queryKey: queryKeys.reportPage(query),
    queryFn: () => unwrap(api.GET("/api/reports", { params: { query } })),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => runPollInterval(q.state.data?.items.map((d) => d.last_run)),
  });
}

/** A report's history, newest first; polled while a run is queued or running, so "Run now" visibly completes. */
export function useReportRuns(id: number, offset: number) {
  return useQuery({
    queryKey: queryKeys.reportRuns(id, offset),
    queryFn: () =>
      unwrap(api.GET("/api/reports/{report_id}/runs", { params: { path: { report_id: id }, query: { limit: RUNS_PAGE, offset } } })),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => runPollInterval(q.state.data?.items),
  });
}

function useRefresh() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: queryKeys.reports });
}

/** A new report (POST) or the changes to one (PATCH); refreshes every "reports" query. */
export function useSaveReport() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (save: { id: null; body: ReportDefinitionIn } | { id: number; body: ReportDefinitionPatch }) =>
      save.id === null
        ? unwrap(api.POST("/api/reports", { body: save.body }))
        : unwrap(api.PATCH("/api/reports/{report_id}", { ...path(save.id), body: save.body })),
    onSuccess: refresh,
  });
}

/** Pause (`enabled: false`) or resume a report's schedule. */
export function usePauseReport() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: ({ id, enabled }: { id: number; enabled: boolean }) =>
      unwrap(api.PATCH("/api/reports/{report_id}", { ...path(id), body: { enabled } })),
    onSuccess: refresh,
  });
}

export function useDeleteReport() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/reports/{report_id}", path(id))),
    onSuccess: refresh,
  });
}

/** "Run now": the run comes back queued (202); the history then polls until it is ready or failed. */
export function useRunReport() {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (id: number) => unwrap(api.POST("/api/reports/{report_id}/run", path(id))),
    onSuccess: refresh,
  });
}
