import type { Accept } from "react-dropzone";
import type { MediaAsset, MediaBulkAction, MediaBulkResult, MediaListQuery, MediaUpdate, MediaUser } from "../api/client";
import { formatNumber } from "../format";

/** Pure helpers of the media library (issue #6): labels, formats, the list query, edits. */

export type MediaKind = "image" | "video" | "document";
export type MediaStatus = "processing" | "ready" | "failed";
export type MediaSort = NonNullable<MediaListQuery["sort"]>;
export type MediaView = "grid" | "list";

export const MEDIA_KINDS: readonly { value: MediaKind; label: string }[] = [
  { value: "image", label: "Images" },
  { value: "video", label: "Videos" },
  { value: "document", label: "PDFs" },
];

export const MEDIA_STATUSES: readonly { value: MediaStatus; label: string }[] = [
  { value: "ready", label: "Ready" },
  { value: "processing", label: "Processing" },
  { value: "failed", label: "Failed" },
];

export const MEDIA_SORTS: readonly { value: MediaSort; label: string }[] = [
  { value: "newest", label: "Newest first" },
  { value: "oldest", label: "Oldest first" },
  { value: "name", label: "Name (A–Z)" },
  { value: "size", label: "Largest first" },
];

/** What POST /api/media takes (the server checks the bytes; this only steers the file picker). */
export const MEDIA_ACCEPT: Record<MediaKind, Accept> = {
  image: {
    "image/jpeg": [".jpg", ".jpeg"],
    "image/png": [".png"],
    "image/gif": [".gif"],
    "image/webp": [".webp"],
    "image/avif": [".avif"],
    "image/heic": [".heic"],
    "image/heif": [".heif"],
  },
  video: {
    "video/mp4": [".mp4", ".m4v"],
    "video/quicktime": [".mov"],
    "video/webm": [".webm"],
  },
  document: { "application/pdf": [".pdf"] },
};

/** The picker hint for one kind, or for everything the library takes. */
export function mediaAccept(kind?: MediaKind): Accept {
  if (kind) return MEDIA_ACCEPT[kind];
  return { ...MEDIA_ACCEPT.image, ...MEDIA_ACCEPT.video, ...MEDIA_ACCEPT.document };
}

export const MEDIA_HINT = "JPEG, PNG, GIF, WebP, AVIF, HEIC, MP4, MOV, WebM or PDF; several files at once.";

export function isMediaKind(value: unknown): value is MediaKind {
  return value === "image" || value === "video" || value === "document";
}

export function isMediaStatus(value: unknown): value is MediaStatus {
  return value === "processing" || value === "ready" || value === "failed";
}

export function isMediaSort(value: unknown): value is MediaSort {
  return MEDIA_SORTS.some((sort) => sort.value === value);
}

/** "Image", "Video", "PDF" */
export function kindLabel(kind: string): string {
  if (kind === "image") return "Image";
  if (kind === "video") return "Video";
  if (kind === "document") return "PDF";
  return kind;
}

const UNITS = ["KB", "MB", "GB", "TB"] as const;

/** 512 -> "512 B", 1536 -> "1.5 KB", 5_242_880 -> "5 MB" (binary units, one decimal under 10). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // 1023.96 KB would round to "1024 KB": say "1 MB" instead.
  if (value >= 1023.95 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = value < 10 ? Math.round(value * 10) / 10 : Math.round(value);
  return `${Number.isInteger(rounded) ? rounded.toFixed(0) : rounded.toFixed(1)} ${UNITS[unit]}`;
}

/** 5.4 -> "0:05", 65 -> "1:05", 3725 -> "1:02:05"; null -> "—". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "—";
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** "1 page", "12 pages" */
export function formatPages(count: number | null | undefined): string {
  if (count === null || count === undefined) return "—";
  return `${formatNumber(count)} page${count === 1 ? "" : "s"}`;
}

/** "1920 × 1080", or null when either side is unknown. */
export function formatDimensions(width: number | null | undefined, height: number | null | undefined): string | null {
  if (!width || !height) return null;
  return `${formatNumber(width)} × ${formatNumber(height)}`;
}

type Measured = Pick<MediaAsset, "kind" | "width" | "height" | "duration_seconds" | "page_count">;

