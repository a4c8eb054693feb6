import { describe, expect, it } from "vitest";
import type { ReactNode } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router-dom";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { ApiError, type MediaAsset, type MediaDetail, type MediaUpload, type Me } from "../api/client";
import { queryKeys } from "../api/queries";
import { uploadErrorText } from "../api/upload";
import { FileDrop, acceptAttribute, rejectedFilesMessage } from "../components/FileDrop";
import { MediaPage } from "../pages/Media";
import { SessionProvider } from "../session";
import { MediaCard } from "./MediaCard";
import { MediaChooser } from "./MediaChooser";
import { MediaDetails } from "./MediaDetails";
import {
  EMPTY_FILTERS,
  MEDIA_PAGE_SIZE,
  MEDIA_POLL_MS,
  addTags,
  bulkResultText,
  canForceDelete,
  cardMeta,
  detailsForm,
  formatBytes,
  formatDimensions,
  formatDuration,
  formatPages,
  isFiltered,
  mediaAccept,
  mediaListQuery,
  mediaMeasures,
  mediaPatch,
  mediaPollInterval,
  normalizeFolder,
  previewImageUrl,
  removeTag,
  selectionIds,
  tagProblem,
  thumbnailUrl,
  toggleAll,
  toggleSelected,
  usedByLink,
  usedByText,
} from "./model";
import { createUploadQueue, uploadRowText, uploadUrl, uploadsReducer, type UploadRow } from "./uploads";

const WORKSPACE = { id: 1, name: "Acme", slug: "acme", requires_approval: false, role: "marketer", default_region: "US", lead_statuses: ["new"], timezone: "UTC" };
const marketer: Me = {
  user: { id: 1, email: "mo@example.com", name: "Mo" },
  workspace: WORKSPACE,
  role: "marketer",
  permissions: ["workspace:read", "media:write"],
  can_launch: false,
  workspaces: [WORKSPACE],
  csrf_token: "t",
};
const viewer: Me = { ...marketer, role: "viewer", permissions: ["workspace:read"] };

function variant(name: string, contentType = "image/webp") {
  return { url: `/api/media/1/file/${name}`, content_type: contentType, width: 480, height: 360, size: 1000 };
}

const IMAGE: MediaAsset = {
  id: 1,
  kind: "image",
  filename: "logo.png",
  content_type: "image/png",
  size_bytes: 20480,
  sha256: "ab",
  width: 1200,
  height: 800,
  duration_seconds: null,
  page_count: null,
  alt_text: "Our logo",
  title: "Logo",
  folder: "brand",
  tags: ["brand", "logo"],
  status: "ready",
  failure_reason: null,
  url: "/api/media/1/file",
  variants: {
    "thumb-small": variant("thumb-small"),
    "thumb-medium": variant("thumb-medium"),
    "thumb-large": variant("thumb-large"),
    web: variant("web"),
  },
  uploaded_by: 1,
  workflow_id: "media-1",
  created_at: "2024-05-01T10:00:00Z",
  updated_at: "2024-05-01T10:00:00Z",
};

const VIDEO: MediaAsset = {
  ...IMAGE,
  id: 2,
  kind: "video",
  filename: "clip.mp4",
  content_type: "video/mp4",
  width: 1920,
  height: 1080,
  duration_seconds: 75.4,
  url: "/api/media/2/file",
  variants: {
    poster: variant("poster", "image/jpeg"),
    preview: variant("preview", "video/mp4"),
    "thumb-medium": variant("thumb-medium"),
  },
};

const PDF: MediaAsset = {
  ...IMAGE,
  id: 3,
  kind: "document",
  filename: "brochure.pdf",
  content_type: "application/pdf",
  width: null,
  height: null,
  page_count: 12,
  url: "/api/media/3/file",
  variants: { preview: variant("preview"), "thumb-small": variant("thumb-small") },
};

const PROCESSING: MediaAsset = { ...IMAGE, id: 4, filename: "new.jpg", status: "processing", variants: {} };
const FAILED: MediaAsset = { ...IMAGE, id: 5, filename: "bad.heic", status: "failed", failure_reason: "cannot decode", variants: {} };

function wrap(children: ReactNode, me: Me = marketer, client = new QueryClient(), path = "/media") {
  return (
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <SessionProvider me={me}>{children}</SessionProvider>
      </MemoryRouter>
    </QueryClientProvider>
  );
}

