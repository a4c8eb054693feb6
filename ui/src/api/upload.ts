import { ApiError, CSRF_HEADER, currentCsrfToken, toApiError } from "./client";

/**
 * Multipart uploads with progress. fetch() cannot report upload progress, so these go through XMLHttpRequest,
 * with what the openapi-fetch client adds to every unsafe request: the session cookie (same origin) and the
 * CSRF header.
 */

export type UploadProgress = { loaded: number; total: number | null; percent: number | null };

/** The body of an answer: JSON when it parses, else the text (a proxy's HTML error page, say). */
export function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** An upload's failure as an ApiError; a 413 without the API's own message (a proxy refused it) still says why. */
export function uploadError(status: number, body: unknown): ApiError {
  const error = toApiError(status, body);
  if (status === 413 && error.message.startsWith("Request failed")) {
    return new ApiError(413, "The file is larger than the server accepts.", "file", "too_large", body);
  }
  return error;
}

/** A progress event as a percentage (null when the browser does not know the total). */
export function uploadProgress(loaded: number, total: number | null): UploadProgress {
  const known = total !== null && total > 0;
  return { loaded, total: known ? total : null, percent: known ? Math.min(100, (100 * loaded) / total) : null };
}

/** POST `form` to `url`; resolves with the parsed JSON answer, rejects with an ApiError. */
export function postMultipart<T>(
  url: string,
  form: FormData,
  onProgress?: (progress: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    const token = currentCsrfToken();
    if (token) xhr.setRequestHeader(CSRF_HEADER, token);
    xhr.upload.onprogress = (event) => onProgress?.(uploadProgress(event.loaded, event.lengthComputable ? event.total : null));
    xhr.onload = () => {
      const body = parseBody(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as T);
      else reject(uploadError(xhr.status, body));
    };
    xhr.onerror = () =>
      reject(
        new ApiError(0, "The upload was interrupted: the connection failed or the server refused the file.", "file", "network"),
      );
    xhr.onabort = () => reject(new ApiError(0, "The upload was cancelled.", "file", "aborted"));
    if (signal) {
      if (signal.aborted) {
        // abort() before send() fires no event: settle here, or the promise would never end.
        reject(new ApiError(0, "The upload was cancelled.", "file", "aborted"));
        return;
      }
      signal.addEventListener("abort", () => xhr.abort(), { once: true });
    }
    xhr.send(form);
  });
}

/** The server's message, without the "file: " prefix its field already says. */
export function uploadErrorText(error: unknown): string {
  if (error instanceof ApiError) return error.message.replace(/^file: /, "").replace(/^./, (c) => c.toUpperCase());
  return error instanceof Error ? error.message : String(error);
}