/** The measures that matter for the kind: dimensions, dimensions and duration, page count. */
export function mediaMeasures(asset: Measured): string {
  const dims = formatDimensions(asset.width, asset.height);
  if (asset.kind === "video") {
    const duration = asset.duration_seconds === null ? null : formatDuration(asset.duration_seconds);
    return [dims, duration].filter(Boolean).join(" · ") || "—";
  }
  if (asset.kind === "document") return asset.page_count === null ? "—" : formatPages(asset.page_count);
  return dims ?? "—";
}

/** The short line under a card's name: a video's duration, a PDF's pages, an image's dimensions. */
export function cardMeta(asset: Measured): string | null {
  if (asset.kind === "video") return asset.duration_seconds === null ? null : formatDuration(asset.duration_seconds);
  if (asset.kind === "document") return asset.page_count === null ? null : formatPages(asset.page_count);
  return formatDimensions(asset.width, asset.height);
}

export type ThumbSize = "small" | "medium" | "large";

const THUMB_ORDER: Record<ThumbSize, readonly string[]> = {
  small: ["thumb-small", "thumb-medium", "thumb-large"],
  medium: ["thumb-medium", "thumb-large", "thumb-small"],
  large: ["thumb-large", "thumb-medium", "thumb-small"],
};

type WithVariants = Pick<MediaAsset, "kind" | "variants">;

function imageVariant(asset: WithVariants, name: string): string | null {
  const variant = asset.variants[name];
  return variant && variant.content_type.startsWith("image/") ? variant.url : null;
}

/** The URL of a still picture of the asset at about `size`, or null while it has none (processing, failed). */
export function thumbnailUrl(asset: WithVariants, size: ThumbSize = "medium"): string | null {
  for (const name of THUMB_ORDER[size]) {
    const url = imageVariant(asset, name);
    if (url) return url;
  }
  // A video's poster frame, a PDF's first page, an image's web rendition.
  return imageVariant(asset, "poster") ?? imageVariant(asset, "preview") ?? imageVariant(asset, "web");
}

/** Formats every browser shows in an <img>: an original in one of these may stand in for its renditions. */
const BROWSER_IMAGES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"]);

/** The picture for the details panel: the web rendition, a large thumbnail, else an original a browser shows. */
export function previewImageUrl(asset: WithVariants & Pick<MediaAsset, "content_type" | "url">): string | null {
  const rendition = imageVariant(asset, "web") ?? imageVariant(asset, "thumb-large");
  if (rendition) return rendition;
  if (asset.kind === "document") return imageVariant(asset, "preview") ?? thumbnailUrl(asset, "large");
  if (asset.kind === "video") return imageVariant(asset, "poster") ?? thumbnailUrl(asset, "large");
  if (BROWSER_IMAGES.has(asset.content_type)) return asset.url;
  return thumbnailUrl(asset, "large");
}

/** How often the library asks again while an asset on screen is being processed. */
export const MEDIA_POLL_MS = 1500;

/** MEDIA_POLL_MS while any of the assets is processing, else false (no polling). */
export function mediaPollInterval(assets: readonly Pick<MediaAsset, "status">[] | undefined): number | false {
  return assets?.some((asset) => asset.status === "processing") ? MEDIA_POLL_MS : false;
}

/** The filters of the library's toolbar; empty strings mean "any". */
export type MediaFilters = {
  search: string;
  kind: MediaKind | "";
  tag: string;
  folder: string;
  status: MediaStatus | "";
  sort: MediaSort;
};

export const EMPTY_FILTERS: MediaFilters = { search: "", kind: "", tag: "", folder: "", status: "", sort: "newest" };

export const MEDIA_PAGE_SIZE = 48;

/** The query of GET /api/media for the filters and page: only what is set, the search trimmed. */
export function mediaListQuery(filters: MediaFilters, offset = 0, limit = MEDIA_PAGE_SIZE): MediaListQuery {
  const query: MediaListQuery = { sort: filters.sort, limit, offset: Math.max(0, offset) };
  const search = filters.search.trim();
  if (search) query.search = search.slice(0, 200);
  if (filters.kind) query.kind = filters.kind;
  if (filters.tag) query.tag = filters.tag;
  if (filters.folder.trim()) query.folder = filters.folder.trim();
  if (filters.status) query.status = filters.status;
  return query;
}

/** Whether any filter narrows the list (the sort does not). */
export function isFiltered(filters: MediaFilters): boolean {
  return Boolean(filters.search.trim() || filters.kind || filters.tag || filters.folder || filters.status);
}

export const MAX_TAG_LENGTH = 64;

