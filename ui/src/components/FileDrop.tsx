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

type Props = {
  /** The file input's accessible name. */
  label: string;
  testId: string;
  onFile: (file: File) => void;
  disabled?: boolean;
  /** The file being (or last) uploaded, and how far along it is (null: unknown). */
  uploading?: { name: string; percent: number | null } | null;
  hint?: string;
  accept?: Accept;
};

/** A drop zone (or click to choose) for one file, with the upload's progress. */
export function FileDrop({ label, testId, onFile, disabled, uploading, hint, accept = TABULAR_ACCEPT }: Props) {
  const [rejected, setRejected] = useState<string | null>(null);
  const { getRootProps, getInputProps, isDragActive, isDragReject, inputRef } = useDropzone({
    accept,
    multiple: false,
    maxFiles: 1,
    disabled: disabled || Boolean(uploading),
    onDropAccepted: (files) => {
      setRejected(null);
      const file = files[0];
      // Let the same file be chosen again later (after fixing it, say).
      if (inputRef.current) inputRef.current.value = "";
      if (file) onFile(file);
    },
    onDropRejected: (rejections) => {
      if (inputRef.current) inputRef.current.value = "";
      setRejected(rejectionMessage(rejections));
    },
  });
  const state = isDragReject ? "dropzone-reject" : isDragActive ? "dropzone-active" : "";
  return (
    <div className="dropzone-wrap">
      <div {...getRootProps({ className: `dropzone ${state} ${disabled || uploading ? "dropzone-disabled" : ""}` })}>
        <input {...getInputProps({ "aria-label": label })} data-testid={testId} />
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
            <p className="dropzone-title">{isDragActive ? "Drop the file here" : "Drag a file here, or click to choose one"}</p>
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