/** The control a `<label for>` with exactly `text` names (its label is that text alone: no option text). */
function labelled(html: string, text: string): string {
  const label = new RegExp(`<label[^>]*for="([^"]+)"[^>]*>${text}</label>`).exec(html);
  expect(label, `a label "${text}"`).not.toBeNull();
  const id = label![1]!;
  const control = new RegExp(`<(input|select|textarea)[^>]*id="${id.replace(/[^\w-]/g, "\\$&")}"[^>]*>`).exec(html);
  expect(control, `the control of "${text}"`).not.toBeNull();
  return control![0];
}

describe("media formats", () => {
  it("formats sizes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(20480)).toBe("20 KB");
    expect(formatBytes(5 * 1024 * 1024)).toBe("5 MB");
    expect(formatBytes(1024 * 1024 - 1)).toBe("1 MB");
    expect(formatBytes(3.25 * 1024 ** 3)).toBe("3.3 GB");
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(-1)).toBe("—");
  });

  it("formats durations as m:ss or h:mm:ss", () => {
    expect(formatDuration(5.4)).toBe("0:05");
    expect(formatDuration(65)).toBe("1:05");
    expect(formatDuration(59.6)).toBe("1:00");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(null)).toBe("—");
  });

  it("formats pages and dimensions", () => {
    expect(formatPages(1)).toBe("1 page");
    expect(formatPages(12)).toBe("12 pages");
    expect(formatDimensions(1920, 1080)).toBe("1,920 × 1,080");
    expect(formatDimensions(null, 10)).toBeNull();
  });

  it("shows the measure that matters for each kind", () => {
    expect(mediaMeasures(IMAGE)).toBe("1,200 × 800");
    expect(mediaMeasures(VIDEO)).toBe("1,920 × 1,080 · 1:15");
    expect(mediaMeasures(PDF)).toBe("12 pages");
    expect(cardMeta(VIDEO)).toBe("1:15");
    expect(cardMeta(PDF)).toBe("12 pages");
    expect(cardMeta({ ...IMAGE, width: null })).toBeNull();
  });
});

describe("media thumbnails and previews", () => {
  it("picks the nearest thumbnail, then a poster or first page", () => {
    expect(thumbnailUrl(IMAGE, "medium")).toBe("/api/media/1/file/thumb-medium");
    expect(thumbnailUrl(IMAGE, "small")).toBe("/api/media/1/file/thumb-small");
    expect(thumbnailUrl(PDF, "large")).toBe("/api/media/1/file/thumb-small");
    expect(thumbnailUrl({ kind: "video", variants: { poster: variant("poster", "image/jpeg") } })).toBe("/api/media/1/file/poster");
    // A video's "preview" is an mp4: never an <img>.
    expect(thumbnailUrl({ kind: "video", variants: { preview: variant("preview", "video/mp4") } })).toBeNull();
    expect(thumbnailUrl(PROCESSING)).toBeNull();
  });

  it("previews the web rendition, a PDF's first page, or an original a browser shows", () => {
    expect(previewImageUrl(IMAGE)).toBe("/api/media/1/file/web");
    expect(previewImageUrl(PDF)).toBe("/api/media/1/file/preview");
    expect(previewImageUrl(PROCESSING)).toBe("/api/media/1/file");
    expect(previewImageUrl({ ...PROCESSING, content_type: "image/heic" })).toBeNull();
  });

  it("polls every 1.5 s only while something is processing", () => {
    expect(mediaPollInterval([IMAGE, PROCESSING])).toBe(MEDIA_POLL_MS);
    expect(MEDIA_POLL_MS).toBe(1500);
    expect(mediaPollInterval([IMAGE, FAILED])).toBe(false);
    expect(mediaPollInterval(undefined)).toBe(false);
  });
});

describe("media list query", () => {
  it("sends only the filters that are set", () => {
    expect(mediaListQuery(EMPTY_FILTERS)).toEqual({ sort: "newest", limit: MEDIA_PAGE_SIZE, offset: 0 });
    expect(
      mediaListQuery({ search: "  spring  logo ", kind: "image", tag: "brand", folder: " brand/logos ", status: "ready", sort: "name" }, 96, 48),
    ).toEqual({ search: "spring  logo", kind: "image", tag: "brand", folder: "brand/logos", status: "ready", sort: "name", limit: 48, offset: 96 });
    expect(mediaListQuery({ ...EMPTY_FILTERS, search: "   " }, -5)).toEqual({ sort: "newest", limit: MEDIA_PAGE_SIZE, offset: 0 });
    expect(mediaListQuery({ ...EMPTY_FILTERS, search: "x".repeat(300) }).search).toHaveLength(200);
  });

  it("knows when the list is narrowed", () => {
    expect(isFiltered(EMPTY_FILTERS)).toBe(false);
    expect(isFiltered({ ...EMPTY_FILTERS, sort: "size" })).toBe(false);
    expect(isFiltered({ ...EMPTY_FILTERS, tag: "a" })).toBe(true);
    expect(isFiltered({ ...EMPTY_FILTERS, search: " " })).toBe(false);
  });

  it("steers the file picker to a kind", () => {
    expect(Object.keys(mediaAccept("document"))).toEqual(["application/pdf"]);
    const all = acceptAttribute(mediaAccept());
    expect(all).toContain("image/heic");
    expect(all).toContain(".mov");
    expect(all).toContain("application/pdf");
  });
});

