import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, unwrap, type CampaignAudienceRequest, type CampaignCreate, type CampaignValidateRequest } from "../api/client";
import { queryKeys } from "../api/queries";
import { readCalendar, readDryRun, readReach, readTestSend, readValidation } from "./model";
import type { CampaignBody } from "./wizard";

/**
 * The campaign builder's routes (#8) through the generated client. The wizard's own flow type lets a send step be
 * without a template while it is being edited (the API then names the field), so its bodies are handed over as the
 * API's type here, in one place; answers go through ./model's readers.
 */
function asApiBody(body: CampaignBody): CampaignCreate {
  return body as unknown as CampaignCreate;
}

const path = (id: number) => ({ params: { path: { campaign_id: id } } });

export const campaignApi = {
  create: (body: CampaignBody) => unwrap(api.POST("/api/campaigns", { body: asApiBody(body) })),
  update: (id: number, body: CampaignBody) =>
    unwrap(api.PUT("/api/campaigns/{campaign_id}", { ...path(id), body: asApiBody(body) })),
  launch: (id: number) => unwrap(api.POST("/api/campaigns/{campaign_id}/launch", path(id))),
  dryRun: async (id: number) => readDryRun(await unwrap(api.POST("/api/campaigns/{campaign_id}/dry-run", path(id)))),
  testSend: async (id: number, to: string[]) =>
    readTestSend(await unwrap(api.POST("/api/campaigns/{campaign_id}/test-send", { ...path(id), body: { to } }))),
  approve: (id: number, comment: string | null) =>
    unwrap(api.POST("/api/campaigns/{campaign_id}/approve", { ...path(id), body: { comment } })),
  reject: (id: number, comment: string) =>
    unwrap(api.POST("/api/campaigns/{campaign_id}/reject", { ...path(id), body: { comment } })),
  reschedule: (id: number, at: Date) =>
    unwrap(api.POST("/api/campaigns/{campaign_id}/reschedule", { ...path(id), body: { at: at.toISOString() } })),
};

export const campaignKeys = {
  reach: (body: object) => ["campaign-reach", body] as const,
  validate: (body: object) => ["campaign-validate", body] as const,
  /** Starts with "campaigns": invalidated with the campaign list. */
  calendar: (from: string, to: string) => ["campaigns", "calendar", from, to] as const,
  directory: ["member-directory"] as const,
};

export type ReachRequest = CampaignAudienceRequest;

/** Live reachable counts of an audience (POST, since it may carry an exclusion filter); `body` null waits. */
export function useReach(body: ReachRequest | null) {
  return useQuery({
    queryKey: campaignKeys.reach(body ?? {}),
    queryFn: async () => readReach(await unwrap(api.POST("/api/campaigns/reachability", { body: body ?? {} }))),
    enabled: body !== null,
    placeholderData: keepPreviousData,
    staleTime: 10_000,
    retry: false,
  });
}

/** Problems and estimated sends of an unsaved campaign body; `body` null waits. */
export function useValidation(body: CampaignBody | null) {
  return useQuery({
    queryKey: campaignKeys.validate(body ?? {}),
    queryFn: async () =>
      readValidation(
        await unwrap(api.POST("/api/campaigns/validate", { body: body as unknown as CampaignValidateRequest })),
      ),
    enabled: body !== null,
    placeholderData: keepPreviousData,
    staleTime: 10_000,
    retry: false,
  });
}

/** Scheduled and running campaigns between two instants. */
export function useCalendar(from: Date, to: Date) {
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  return useQuery({
    queryKey: campaignKeys.calendar(fromIso, toIso),
    queryFn: async () =>
      readCalendar(await unwrap(api.GET("/api/campaigns/calendar", { params: { query: { from: fromIso, to: toIso } } }))),
    placeholderData: keepPreviousData,
  });
}

/** The workspace's people (for the campaign owner). */
export function useDirectory() {
  return useQuery({
    queryKey: campaignKeys.directory,
    queryFn: () => unwrap(api.GET("/api/members/directory")),
    staleTime: 60_000,
  });
}

/** A campaign, as the wizard reads it (through draftFromCampaign). */
export function useCampaignRecord(id: number) {
  return useQuery({
    queryKey: queryKeys.campaign(id),
    queryFn: () => unwrap(api.GET("/api/campaigns/{campaign_id}", path(id))),
  });
}
