import { ApiError, api, unwrap } from "../api/client";
import type { paths } from "../api/schema";
import { isRecord, type GraphProblem } from "./model";

/**
 * The automations API (#10, api/routes/automations.py) through the generated client: stored automations, their
 * draft (any JSON: the builder saves it valid or not), publication (a frozen version new journeys enter), pause and
 * resume. The hooks and their cache updates are in ./queries.
 */

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;
type Answer<P extends keyof paths, M extends "get" | "post" | "patch"> = paths[P][M] extends {
  responses: infer R;
}
  ? R extends { 200: infer A }
    ? JsonOf<A>
    : R extends { 201: infer A }
      ? JsonOf<A>
      : never
  : never;

/** A row of the list: name, status, published version, journeys running and entered. */
export type AutomationSummary = Answer<"/api/automations", "get">[number];
/** One automation: its draft (as saved, valid or not), the draft's problems, its published versions. */
export type Automation = Answer<"/api/automations/{automation_id}", "get">;
export type AutomationStatus = Automation["status"];
export type AutomationVersionSummary = Automation["versions"][number];
/** A published version: the graph as frozen then. */
export type AutomationVersion = Answer<"/api/automations/{automation_id}/versions/{version}", "get">;
export type AutomationPatch = { name?: string; graph?: unknown };

const path = (id: number) => ({ params: { path: { automation_id: id } } });

export const automationApi = {
  list: () => unwrap(api.GET("/api/automations")),
  create: (name: string, graph?: unknown) =>
    unwrap(api.POST("/api/automations", { body: graph === undefined ? { name } : { name, graph: graph as never } })),
  get: (id: number, signal?: AbortSignal) => unwrap(api.GET("/api/automations/{automation_id}", { ...path(id), signal })),
  update: (id: number, patch: AutomationPatch) =>
    unwrap(api.PATCH("/api/automations/{automation_id}", { ...path(id), body: patch as never })),
  remove: (id: number) => unwrap(api.DELETE("/api/automations/{automation_id}", path(id))),
  publish: (id: number) => unwrap(api.POST("/api/automations/{automation_id}/publish", path(id))),
  pause: (id: number) => unwrap(api.POST("/api/automations/{automation_id}/pause", path(id))),
  resume: (id: number) => unwrap(api.POST("/api/automations/{automation_id}/resume", path(id))),
  version: (id: number, version: number) =>
    unwrap(
      api.GET("/api/automations/{automation_id}/versions/{version}", {
        params: { path: { automation_id: id, version } },
      }),
    ),
};

/**
 * The problems of a refused publication (422 `{detail, problems}`), or null for any other failure. They have the
 * validate route's shape, so the builder draws them on the nodes.
 */
export function publishProblems(error: unknown): GraphProblem[] | null {
  if (!(error instanceof ApiError) || error.status !== 422 || !isRecord(error.body)) return null;
  const body = error.body;
  const list = Array.isArray(body.problems) ? body.problems : isRecord(body.detail) && Array.isArray(body.detail.problems) ? body.detail.problems : null;
  if (!list) return null;
  return list.flatMap((value: unknown): GraphProblem[] => {
    if (!isRecord(value) || typeof value.message !== "string") return [];
    return [
      {
        node_id: typeof value.node_id === "string" ? value.node_id : null,
        field: typeof value.field === "string" ? value.field : "",
        message: value.message,
        code: typeof value.code === "string" ? value.code : "error",
        severity: value.severity === "warning" ? "warning" : "error",
      },
    ];
  });
}

/** The message of a 409 (a name already used, a journey still running, a wrong state), else null. */
export function conflictMessage(error: unknown): string | null {
  return error instanceof ApiError && error.status === 409 ? error.message : null;
}