describe("media edits", () => {
  it("adds and removes tags", () => {
    expect(addTags(["a"], " b , a, ,c")).toEqual(["a", "b", "c"]);
    expect(addTags([], "   ")).toEqual([]);
    expect(removeTag(["a", "b"], "a")).toEqual(["b"]);
    expect(tagProblem("x".repeat(65))).toContain("64");
    expect(tagProblem("ok, fine")).toBeNull();
  });

  it("normalizes folders the way the server stores them", () => {
    expect(normalizeFolder(" brand / logos/ ")).toBe("brand/logos");
    expect(normalizeFolder("a\\b")).toBe("a/b");
    expect(normalizeFolder("")).toBe("");
  });

  it("patches only what changed", () => {
    const form = detailsForm(IMAGE);
    expect(mediaPatch(IMAGE, form)).toEqual({});
    expect(mediaPatch(IMAGE, { ...form, tags: ["logo", "brand"] })).toEqual({});
    expect(mediaPatch(IMAGE, { ...form, title: " New title ", folder: "brand/ logos", tags: ["brand"] })).toEqual({
      title: "New title",
      folder: "brand/logos",
      tags: ["brand"],
    });
    expect(mediaPatch(IMAGE, { ...form, alt_text: "" })).toEqual({ alt_text: "" });
  });

  it("lets managers and admins force a delete", () => {
    expect(canForceDelete("manager")).toBe(true);
    expect(canForceDelete("admin")).toBe(true);
    expect(canForceDelete("marketer")).toBe(false);
  });

  it("names an asset's users", () => {
    const users = [
      { type: "campaign" as const, id: 9, name: "Spring" },
      { type: "template" as const, id: 3, name: "Welcome" },
    ];
    expect(usedByText(users)).toBe("campaign “Spring”, template “Welcome”");
    expect(usedByLink(users[0]!)).toBe("/campaigns/9");
    expect(usedByLink(users[1]!)).toBeNull();
  });

  it("describes bulk outcomes", () => {
    expect(bulkResultText("tag", { affected: 2, refused: [] }, "spring")).toBe("Tagged 2 assets with “spring”.");
    expect(bulkResultText("move", { affected: 1, refused: [] }, "")).toBe("Moved 1 asset out of their folders.");
    expect(bulkResultText("delete", { affected: 1, refused: [{ id: 4, reason: "in use", used_by: [] }] })).toBe(
      "Deleted 1 asset. 1 asset refused.",
    );
  });

  it("selects and unselects", () => {
    expect(selectionIds(new Set([3, 1, 2]))).toEqual([1, 2, 3]);
    expect([...toggleSelected(new Set([1]), 1)]).toEqual([]);
    expect([...toggleSelected(new Set([1]), 2)]).toEqual([1, 2]);
    expect([...toggleAll(new Set([9]), [1, 2])].sort()).toEqual([1, 2, 9]);
    expect([...toggleAll(new Set([1, 2, 9]), [1, 2])]).toEqual([9]);
  });
});

function upload(asset: MediaAsset, duplicate: boolean): MediaUpload {
  return { ...asset, duplicate };
}

