import type { MediaUpload } from "../api/client";
import { FileDrop } from "../components/FileDrop";
import { Icon } from "../components/Icon";
import { ProgressBar } from "../components/ProgressBar";
import { MEDIA_HINT, formatBytes, mediaAccept, type MediaKind } from "./model";
import { isUploadFinished, uploadRowText, useMediaUploads, type UploadRow } from "./uploads";

type Props = {
  /** The file input's accessible name and test id. */
  label: string;
  testId: string;
  /** Steers the file picker to one kind (the server still takes any supported file). */
  kind?: MediaKind;
  folder?: string;
  onUploaded?: (asset: MediaUpload) => void;
  compact?: boolean;
};

const BAR_STATUS: Record<UploadRow["state"], string> = {
  queued: "",
  uploading: "running",
  uploaded: "completed",
  duplicate: "completed",
  failed: "failed",
  cancelled: "cancelled",
};

/** A drop zone for several files and a row per file: name, progress, then the outcome or the server's error. */
export function MediaUploader({ label, testId, kind, folder, onUploaded, compact }: Props) {
  const { rows, addFiles, cancel, clearFinished } = useMediaUploads({ folder, onUploaded });
  const finished = rows.filter((row) => isUploadFinished(row.state)).length;
  return (
    <div className="media-uploader">
      <FileDrop
        multiple
        label={label}
        testId={testId}
        onFiles={addFiles}
        accept={mediaAccept(kind)}
        acceptHintOnly
        compact={compact}
        hint={MEDIA_HINT}
      />
      {rows.length > 0 && (
        <>
          <ul className="upload-rows" aria-label="Uploads">
            {rows.map((row) => (
              <li key={row.key} className={`upload-row upload-${row.state}`} data-testid="upload-row" data-state={row.state}>
                <span className="upload-name" title={row.name}>
                  {row.name}
                </span>
                <span className="upload-size">{formatBytes(row.size)}</span>
                <ProgressBar
                  percent={row.state === "uploaded" || row.state === "duplicate" ? 100 : (row.percent ?? 0)}
                  status={BAR_STATUS[row.state] || undefined}
                  label={`Upload of ${row.name}`}
                />
                <span
                  className="upload-outcome"
                  data-testid="upload-outcome"
                  role={row.state === "failed" ? "alert" : undefined}
                >
                  {uploadRowText(row)}
                </span>
                {!isUploadFinished(row.state) ? (
                  <button
                    type="button"
                    className="btn btn-ghost btn-sm btn-icon"
                    aria-label={`Cancel ${row.name}`}
                    title="Cancel"
                    onClick={() => cancel(row.key)}
                  >
                    <Icon name="close" size={14} />
                  </button>
                ) : (
                  <span className="upload-spacer" />
                )}
              </li>
            ))}
          </ul>
          {finished > 0 && (
            <button type="button" className="link-button small" onClick={clearFinished}>
              Clear finished uploads
            </button>
          )}
        </>
      )}
    </div>
  );
}
