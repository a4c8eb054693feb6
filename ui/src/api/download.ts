/** Saving a file the API answered with (exports), and the name it suggested. */

function safeName(name: string): string {
  // Only the last path segment, and no control characters.
  const base = name.split(/[\\/]/).pop() ?? "";
  return Array.from(base)
    .filter((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) !== 0x7f)
    .join("")
    .trim();
}

/**
 * The file name of a Content-Disposition header (RFC 6266): `filename*=UTF-8''…` wins over `filename="…"`
 * or a bare `filename=…`; `fallback` when there is none.
 */
export function filenameFromDisposition(header: string | null | undefined, fallback: string): string {
  if (!header) return fallback;
  const extended = /filename\*\s*=\s*([^;]+)/i.exec(header);
  if (extended?.[1]) {
    const value = extended[1].trim().replace(/^"(.*)"$/, "$1");
    const match = /^([\w!#$%&+^`{}~-]*)'[^']*'(.*)$/.exec(value);
    if (match) {
      try {
        const charset = (match[1] ?? "").toLowerCase();
        const decoded =
          charset === "iso-8859-1" || charset === "latin1"
            ? (match[2] ?? "").replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
            : decodeURIComponent(match[2] ?? "");
        const name = safeName(decoded);
        if (name) return name;
      } catch {
        // a malformed escape: try the plain parameter
      }
    }
  }
  const quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header);
  if (quoted?.[1] !== undefined) {
    const name = safeName(quoted[1].replace(/\\(.)/g, "$1"));
    if (name) return name;
  }
  const bare = /(?:^|;)\s*filename\s*=\s*([^";\s][^;]*)/i.exec(header);
  if (bare?.[1]) {
    const name = safeName(bare[1]);
    if (name) return name;
  }
  return fallback;
}

/** Hand a blob to the browser as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  link.style.display = "none";
  document.body.appendChild(link);
  link.click();
  link.remove();
  // Give the browser time to start the download before the URL goes.
  window.setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