describe("media uploads", () => {
  it("runs at most three uploads at once, across several drops", async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const release = new Map<number, () => void>();
    const queue = createUploadQueue<number>(async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      started.push(n);
      await new Promise<void>((resolve) => release.set(n, resolve));
      running -= 1;
    }, 3);
    const first = queue.add([1, 2, 3, 4]);
    const second = queue.add([5, 6]);
    await Promise.resolve();
    expect(started).toEqual([1, 2, 3]);
    expect(queue.active).toBe(3);
    expect(queue.pending).toBe(3);
    // Each finished upload lets the next waiting one start, in order.
    for (let n = 1; n <= 6; n += 1) {
      while (!release.has(n)) await new Promise((resolve) => setTimeout(resolve, 0));
      release.get(n)?.();
    }
    await Promise.all([first, second]);
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(3);
    expect(queue.active).toBe(0);
  });

  it("keeps going when an upload fails", async () => {
    const done: number[] = [];
    const queue = createUploadQueue<number>(async (n) => {
      if (n === 2) throw new Error("boom");
      done.push(n);
    });
    await queue.add([1, 2, 3]);
    expect(done).toEqual([1, 3]);
  });

  it("tracks each row from waiting to its outcome", () => {
    let rows: UploadRow[] = uploadsReducer([], {
      type: "add",
      rows: [
        { key: "a", name: "a.png", size: 10 },
        { key: "b", name: "b.png", size: 20 },
        { key: "c", name: "c.txt", size: 5 },
      ],
    });
    expect(rows.map((r) => r.state)).toEqual(["queued", "queued", "queued"]);
    expect(uploadRowText(rows[0]!)).toBe("Waiting…");
    rows = uploadsReducer(rows, { type: "start", key: "a" });
    rows = uploadsReducer(rows, { type: "progress", key: "a", percent: 42 });
    expect(uploadRowText(rows[0]!)).toBe("Uploading… 42%");
    rows = uploadsReducer(rows, { type: "done", key: "a", asset: upload(IMAGE, false) });
    rows = uploadsReducer(rows, { type: "start", key: "b" });
    rows = uploadsReducer(rows, { type: "done", key: "b", asset: upload(IMAGE, true) });
    rows = uploadsReducer(rows, { type: "start", key: "c" });
    rows = uploadsReducer(rows, { type: "fail", key: "c", error: "Not a supported image, video or PDF" });
    expect(rows.map(uploadRowText)).toEqual(["Uploaded", "Already in the library", "Not a supported image, video or PDF"]);
    // A late progress event does not bring a finished row back.
    rows = uploadsReducer(rows, { type: "progress", key: "a", percent: 10 });
    expect(rows[0]?.state).toBe("uploaded");
    expect(rows[0]?.percent).toBe(100);
    expect(uploadsReducer(rows, { type: "clear" })).toEqual([]);
  });

  it("cancels waiting rows and keeps running ones on clear", () => {
    let rows = uploadsReducer([], { type: "add", rows: [{ key: "a", name: "a", size: 1 }, { key: "b", name: "b", size: 1 }] });
    rows = uploadsReducer(rows, { type: "start", key: "a" });
    rows = uploadsReducer(rows, { type: "cancel", key: "b" });
    expect(rows[1]?.state).toBe("cancelled");
    expect(uploadsReducer(rows, { type: "clear" }).map((r) => r.key)).toEqual(["a"]);
  });

  it("posts to the folder asked for", () => {
    expect(uploadUrl()).toBe("/api/media");
    expect(uploadUrl(" brand / spring ")).toBe("/api/media?folder=brand%2Fspring");
  });
});

