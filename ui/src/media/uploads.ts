import { useCallback, useEffect, useReducer, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import pLimit from "p-limit";
import { ApiError, type MediaUpload } from "../api/client";
import { queryKeys } from "../api/queries";
import { postMultipart, uploadErrorText } from "../api/upload";
import { formatPercent } from "../format";
import { normalizeFolder } from "./model";

/** Uploads to the media library: one request per file, at most UPLOAD_CONCURRENCY at a time. */

export const UPLOAD_CONCURRENCY = 3;

export type UploadState = "queued" | "uploading" | "uploaded" | "duplicate" | "failed" | "cancelled";

export type UploadRow = {
  key: string;
  name: string;
  size: number;
  state: UploadState;
  /** How far the upload is (null: the browser does not know). */
  percent: number | null;
  error: string | null;
  asset: MediaUpload | null;
};

export type UploadAction =
  | { type: "add"; rows: { key: string; name: string; size: number }[] }
  | { type: "start"; key: string }
  | { type: "progress"; key: string; percent: number | null }
  | { type: "done"; key: string; asset: MediaUpload }
  | { type: "fail"; key: string; error: string }
  | { type: "cancel"; key: string }
  | { type: "clear" };

export function isUploadFinished(state: UploadState): boolean {
  return state !== "queued" && state !== "uploading";
}

function update(rows: UploadRow[], key: string, change: (row: UploadRow) => UploadRow): UploadRow[] {
  return rows.map((row) => (row.key === key ? change(row) : row));
}

/** The upload rows after one event; a finished row no longer changes (a late progress event, say). */
export function uploadsReducer(rows: UploadRow[], action: UploadAction): UploadRow[] {
  switch (action.type) {
    case "add":
      return [
        ...rows,
        ...action.rows.map((row) => ({ ...row, state: "queued" as const, percent: 0, error: null, asset: null })),
      ];
    case "start":
      return update(rows, action.key, (row) => (row.state === "queued" ? { ...row, state: "uploading", percent: 0 } : row));
    case "progress":
      return update(rows, action.key, (row) => (row.state === "uploading" ? { ...row, percent: action.percent } : row));
    case "done":
      return update(rows, action.key, (row) =>
        isUploadFinished(row.state)
          ? row
          : { ...row, state: action.asset.duplicate ? "duplicate" : "uploaded", percent: 100, asset: action.asset },
      );
    case "fail":
      return update(rows, action.key, (row) => (isUploadFinished(row.state) ? row : { ...row, state: "failed", error: action.error }));
    case "cancel":
      return update(rows, action.key, (row) =>
        isUploadFinished(row.state) ? row : { ...row, state: "cancelled", error: "Cancelled." },
      );
    case "clear":
      return rows.filter((row) => !isUploadFinished(row.state));
  }
}

/** What a row says once it has an outcome, or while it waits. */
export function uploadRowText(row: Pick<UploadRow, "state" | "percent" | "error">): string {
  switch (row.state) {
    case "queued":
      return "Waiting…";
    case "uploading":
      return row.percent === null ? "Uploading…" : `Uploading… ${formatPercent(row.percent)}`;
    case "uploaded":
      return "Uploaded";
    case "duplicate":
      return "Already in the library";
    case "failed":
    case "cancelled":
      return row.error ?? "The upload failed.";
  }
}

/** POST /api/media's address, with the folder the new assets go to. */
export function uploadUrl(folder = ""): string {
  const clean = normalizeFolder(folder);
  return clean ? `/api/media?folder=${encodeURIComponent(clean)}` : "/api/media";
}

export type UploadQueue<T> = {
  /** Start `items` (after those still waiting); resolves when each has finished, whatever its outcome. */
  add: (items: readonly T[]) => Promise<void>;
  readonly active: number;
  readonly pending: number;
  /** Forget the items not started yet. */
  clear: () => void;
};

/** A queue that runs `run` for every item added, never more than `concurrency` at once across all additions. */
export function createUploadQueue<T>(run: (item: T) => Promise<unknown>, concurrency = UPLOAD_CONCURRENCY): UploadQueue<T> {
  const limit = pLimit(concurrency);
  return {
    add: async (items) => {
      await Promise.allSettled(items.map((item) => limit(run, item)));
    },
    get active() {
      return limit.activeCount;
    },
    get pending() {
      return limit.pendingCount;
    },
    clear: () => limit.clearQueue(),
  };
}

type Job = { key: string; file: File };

let keySeq = 0;

type Options = {
  /** The folder new assets go to. */
  folder?: string;
  /** Called with each answer (new asset or duplicate). */
  onUploaded?: (asset: MediaUpload) => void;
};

/** Upload rows and a function to add files; the library's queries refresh as each upload finishes. */
export function useMediaUploads(options: Options = {}) {
  const queryClient = useQueryClient();
  const [rows, dispatch] = useReducer(uploadsReducer, []);
  const optionsRef = useRef(options);
  useEffect(() => {
    optionsRef.current = options;
  });
  const controllers = useRef(new Map<string, AbortController>());

  const [queue] = useState(() =>
    createUploadQueue<Job>(async ({ key, file }) => {
      const controller = controllers.current.get(key);
      if (!controller || controller.signal.aborted) return;
      dispatch({ type: "start", key });
      const form = new FormData();
      form.append("file", file, file.name);
      try {
        const asset = await postMultipart<MediaUpload>(
          uploadUrl(optionsRef.current.folder),
          form,
          (progress) => dispatch({ type: "progress", key, percent: progress.percent }),
          controller.signal,
        );
        dispatch({ type: "done", key, asset });
        void queryClient.invalidateQueries({ queryKey: queryKeys.media });
        optionsRef.current.onUploaded?.(asset);
      } catch (err) {
        if (err instanceof ApiError && err.code === "aborted") dispatch({ type: "cancel", key });
        else dispatch({ type: "fail", key, error: uploadErrorText(err) });
      } finally {
        controllers.current.delete(key);
      }
    }),
  );

  const addFiles = useCallback(
    (files: readonly File[]) => {
      const jobs = files.map((file) => ({ key: `upload-${++keySeq}`, file }));
      for (const job of jobs) controllers.current.set(job.key, new AbortController());
      dispatch({ type: "add", rows: jobs.map(({ key, file }) => ({ key, name: file.name, size: file.size })) });
      void queue.add(jobs);
    },
    [queue],
  );

  const cancel = useCallback((key: string) => {
    const controller = controllers.current.get(key);
    // A queued file is skipped when its turn comes; a running upload is aborted.
    controller?.abort();
    dispatch({ type: "cancel", key });
  }, []);

  const clearFinished = useCallback(() => dispatch({ type: "clear" }), []);

  return { rows, addFiles, cancel, clearFinished };
}
