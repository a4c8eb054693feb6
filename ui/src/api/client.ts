import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

/** Typed client for the Herald API; the UI is served from the same origin. */
export const api = createClient<paths>({ baseUrl: "" });

type Schemas = components["schemas"];
export type AppConfig = Schemas["AppConfigOut"];
export type Health = Schemas["HealthOut"];
export type Lead = Schemas["LeadOut"];
export type LeadPage = Schemas["Page_LeadOut_"];
export type LeadList = Schemas["ListOut"];
export type Template = Schemas["TemplateOut"];
export type Campaign = Schemas["CampaignOut"];
export type CampaignDetail = Schemas["CampaignDetail"];
export type CampaignCreate = Schemas["CampaignCreate"];
export type Run = Schemas["RunOut"];
export type Progress = Schemas["ProgressOut"];
export type OutboxSummary = Schemas["OutboxSummary"];
export type OutboxPage = Schemas["Page_OutboxSummary_"];
export type OutboxDetail = Schemas["OutboxDetail"];
export type ErrorBody = Schemas["ErrorBody"];

/** An error answer of the API ({message, field, code}) or a failure to reach it. */
export class ApiError extends Error {
  readonly status: number;
  readonly field: string | null;
  readonly code: string;
  /** The parsed body, when there was one (e.g. /api/health answers 503 with a HealthOut). */
  readonly body: unknown;

  constructor(status: number, message: string, field: string | null = null, code = "error", body: unknown = undefined) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
    this.code = code;
    this.body = body;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Turn whatever the server sent back on failure into an ApiError with a readable message. */
export function toApiError(status: number, body: unknown): ApiError {
  if (isRecord(body)) {
    const message = typeof body.message === "string" ? body.message : undefined;
    const field = typeof body.field === "string" ? body.field : null;
    const code = typeof body.code === "string" ? body.code : "error";
    if (message) return new ApiError(status, message, field, code, body);
    // FastAPI's default shape, in case an error escapes the backend's handler.
    if (typeof body.detail === "string") return new ApiError(status, body.detail, null, code, body);
  }
  if (typeof body === "string" && body.trim() !== "" && body.length < 300) {
    return new ApiError(status, body.trim(), null, "error", body);
  }
  return new ApiError(status, `Request failed (HTTP ${status})`, null, "error", body);
}

type Result<D> = { data?: D; error?: unknown; response: Response };

/**
 * Await an openapi-fetch call and return its data, or throw an ApiError.
 * Network failures become an ApiError with status 0.
 */
export async function unwrap<D>(call: Promise<Result<D>>): Promise<D> {
  let result: Result<D>;
  try {
    result = await call;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ApiError(0, `Cannot reach the Herald API (${reason})`, null, "network");
  }
  const { data, error, response } = result;
  if (!response.ok || error !== undefined) throw toApiError(response.status, error);
  return data as D;
}

/** A message to show for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
