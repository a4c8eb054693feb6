import type { MediaAsset } from "../api/client";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import { formatDate } from "../format";
import { MediaThumb } from "./MediaCard";
import { formatBytes, kindLabel, mediaMeasures } from "./model";

type Props = {
  items: MediaAsset[];
  loading: boolean;
  emptyText: string;
  activeId: number | null;
  onOpen: (asset: MediaAsset) => void;
  /** Null: no checkboxes (no media:write). */
  selected: ReadonlySet<number> | null;
  onToggle: (id: number) => void;
  onToggleAll: () => void;
};

/** The list view: name, kind, size, dimensions (or duration, pages), tags, folder, date. */
export function MediaTable({ items, loading, emptyText, activeId, onOpen, selected, onToggle, onToggleAll }: Props) {
  const allSelected = selected !== null && items.length > 0 && items.every((item) => selected.has(item.id));
  const columns = selected ? 8 : 7;
  return (
    <div className="table-wrap">
      <table className="table table-clickable media-table">
        <thead>
          <tr>
            {selected && (
              <th className="col-check">
                <input type="checkbox" aria-label="Select every asset on this page" checked={allSelected} onChange={onToggleAll} />
              </th>
            )}
            <th>Name</th>
            <th>Kind</th>
            <th className="num">Size</th>
            <th>Dimensions</th>
            <th>Tags</th>
            <th>Folder</th>
            <th>Date</th>
          </tr>
        </thead>
        <tbody>
          <TableState colSpan={columns} loading={loading} empty={items.length === 0} emptyText={emptyText} />
          {items.map((asset) => (
            <tr
              key={asset.id}
              data-testid="media-row"
              data-status={asset.status}
              className={asset.id === activeId ? "selected" : undefined}
              onClick={() => onOpen(asset)}
            >
              {selected && (
                <td className="col-check" onClick={(event) => event.stopPropagation()}>
                  <input
                    type="checkbox"
                    aria-label={`Select ${asset.filename}`}
                    checked={selected.has(asset.id)}
                    onChange={() => onToggle(asset.id)}
                  />
                </td>
              )}
              <td>
                <div className="media-name-cell">
                  <MediaThumb asset={asset} size="small" />
                  <span className="truncate strong" title={asset.filename}>
                    {asset.filename}
                  </span>
                  {asset.status !== "ready" && <StatusBadge status={asset.status} />}
                </div>
                {asset.status === "failed" && asset.failure_reason && <div className="field-error">{asset.failure_reason}</div>}
              </td>
              <td>{kindLabel(asset.kind)}</td>
              <td className="num nowrap">{formatBytes(asset.size_bytes)}</td>
              <td className="nowrap">{mediaMeasures(asset)}</td>
              <td className="col-tags">
                <span className="tag-list">
                  {asset.tags.map((tag) => (
                    <span key={tag} className="tag">
                      {tag}
                    </span>
                  ))}
                </span>
              </td>
              <td className="truncate">{asset.folder || <span className="muted">—</span>}</td>
              <td className="nowrap">{formatDate(asset.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
