import { useEffect, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { MediaAsset, MediaUpload } from "../api/client";
import { queryKeys } from "../api/queries";
import { can } from "../auth";
import { ErrorAlert } from "../components/Alert";
import { Icon } from "../components/Icon";
import { Pagination } from "../components/Pagination";
import { SearchBox } from "../components/SearchBox";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";
import { ChooserCard } from "./MediaCard";
import { MediaUploader } from "./MediaUploader";
import { EMPTY_FILTERS, kindLabel, mediaListQuery, type MediaKind } from "./model";
import { useMediaAsset, useMediaPage, useMediaTags } from "./queries";

export type MediaChooserProps = {
  open: boolean;
  onClose: () => void;
  /** The asset picked with "Choose" (or a double click); the chooser then closes itself through onClose. */
  onChoose: (asset: MediaAsset) => void;
  /** Only this kind of asset (uploads of other kinds still go to the library). */
  kind?: MediaKind;
};

const CHOOSER_PAGE_SIZE = 24;

const KIND_NOTE: Record<MediaKind, string> = { image: "Images only.", video: "Videos only.", document: "PDFs only." };

/**
 * A modal to pick one ready asset from the library: search, tag filter, a grid, and an upload zone whose
 * uploads are selected as soon as their processing is done. Used by the template editor and campaign builder.
 */
export function MediaChooser(props: MediaChooserProps) {
  if (!props.open) return null;
  return <ChooserDialog {...props} />;
}

function ChooserDialog({ onClose, onChoose, kind }: MediaChooserProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const queryClient = useQueryClient();
  const me = useSession();
  const canUpload = can(me, "media:write");
  const [search, setSearch] = useState("");
  const [tag, setTag] = useState("");
  const [selected, setSelected] = useState<MediaAsset | null>(null);
  /** Uploads still being processed: selected once ready. */
  const [awaiting, setAwaiting] = useState<MediaUpload[]>([]);
  const debounced = useDebouncedValue(search, 300);
  const filterKey = `${debounced}\u0000${tag}`;
  const [page, setPage] = useState({ offset: 0, key: filterKey });
  const offset = page.key === filterKey ? page.offset : 0;
  const query = mediaListQuery({ ...EMPTY_FILTERS, search: debounced, tag, kind: kind ?? "", status: "ready" }, offset, CHOOSER_PAGE_SIZE);
  const assets = useMediaPage(query);
  const tags = useMediaTags();
  const items = assets.data?.items ?? [];

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);

  const choose = (asset: MediaAsset | null) => {
    if (!asset || asset.status !== "ready") return;
    onChoose(asset);
    onClose();
  };

  const uploaded = (asset: MediaUpload) => {
    if (kind && asset.kind !== kind) return;
    if (asset.status === "ready") setSelected(asset);
    else if (asset.status === "processing") setAwaiting((old) => [...old.filter((a) => a.id !== asset.id), asset]);
  };

  const settled = (asset: MediaAsset) => {
    setAwaiting((old) => old.filter((a) => a.id !== asset.id));
    if (asset.status === "ready") {
      setSelected(asset);
      void queryClient.invalidateQueries({ queryKey: queryKeys.mediaPages });
    }
  };

  return (
    <dialog
      ref={ref}
      className="dialog media-chooser"
      aria-labelledby="media-chooser-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div className="media-chooser-body">
        <div className="card-header">
          <h2 id="media-chooser-title">Choose media</h2>
          <button type="button" className="alert-dismiss" aria-label="Close" onClick={onClose}>
            <Icon name="close" size={16} />
          </button>
        </div>
        {kind && <p className="muted small media-chooser-note">{KIND_NOTE[kind]}</p>}
        <div className="media-chooser-toolbar">
          <SearchBox value={search} onChange={setSearch} placeholder="Search by name, title, tag…" label="Search media" />
          <div className="inline-field">
            <label className="field-label" htmlFor="media-chooser-tag">
              Tag
            </label>
            <select id="media-chooser-tag" name="tag" className="input input-sm" value={tag} onChange={(event) => setTag(event.target.value)}>
              <option value="">Any tag</option>
              {(tags.data ?? []).map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} ({t.count})
                </option>
              ))}
            </select>
          </div>
        </div>
        {canUpload && (
          <MediaUploader label="Upload to the library" testId="chooser-file" kind={kind} onUploaded={uploaded} compact />
        )}
        {awaiting.map((asset) => (
          <AwaitedUpload key={asset.id} id={asset.id} name={asset.filename} onSettled={settled} />
        ))}
        <ErrorAlert error={assets.error} />
        <div className={`media-chooser-grid ${assets.isPlaceholderData ? "is-stale" : ""}`} role="list" aria-label="Library">
          {items.map((asset) => (
            <div role="listitem" key={asset.id}>
              <ChooserCard
                asset={asset}
                selected={selected?.id === asset.id}
                onSelect={() => setSelected(asset)}
                onChoose={() => choose(asset)}
              />
            </div>
          ))}
          {!assets.isPending && items.length === 0 && (
            <p className="muted media-chooser-empty">
              {debounced || tag ? "Nothing matches." : `No ${kind ? kindLabel(kind).toLowerCase() + "s" : "media"} ready yet.`}
            </p>
          )}
          {assets.isPending && <p className="muted media-chooser-empty">Loading…</p>}
        </div>
        {assets.data && assets.data.total > CHOOSER_PAGE_SIZE && (
          <Pagination
            offset={offset}
            limit={CHOOSER_PAGE_SIZE}
            count={items.length}
            total={assets.data.total}
            busy={assets.isFetching}
            onChange={(next) => setPage({ offset: next, key: filterKey })}
          />
        )}
        <div className="form-actions media-chooser-actions">
          <span className="muted small truncate" data-testid="chooser-selection">
            {selected ? `Selected: ${selected.filename}` : "Select an asset."}
          </span>
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={!selected} onClick={() => choose(selected)}>
            Choose
          </button>
        </div>
      </div>
    </dialog>
  );
}

/** Follows one upload of the chooser until its processing ends; says so while it waits or when it failed. */
function AwaitedUpload({ id, name, onSettled }: { id: number; name: string; onSettled: (asset: MediaAsset) => void }) {
  const asset = useMediaAsset(id);
  const status = asset.data?.status;
  const settledRef = useRef(onSettled);
  useEffect(() => {
    settledRef.current = onSettled;
  });
  useEffect(() => {
    if (asset.data && asset.data.status === "ready") settledRef.current(asset.data);
  }, [asset.data]);
  if (status === "failed") {
    return (
      <p className="field-error" role="alert">
        {name} could not be processed: {asset.data?.failure_reason || "unknown error"}
      </p>
    );
  }
  return <p className="muted small">Preparing {name}… it can be chosen in a moment.</p>;
}
