import { useState } from "react";
import { useDropzone, type Accept, type FileRejection } from "react-dropzone";
import { formatPercent } from "../format";
import { ProgressBar } from "./ProgressBar";

/** CSV, TSV, plain text and XLSX: what the import and bulk-file endpoints read. */
export const TABULAR_ACCEPT: Accept = {
  "text/csv": [".csv"],
  "text/tab-separated-values": [".tsv"],
  "text/plain": [".txt"],
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": [".xlsx"],
};

/** Why the dropzone refused what was dropped, in words. */
export function rejectionMessage(rejections: readonly Pick<FileRejection, "errors">[], kinds = "a CSV, TSV, TXT or XLSX file"): string {
  const codes = new Set(rejections.flatMap((r) => r.errors.map((e) => e.code)));
  if (codes.has("too-many-files") || rejections.length > 1) return "Drop one file at a time.";
  if (codes.has("file-invalid-type")) return `That file type is not supported: choose ${kinds}.`;
  return rejections[0]?.errors[0]?.message ?? "That file cannot be used.";
}

/** The `accept` attribute of a file input for an Accept map: what the browser's file picker offers first. */
export function acceptAttribute(accept: Accept): string {
  return Object.entries(accept)
    .flatMap(([mime, extensions]) => [mime, ...extensions])
    .join(",");
}

type CommonProps = {
  /** The file input's accessible name. */
  label: string;
  testId: string;
  disabled?: boolean;
  /** The file being (or last) uploaded, and how far along it is (null: unknown). */
  uploading?: { name: string; percent: number | null } | null;
  hint?: string;
  accept?: Accept;
  /**
   * `accept` only steers the file picker; every file dropped or chosen is handed over, and the server, which
   * looks at the bytes, says what it refuses (the caller shows that per file).
   */
  acceptHintOnly?: boolean;
  /** A lower zone, for a dialog. */
  compact?: boolean;
};

type Props = CommonProps &
  (
    | { multiple?: false; onFile: (file: File) => void }
    /** Several files at once (one drop or one pick), handed over together. */
    | { multiple: true; onFiles: (files: File[]) => void }
  );

/** A drop zone (or click to choose) for one file, with the upload's progress; or for several files at once. */
export function FileDrop(props: Props) {
  const { label, testId, disabled, uploading, hint, accept = TABULAR_ACCEPT, acceptHintOnly = false, compact = false } = props;
  const multiple = props.multiple === true;
  const [rejected, setRejected] = useState<string | null>(null);
  const { getRootProps, getInputProps, isDragActive, isDragReject, inputRef } = useDropzone({
    accept: acceptHintOnly ? undefined : accept,
    multiple,
    maxFiles: multiple ? 0 : 1,
    disabled: disabled || Boolean(uploading),
    onDrop: (files, rejections) => {
      // Let the same file be chosen again later (after fixing it, say).
      if (inputRef.current) inputRef.current.value = "";
      setRejected(rejections.length === 0 ? null : multiple ? rejectedFilesMessage(rejections) : rejectionMessage(rejections));
      if (props.multiple) {
        if (files.length > 0) props.onFiles(files);
        return;
      }
      const file = files[0];
      if (file) props.onFile(file);
    },
  });
  const state = isDragReject ? "dropzone-reject" : isDragActive ? "dropzone-active" : "";
  const inputProps = getInputProps({ "aria-label": label, ...(acceptHintOnly ? { accept: acceptAttribute(accept) } : {}) });
  const idle = multiple
    ? isDragActive
      ? "Drop the files here"
      : "Drag files here, or click to choose them"
    : isDragActive
      ? "Drop the file here"
      : "Drag a file here, or click to choose one";
  return (
    <div className="dropzone-wrap">
      <div
        {...getRootProps({
          className: `dropzone ${compact ? "dropzone-compact" : ""} ${state} ${disabled || uploading ? "dropzone-disabled" : ""}`,
        })}
      >
        <input {...inputProps} data-testid={testId} />
        {uploading ? (
          <div className="dropzone-progress">
            <span>
              Uploading <strong>{uploading.name}</strong>
              {uploading.percent !== null && <> · {formatPercent(uploading.percent)}</>}
            </span>
            <ProgressBar percent={uploading.percent ?? 0} status="running" label="Upload progress" />
          </div>
        ) : (
          <>
            <p className="dropzone-title">{idle}</p>
            {hint && <p className="dropzone-hint">{hint}</p>}
          </>
        )}
      </div>
      {rejected && (
        <p className="field-error" role="alert">
          {rejected}
        </p>
      )}
    </div>
  );
}

/** Which of several dropped files were refused, and why (the others go ahead). */
export function rejectedFilesMessage(rejections: readonly { file: { name: string }; errors: FileRejection["errors"] }[]): string {
  const names = rejections.map((r) => r.file.name).join(", ");
  const codes = new Set(rejections.flatMap((r) => r.errors.map((e) => e.code)));
  if (codes.has("file-invalid-type")) return `Not a supported file type: ${names}.`;
  return `Not accepted: ${names} (${rejections[0]?.errors[0]?.message ?? "cannot be used"}).`;
}
