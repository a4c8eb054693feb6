import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { useDebouncedValue } from "../useDebouncedValue";
import { automationApi, type Automation, type AutomationSummary } from "./api";
import type { DraftGraph } from "./model";

export const automationKeys = {
  validate: (graph: DraftGraph) => ["automation-validate", graph] as const,
  /** Every stored automation's query starts with "automations". */
  all: ["automations"] as const,
  list: ["automations", "list"] as const,
  one: (id: number) => ["automations", "one", id] as const,
  version: (id: number, version: number) => ["automations", "one", id, "version", version] as const,
};

export const VALIDATE_DELAY_MS = 400;

/** The API's problems of the graph, asked again a moment after each change (the answer for the last graph stays
 * on screen meanwhile). `checking`: the answer is not for the graph on screen yet; `current`: the answer there is,
 * if any, is for the graph on screen. `enabled` false asks nothing (a reader: the check needs campaigns:write). */
export function useGraphValidation(graph: DraftGraph, enabled = true) {
  const debounced = useDebouncedValue(graph, VALIDATE_DELAY_MS);
  const query = useQuery({
    queryKey: automationKeys.validate(debounced),
    queryFn: ({ signal }) => unwrap(api.POST("/api/automations/validate", { body: { graph: debounced }, signal })),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: false,
    enabled,
  });
  return {
    query,
    checking: enabled && (debounced !== graph || query.isFetching),
    current: debounced === graph && !query.isPlaceholderData,
  };
}

/** The workspace's automations (running and entered counts change with journeys: asked again now and then). */
export function useAutomations() {
  return useQuery({
    queryKey: automationKeys.list,
    queryFn: automationApi.list,
    refetchInterval: 30_000,
  });
}

/** One automation; `id` null waits. */
export function useAutomation(id: number | null) {
  return useQuery({
    queryKey: automationKeys.one(id ?? 0),
    queryFn: ({ signal }) => automationApi.get(id ?? 0, signal),
    enabled: id !== null,
  });
}

/** A published version (frozen: never asked again); `version` null waits. */
export function useAutomationVersion(id: number, version: number | null) {
  return useQuery({
    queryKey: automationKeys.version(id, version ?? 0),
    queryFn: () => automationApi.version(id, version ?? 0),
    enabled: version !== null,
    staleTime: Infinity,
  });
}

/** The list row an automation's answer stands for (its counts kept from the row when there is one). */
export function summaryOf(automation: Automation, row?: AutomationSummary): AutomationSummary {
  return {
    id: automation.id,
    name: automation.name,
    status: automation.status,
    published_version: automation.published_version,
    updated_at: automation.updated_at,
    running: row?.running ?? 0,
    entered: row?.entered ?? 0,
  };
}

/**
 * An answer of the API about one automation (created, saved, published, paused...) into the cache: the automation's
 * own query, and its row of the list (the list is also asked again, for its counts). A read of the automation still
 * under way is cancelled first, so an older answer cannot overwrite this one.
 */
export function storeAutomation(client: QueryClient, automation: Automation): void {
  void client.cancelQueries({ queryKey: automationKeys.one(automation.id), exact: true });
  client.setQueryData(automationKeys.one(automation.id), automation);
  client.setQueryData<AutomationSummary[]>(automationKeys.list, (rows) => {
    if (!rows) return rows;
    const at = rows.findIndex((row) => row.id === automation.id);
    if (at < 0) return [summaryOf(automation), ...rows];
    return rows.map((row, index) => (index === at ? summaryOf(automation, row) : row));
  });
  void client.invalidateQueries({ queryKey: automationKeys.list, exact: true });
}

/** A deleted automation out of the cache. */
export function forgetAutomation(client: QueryClient, id: number): void {
  void client.cancelQueries({ queryKey: automationKeys.one(id) });
  client.removeQueries({ queryKey: automationKeys.one(id) });
  client.setQueryData<AutomationSummary[]>(automationKeys.list, (rows) => rows?.filter((row) => row.id !== id));
  void client.invalidateQueries({ queryKey: automationKeys.list, exact: true });
}

export function useCreateAutomation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ name, graph }: { name: string; graph?: unknown }) => automationApi.create(name, graph),
    onSuccess: (automation) => storeAutomation(client, automation),
  });
}

/** Renames the automation (a duplicate name: 409 naming it). */
export function useRenameAutomation(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => automationApi.update(id, { name }),
    onSuccess: (automation) => storeAutomation(client, automation),
  });
}

/** Saves the draft graph (valid or not); the autosave's request. */
export function saveAutomationDraft(client: QueryClient, id: number, graph: unknown): Promise<Automation> {
  return automationApi.update(id, { graph }).then((automation) => {
    storeAutomation(client, automation);
    return automation;
  });
}

export type AutomationAction = "publish" | "pause" | "resume";

/** Publish (a 422 carries the problems: see `publishProblems`), pause or resume. */
export function useAutomationAction(id: number) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (action: AutomationAction) => automationApi[action](id),
    onSuccess: (automation) => storeAutomation(client, automation),
  });
}

/** Deletes the automation (409 while journeys run). */
export function useDeleteAutomation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => automationApi.remove(id),
    onSuccess: (_answer, id) => forgetAutomation(client, id),
  });
}
