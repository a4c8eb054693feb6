import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

/** Typed client for the Herald API; the UI is served from the same origin, so the session cookie goes along. */
export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });

/** The cookie the server sets next to the (HttpOnly) session cookie; its value goes back as the CSRF header. */
export const CSRF_COOKIE = "herald_csrf";
export const CSRF_HEADER = "X-CSRF-Token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The value of one cookie in a `document.cookie` string, or null. */
export function readCookie(cookies: string, name: string): string | null {
  for (const part of cookies.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
  return null;
}

/** The token of the last sign-in / profile answer: used when the cookie cannot be read. */
let knownCsrfToken: string | null = null;

export function rememberCsrfToken(token: string | null | undefined): void {
  if (token) knownCsrfToken = token;
}

/** The CSRF token to send now: the cookie wins, since it always belongs to the current session cookie. */
export function currentCsrfToken(): string | null {
  const fromCookie = typeof document === "undefined" ? null : readCookie(document.cookie, CSRF_COOKIE);
  return fromCookie || knownCsrfToken;
}

// Every POST/PATCH/DELETE carries the CSRF token, read at request time (it changes on sign-in and password change).
api.use({
  onRequest({ request }) {
    if (SAFE_METHODS.has(request.method.toUpperCase())) return undefined;
    const token = currentCsrfToken();
    if (token) request.headers.set(CSRF_HEADER, token);
    return request;
  },
});

type Schemas = components["schemas"];
/** The JSON body of a path's 200/201 answer. */
type JsonAnswer<P extends keyof paths, M extends "get" | "post" | "put" | "patch"> = paths[P][M] extends {
  responses: { 200: { content: { "application/json": infer T } } };
}
  ? T
  : paths[P][M] extends { responses: { 201: { content: { "application/json": infer T } } } }
    ? T
    : never;
export type AppConfig = Schemas["AppConfigOut"];
export type Health = Schemas["HealthOut"];
export type CampaignReport = Schemas["ReportOut"];
export type ReportFunnel = Schemas["FunnelOut"];
export type AnalyticsOverview = Schemas["OverviewOut"];
export type CampaignComparison = Schemas["ComparisonOut"];
export type Lead = Schemas["LeadOut"];
export type LeadPage = Schemas["LeadPage"];
export type LeadQuery = Schemas["LeadQuery"];
export type LeadSort = NonNullable<LeadQuery["sort"]>;
export type SortOrder = NonNullable<LeadQuery["order"]>;
/**
 * Request bodies whose fields all have server defaults: the generated types mark those fields required
 * (openapi-typescript's default-non-nullable), but the API takes any subset.
 */
export type LeadCreate = Partial<Schemas["LeadCreate"]>;
export type LeadUpdate = Partial<Schemas["LeadUpdate"]>;
export type LeadEvent = Schemas["LeadEventOut"];
export type LeadInteraction = Schemas["InteractionOut"];
export type FieldInfo = Schemas["FieldInfo"];
export type BulkRequest = Schemas["BulkRequest"];
export type BulkAction = BulkRequest["action"];
export type BulkResult = Schemas["BulkResult"];
export type LeadSelection = Schemas["Selection"];
export type CustomField = Schemas["CustomFieldOut"];
export type CustomFieldCreate = Schemas["CustomFieldCreate"];
export type LeadList = Schemas["ListOut"];
export type ListKind = NonNullable<Schemas["ListCreate"]["kind"]>;
export type ListCreate = Schemas["ListCreate"];
export type ListUpdate = Schemas["ListUpdate"];
export type ListStats = Schemas["ListStatsOut"];
/** The list preview, by path. */
export type ListPreview = JsonAnswer<"/api/lists/preview", "post">;
export type PreviewRequest = Schemas["PreviewRequest"];
export type Reachability = Schemas["Reachability"];
export type WorkspaceUpdate = Schemas["WorkspaceUpdate"];
export type Template = Schemas["TemplateOut"];
export type TemplateSummary = Schemas["TemplateSummary"];
export type TemplateListQuery = NonNullable<paths["/api/templates"]["get"]["parameters"]["query"]>;
export type TemplateCreate = Schemas["TemplateCreate"];
export type TemplateUpdate = Schemas["TemplateUpdate"];
export type TemplatePatch = Schemas["TemplateMetaUpdate"];
export type TemplateVersionSummary = Schemas["VersionSummary"];
export type TemplateVersion = Schemas["TemplateVersionOut"];
export type TemplateProblem = Schemas["TemplateProblemOut"];
export type TemplateCheckRequest = Schemas["CheckBody"];
export type TemplateCheck = Schemas["CheckOut"];
export type TemplateToken = Schemas["TokenOut"];
export type TemplatePreviewRequest = Schemas["PreviewBody"];
export type TemplatePreview = JsonAnswer<"/api/templates/preview", "post">;
export type TestSendRequest = Schemas["TestSendBody"];
export type TestSendResult = Schemas["TestSendOut"];
export type TemplateFolder = Schemas["FolderOut"];
export type ContentBlock = Schemas["ContentBlockOut"];
export type ContentBlockIn = Schemas["ContentBlockIn"];
export type Brand = Schemas["BrandOut"];
export type BrandIn = Schemas["BrandIn"];
export type Campaign = Schemas["CampaignOut"];
export type CampaignDetail = Schemas["CampaignDetail"];
export type CampaignCreate = Schemas["CampaignCreate"];
export type CampaignUpdate = Schemas["CampaignUpdate"];
export type CampaignValidateRequest = Schemas["ValidateIn"];
export type CampaignAudienceRequest = Schemas["AudienceIn"];
export type CalendarEntryOut = Schemas["CalendarEntry"];
export type Run = Schemas["RunOut"];
export type Progress = Schemas["ProgressOut"];
export type OutboxSummary = Schemas["OutboxSummary"];
export type OutboxPage = Schemas["Page_OutboxSummary_"];
export type OutboxDetail = Schemas["OutboxDetail"];
export type ErrorBody = Schemas["ErrorBody"];
export type Me = Schemas["MeOut"];
export type Workspace = Schemas["WorkspaceOut"];
export type Role = Schemas["Role"];
export type Member = Schemas["MemberOut"];
export type MemberCreate = Schemas["MemberCreate"];
export type MemberCreated = Schemas["MemberCreated"];
export type ApiKey = Schemas["ApiKeyOut"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type AuditEntry = Schemas["AuditOut"];
export type AuditPage = Schemas["Page_AuditOut_"];
export type ImportOut = Schemas["ImportOut"];
export type ImportPreview = Schemas["ImportPreviewOut"];
export type ImportProgress = Schemas["ImportProgressOut"];
export type ImportCounts = Schemas["ImportCountsOut"];
export type ImportOptions = Schemas["ImportOptions"];
export type ImportStart = Schemas["ImportStart"];
export type MappingSuggestion = Schemas["MappingSuggestion"];
export type TargetOption = Schemas["TargetOption"];
export type SavedMapping = Schemas["SavedMappingOut"];
export type ColumnCustomField = Schemas["ColumnCustomField"];
export type ExportRequest = Schemas["ExportRequest"];
export type ExportFormat = ExportRequest["format"];
export type ExportJob = Schemas["ExportOut"];
export type ExportColumn = Schemas["ExportColumnOut"];
export type BulkFileBody = Schemas["Body_bulk_file_api_leads_bulk_file_post"];
export type BulkFileAction = BulkFileBody["action"];
export type BulkFileResult = Schemas["BulkFileResult"];
export type MediaAsset = Schemas["MediaOut"];
export type MediaDetail = Schemas["MediaDetailOut"];
export type MediaUpload = Schemas["UploadOut"];
export type MediaPage = Schemas["Page_MediaOut_"];
export type MediaListQuery = NonNullable<paths["/api/media"]["get"]["parameters"]["query"]>;
export type MediaUpdate = Schemas["MediaUpdate"];
export type MediaBulkRequest = Schemas["MediaBulk"];
export type MediaBulkAction = MediaBulkRequest["action"];
export type MediaBulkResult = Schemas["MediaBulkOut"];
export type MediaRefusal = Schemas["MediaRefusal"];
export type MediaUser = Schemas["MediaUser"];
export type MediaVariant = Schemas["VariantOut"];
export type NameCount = Schemas["CountOut"];

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
  return (await unwrapResponse(call)).data;
}

/** Like `unwrap`, also giving the response (its status and headers: a 202, a Content-Disposition). */
export async function unwrapResponse<D>(call: Promise<Result<D>>): Promise<{ data: D; response: Response }> {
  let result: Result<D>;
  try {
    result = await call;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ApiError(0, `Cannot reach the Herald API (${reason})`, null, "network");
  }
  const { data, error, response } = result;
  if (!response.ok || error !== undefined) throw toApiError(response.status, error);
  return { data: data as D, response };
}

/** True for the API's "sign in first" answer (any 401). */
export function isUnauthenticated(err: unknown): boolean {
  return err instanceof ApiError && err.status === 401;
}

/** A message to show for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
