import type { MediaAsset } from "../api/client";
import { cardMeta, formatDuration, kindLabel, thumbnailUrl, type ThumbSize } from "./model";

/** The asset's thumbnail once it has one; until then a placeholder saying why there is none. */
export function MediaThumb({ asset, size = "medium" }: { asset: MediaAsset; size?: ThumbSize }) {
  const url = thumbnailUrl(asset, size);
  return (
    <div className={`media-thumb media-thumb-${size}`}>
      {url ? (
        <img src={url} alt={asset.alt_text} loading="lazy" decoding="async" draggable={false} />
      ) : (
        <span className={`media-thumb-empty media-thumb-${asset.status}`}>
          {asset.status === "processing" ? "Processing…" : asset.status === "failed" ? "No preview" : kindLabel(asset.kind)}
        </span>
      )}
      {size !== "small" && asset.kind === "video" && asset.duration_seconds !== null && (
        <span className="media-badge" aria-hidden="true">
          ▶ {formatDuration(asset.duration_seconds)}
        </span>
      )}
      {size !== "small" && asset.kind === "document" && (
        <span className="media-badge" aria-hidden="true">
          PDF
        </span>
      )}
    </div>
  );
}

function CardBody({ asset }: { asset: MediaAsset }) {
  const meta = cardMeta(asset);
  return (
    <span className="media-card-body">
      <span className="media-card-name" title={asset.filename}>
        {asset.filename}
      </span>
      <span className="media-card-meta">
        {asset.status === "processing" ? "Processing…" : (meta ?? kindLabel(asset.kind))}
      </span>
    </span>
  );
}

type CardProps = {
  asset: MediaAsset;
  /** Open in the details panel. */
  onOpen: () => void;
  active: boolean;
  /** Null: the caller may not select (no media:write). */
  selected: boolean | null;
  onToggle: () => void;
};

/** A library card: thumbnail, name, duration or pages; a checkbox for the bulk bar; a click opens the details. */
export function MediaCard({ asset, onOpen, active, selected, onToggle }: CardProps) {
  return (
    <div
      className={`media-card ${selected ? "selected" : ""} ${active ? "active" : ""}`}
      data-testid="media-card"
      data-status={asset.status}
      data-kind={asset.kind}
    >
      {selected !== null && (
        <label className="media-card-check">
          <input type="checkbox" checked={selected} onChange={onToggle} aria-label={`Select ${asset.filename}`} />
        </label>
      )}
      <button type="button" className="media-card-open" onClick={onOpen} aria-current={active ? "true" : undefined}>
        <MediaThumb asset={asset} />
        <CardBody asset={asset} />
      </button>
      {asset.status === "failed" && (
        <p className="media-card-error" data-testid="media-failure">
          {asset.failure_reason || "Processing failed."}
        </p>
      )}
    </div>
  );
}

/** A card of the chooser: one click selects it (aria-pressed), a double click chooses it. */
export function ChooserCard({ asset, selected, onSelect, onChoose }: { asset: MediaAsset; selected: boolean; onSelect: () => void; onChoose: () => void }) {
  return (
    <button
      type="button"
      className={`media-card media-card-open chooser-card ${selected ? "selected" : ""}`}
      data-testid="chooser-card"
      aria-pressed={selected}
      onClick={onSelect}
      onDoubleClick={onChoose}
    >
      <MediaThumb asset={asset} />
      <CardBody asset={asset} />
    </button>
  );
}