describe("media components", () => {
  it("lets the drop zone take several files, leaving the type check to the server", () => {
    const html = renderToStaticMarkup(
      <FileDrop multiple acceptHintOnly accept={mediaAccept()} label="Files to upload" testId="media-file" onFiles={() => undefined} />,
    );
    expect(html).toContain('data-testid="media-file"');
    expect(html).toMatch(/<input[^>]*multiple/);
    expect(html).toContain("image/jpeg,.jpg,.jpeg");
    expect(html).toContain("Drag files here");
  });

  it("names refused files of a drop", () => {
    const file = { name: "notes.txt" };
    expect(rejectedFilesMessage([{ file, errors: [{ code: "file-invalid-type", message: "" }] }])).toBe("Not a supported file type: notes.txt.");
  });

  it("shows a card's thumbnail, a video's duration, a PDF's pages and a failure", () => {
    const card = (asset: MediaAsset) =>
      renderToStaticMarkup(<MediaCard asset={asset} onOpen={() => undefined} active={false} selected={false} onToggle={() => undefined} />);
    const image = card(IMAGE);
    expect(image).toContain('data-testid="media-card"');
    expect(image).toContain('<img src="/api/media/1/file/thumb-medium"');
    expect(image).toContain("logo.png");
    expect(image).toContain('aria-label="Select logo.png"');
    expect(card(VIDEO)).toContain("1:15");
    expect(card(PDF)).toContain("12 pages");
    expect(card(PROCESSING)).not.toContain("<img");
    expect(card(PROCESSING)).toContain("Processing…");
    expect(card(FAILED)).toContain("cannot decode");
  });

  it("renders the page's test hooks", () => {
    const client = new QueryClient();
    client.setQueryData(queryKeys.mediaPage(mediaListQuery(EMPTY_FILTERS, 0)), {
      items: [IMAGE, VIDEO, PDF],
      total: 3,
      limit: MEDIA_PAGE_SIZE,
      offset: 0,
    });
    client.setQueryData(queryKeys.mediaTags, [{ name: "brand", count: 3 }]);
    client.setQueryData(queryKeys.mediaFolders, [{ name: "", count: 1 }, { name: "brand", count: 2 }]);
    const html = renderToStaticMarkup(wrap(<MediaPage />, marketer, client));
    expect(html).toContain('data-testid="media-file"');
    expect(html).toContain('aria-label="Search media"');
    expect(labelled(html, "Tag")).toMatch(/^<select/);
    expect(html).toContain("Test the chooser");
    expect(html.match(/data-testid="media-card"/g)).toHaveLength(3);
    expect(html).toContain("brand (3)");
    expect(html).toContain("Showing 1–3 of 3");
  });

  it("hides the upload zone and checkboxes from viewers", () => {
    const client = new QueryClient();
    client.setQueryData(queryKeys.mediaPage(mediaListQuery(EMPTY_FILTERS, 0)), { items: [IMAGE], total: 1, limit: MEDIA_PAGE_SIZE, offset: 0 });
    const html = renderToStaticMarkup(wrap(<MediaPage />, viewer, client));
    expect(html).not.toContain('data-testid="media-file"');
    expect(html).not.toContain('type="checkbox"');
  });

  it("renders the details panel with its fields and users", () => {
    const client = new QueryClient();
    const detail: MediaDetail = { ...IMAGE, used_by: [{ type: "campaign", id: 9, name: "Spring" }, { type: "template", id: 3, name: "Welcome" }] };
    client.setQueryData(queryKeys.mediaAsset(1), detail);
    const html = renderToStaticMarkup(wrap(<MediaDetails id={1} onClose={() => undefined} />, marketer, client));
    expect(labelled(html, "Title")).toMatch(/^<input[^>]*value="Logo"/);
    expect(labelled(html, "Alt text")).toMatch(/^<textarea/);
    expect(labelled(html, "Folder")).toMatch(/^<input[^>]*value="brand"/);
    expect(html).toContain('aria-label="Add tag"');
    expect(html).toContain(">Save</button>");
    expect(html).toContain('href="/campaigns/9"');
    expect(html).toContain("Welcome");
    expect(html).toContain('src="/api/media/1/file/web"');
  });

  it("plays a video with its poster and opens a PDF", () => {
    const client = new QueryClient();
    client.setQueryData(queryKeys.mediaAsset(2), { ...VIDEO, used_by: [] });
    client.setQueryData(queryKeys.mediaAsset(3), { ...PDF, used_by: [] });
    const video = renderToStaticMarkup(wrap(<MediaDetails id={2} onClose={() => undefined} />, marketer, client));
    expect(video).toMatch(/<video controls="" preload="metadata" src="\/api\/media\/2\/file" poster="\/api\/media\/1\/file\/poster"/);
    const pdf = renderToStaticMarkup(wrap(<MediaDetails id={3} onClose={() => undefined} />, viewer, client));
    expect(pdf).toContain("Open PDF");
    expect(pdf).toContain('href="/api/media/3/file"');
    // A viewer reads the fields; controls a role may not use are absent, not disabled.
    expect(pdf).not.toContain(">Save</button>");
    expect(pdf).not.toContain('name="title"');
    expect(pdf).not.toContain(">Delete</button>");
    expect(pdf).toContain("<dt>Alt text</dt><dd>Our logo</dd>");
  });

  it("renders the chooser as a dialog named “Choose media” only while open", () => {
    const client = new QueryClient();
    expect(renderToStaticMarkup(wrap(<MediaChooser open={false} onClose={() => undefined} onChoose={() => undefined} />))).toBe("");
    client.setQueryData(
      queryKeys.mediaPage(mediaListQuery({ ...EMPTY_FILTERS, kind: "image", status: "ready" }, 0, 24)),
      { items: [IMAGE], total: 1, limit: 24, offset: 0 },
    );
    const html = renderToStaticMarkup(
      wrap(<MediaChooser open kind="image" onClose={() => undefined} onChoose={() => undefined} />, marketer, client),
    );
    expect(html).toContain("<dialog");
    expect(html).toContain('id="media-chooser-title">Choose media</h2>');
    expect(html).toContain('data-testid="chooser-card"');
    expect(html).toContain('data-testid="chooser-file"');
    expect(html).toMatch(/disabled="">Choose<\/button>/);
  });

  it("turns an upload error into the row's text", () => {
    const error = new ApiError(415, "file: not a supported image, video or PDF", "file", "unsupported_type");
    expect(uploadErrorText(error)).toBe("Not a supported image, video or PDF");
  });
});