/** The tags after adding what was typed ("a, b" adds two); blanks and repeats are ignored. */
export function addTags(tags: readonly string[], typed: string): string[] {
  const next = [...tags];
  for (const raw of typed.split(",")) {
    const tag = raw.trim();
    if (tag && !next.includes(tag)) next.push(tag);
  }
  return next;
}

export function removeTag(tags: readonly string[], tag: string): string[] {
  return tags.filter((t) => t !== tag);
}

/** Why what was typed cannot be a tag, or null. */
export function tagProblem(typed: string): string | null {
  const long = typed.split(",").find((raw) => raw.trim().length > MAX_TAG_LENGTH);
  return long ? `A tag has at most ${MAX_TAG_LENGTH} characters.` : null;
}

/** "brand / logos /" -> "brand/logos": the form the server stores folders in. */
export function normalizeFolder(folder: string): string {
  return folder
    .replace(/\\/g, "/")
    .split("/")
    .map((part) => part.trim())
    .filter(Boolean)
    .join("/");
}

export type DetailsForm = { title: string; alt_text: string; folder: string; tags: string[] };

export function detailsForm(asset: Pick<MediaAsset, "title" | "alt_text" | "folder" | "tags">): DetailsForm {
  return { title: asset.title, alt_text: asset.alt_text, folder: asset.folder, tags: [...asset.tags] };
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  const left = [...new Set(a)].sort();
  const right = [...new Set(b)].sort();
  return left.length === right.length && left.every((tag, i) => tag === right[i]);
}

/** The PATCH body: only the fields that changed (empty when nothing did). */
export function mediaPatch(asset: Pick<MediaAsset, "title" | "alt_text" | "folder" | "tags">, form: DetailsForm): MediaUpdate {
  const patch: MediaUpdate = {};
  if (form.title.trim() !== asset.title) patch.title = form.title.trim();
  if (form.alt_text.trim() !== asset.alt_text) patch.alt_text = form.alt_text.trim();
  if (normalizeFolder(form.folder) !== asset.folder) patch.folder = normalizeFolder(form.folder);
  if (!sameTags(form.tags, asset.tags)) patch.tags = [...form.tags];
  return patch;
}

/** Managers and admins may delete an asset that templates or campaigns use (force=true). */
export function canForceDelete(role: string): boolean {
  return role === "manager" || role === "admin";
}

/** `campaign “Spring sale”, template “Welcome”` */
export function usedByText(users: readonly MediaUser[] | undefined): string {
  return (users ?? []).map((user) => `${user.type} “${user.name}”`).join(", ");
}

/** Where a user of an asset lives in the app (templates have no page of their own yet). */
export function usedByLink(user: MediaUser): string | null {
  return user.type === "campaign" ? `/campaigns/${user.id}` : null;
}

export const BULK_ACTIONS: readonly { value: MediaBulkAction; label: string }[] = [
  { value: "tag", label: "Add tag" },
  { value: "untag", label: "Remove tag" },
  { value: "move", label: "Move to folder" },
  { value: "delete", label: "Delete" },
];

function assets(count: number): string {
  return `${formatNumber(count)} asset${count === 1 ? "" : "s"}`;
}

/** What a bulk action did, in a sentence (refusals are listed apart). */
export function bulkResultText(action: MediaBulkAction, result: MediaBulkResult, value = ""): string {
  const done = {
    tag: `Tagged ${assets(result.affected)} with “${value}”.`,
    untag: `Removed “${value}” from ${assets(result.affected)}.`,
    move: value ? `Moved ${assets(result.affected)} to “${value}”.` : `Moved ${assets(result.affected)} out of their folders.`,
    delete: `Deleted ${assets(result.affected)}.`,
  }[action];
  const refused = result.refused?.length ?? 0;
  return refused ? `${done} ${assets(refused)} refused.` : done;
}

/** The order in which a page's selection is sent: ascending ids, no repeats. */
export function selectionIds(selected: ReadonlySet<number>): number[] {
  return [...selected].sort((a, b) => a - b);
}

/** Toggle one id in a selection (a new set). */
export function toggleSelected(selected: ReadonlySet<number>, id: number): Set<number> {
  const next = new Set(selected);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** Select every id of the page, or clear them when all already are. */
export function toggleAll(selected: ReadonlySet<number>, ids: readonly number[]): Set<number> {
  const next = new Set(selected);
  const all = ids.length > 0 && ids.every((id) => next.has(id));
  for (const id of ids) {
    if (all) next.delete(id);
    else next.add(id);
  }
  return next;
}
