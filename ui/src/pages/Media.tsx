import { useMemo, useRef, useState } from "react";
import { flushSync } from "react-dom";
import { useSearchParams } from "react-router-dom";
import type { MediaAsset } from "../api/client";
import { can } from "../auth";
import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { SearchBox } from "../components/SearchBox";
import { formatNumber } from "../format";
import { MediaBulkBar } from "../media/MediaBulkBar";
import { MediaCard } from "../media/MediaCard";
import { MediaChooser } from "../media/MediaChooser";
import { MediaDetails } from "../media/MediaDetails";
import { MediaTable } from "../media/MediaTable";
import { MediaUploader } from "../media/MediaUploader";
import {
  EMPTY_FILTERS,
  MEDIA_KINDS,
  MEDIA_PAGE_SIZE,
  MEDIA_SORTS,
  MEDIA_STATUSES,
  canForceDelete,
  isFiltered,
  isMediaKind,
  isMediaSort,
  isMediaStatus,
  mediaListQuery,
  toggleAll,
  toggleSelected,
  type MediaFilters,
  type MediaView,
} from "../media/model";
import { useMediaFolders, useMediaPage, useMediaTags } from "../media/queries";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";
import { Options } from "../components/Options";

/** `/media`: upload, browse (grid or list), filter, select for bulk actions, open one in the details panel. */
export function MediaPage() {
  const me = useSession();
  const canWrite = can(me, "media:write");
  const [params, setParams] = useSearchParams();
  const activeId = Number(params.get("asset")) || null;
  const view: MediaView = params.get("view") === "list" ? "list" : "grid";
  const [filters, setFilters] = useState<MediaFilters>(() => ({
    ...EMPTY_FILTERS,
    search: params.get("search") ?? "",
    kind: isMediaKind(params.get("kind")) ? (params.get("kind") as MediaFilters["kind"]) : "",
    tag: params.get("tag") ?? "",
    folder: params.get("folder") ?? "",
    status: isMediaStatus(params.get("status")) ? (params.get("status") as MediaFilters["status"]) : "",
    sort: isMediaSort(params.get("sort")) ? (params.get("sort") as MediaFilters["sort"]) : "newest",
  }));
  const search = useDebouncedValue(filters.search, 300);
  const effective = useMemo(() => ({ ...filters, search }), [filters, search]);
  const key = JSON.stringify(mediaListQuery(effective, 0));
  const [page, setPage] = useState({ offset: 0, key });
  // New filters start again at the first page.
  const offset = page.key === key ? page.offset : 0;
  const query = useMemo(() => mediaListQuery(effective, offset), [effective, offset]);
  const media = useMediaPage(query);
  const tags = useMediaTags();
  const folders = useMediaFolders();
  const items = media.data?.items ?? [];
  const total = media.data?.total ?? 0;
  const filtered = isFiltered(effective);

  const [selected, setSelected] = useState<Set<number>>(() => new Set());
  // Names of the assets seen, so the bulk bar can name the ones it could not change.
  const names = useRef(new Map<number, string>());
  for (const item of items) names.current.set(item.id, item.filename);

  const [chooserOpen, setChooserOpen] = useState(false);
  const [chosen, setChosen] = useState<MediaAsset | null>(null);
  const [uploadFolder, setUploadFolder] = useState("");

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value === null || value === "") next.delete(name);
    else next.set(name, value);
    setParams(next, { replace: name === "view" });
  };
  const open = (asset: MediaAsset) => setParam("asset", String(asset.id));
  // The panel goes at once when closed (Escape, ×); the address catches up with the router's next render.
  const [closedId, setClosedId] = useState<number | null>(null);
  if (closedId !== null && closedId !== activeId) setClosedId(null);
  const detailsId = activeId !== null && activeId !== closedId ? activeId : null;
  const closeDetails = () => {
    flushSync(() => setClosedId(activeId));
    setParam("asset", null);
  };
  const set = <K extends keyof MediaFilters>(field: K) => (value: MediaFilters[K]) => setFilters((old) => ({ ...old, [field]: value }));
  const folderOptions = (folders.data ?? []).filter((f) => f.name);

  return (
    <>
      <PageHeader
        title="Media"
        subtitle={
          media.data
            ? `${formatNumber(total)} ${filtered ? "matching" : total === 1 ? "asset" : "assets"} · images, videos and PDFs for templates and campaigns`
            : "Images, videos and PDFs for templates and campaigns."
        }
        actions={
          <>
            {chosen && (
              <span className="muted small" data-testid="chosen-media">
                Chosen: {chosen.filename}
              </span>
            )}
            <button type="button" className="btn btn-secondary" aria-haspopup="dialog" onClick={() => setChooserOpen(true)}>
              Test the chooser
            </button>
          </>
        }
      />
      <MediaChooser
        open={chooserOpen}
        onClose={() => setChooserOpen(false)}
        onChoose={(asset) => setChosen(asset)}
      />

      {canWrite && (
        <section className="card" aria-labelledby="media-upload-title">
          <div className="card-header media-upload-header">
            <h2 id="media-upload-title">Upload</h2>
            <label className="inline-field">
              <span className="field-label nowrap">Upload into</span>
              <input
                name="upload_folder"
                className="input input-sm"
                placeholder="no folder"
                list="media-upload-folders"
                value={uploadFolder}
                maxLength={300}
                onChange={(event) => setUploadFolder(event.target.value)}
              />
              <datalist id="media-upload-folders">
                {folderOptions.map((f) => (
                  <option key={f.name} value={f.name} />
                ))}
              </datalist>
            </label>
          </div>
          <MediaUploader label="Files to upload" testId="media-file" folder={uploadFolder} />
        </section>
      )}

      <form className="card media-filters" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
        <div className="field media-filter-search">
          <span className="field-label" aria-hidden="true">
            Search
          </span>
          <SearchBox value={filters.search} onChange={set("search")} placeholder="Name, title, alt text, tag…" label="Search media" />
        </div>
        <div className="field">
          <label className="field-label" htmlFor="media-filter-kind">
            Type
          </label>
          <select id="media-filter-kind" name="kind" className="input" value={filters.kind} onChange={(event) => set("kind")(event.target.value as MediaFilters["kind"])}>
            <option value="">All types</option>
            <Options items={MEDIA_KINDS} />
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="media-filter-tag">
            Tag
          </label>
          <select id="media-filter-tag" name="tag" className="input" value={filters.tag} onChange={(event) => set("tag")(event.target.value)}>
            <option value="">Any tag</option>
            {filters.tag && !(tags.data ?? []).some((t) => t.name === filters.tag) && <option value={filters.tag}>{filters.tag}</option>}
            {(tags.data ?? []).map((t) => (
              <option key={t.name} value={t.name}>
                {t.name} ({formatNumber(t.count)})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          {/* Not called "Folder": that is the details panel's field. */}
          <label className="field-label" htmlFor="media-filter-folder">
            Location
          </label>
          <select id="media-filter-folder" name="folder" className="input" value={filters.folder} onChange={(event) => set("folder")(event.target.value)}>
            <option value="">Every folder</option>
            {filters.folder && !folderOptions.some((f) => f.name === filters.folder) && <option value={filters.folder}>{filters.folder}</option>}
            {folderOptions.map((f) => (
              <option key={f.name} value={f.name}>
                {f.name} ({formatNumber(f.count)})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="media-filter-status">
            Status
          </label>
          <select id="media-filter-status"
            name="status"
            className="input"
            value={filters.status}
            onChange={(event) => set("status")(event.target.value as MediaFilters["status"])}
          >
            <option value="">Any status</option>
            <Options items={MEDIA_STATUSES} />
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor="media-filter-sort">
            Sort
          </label>
          <select id="media-filter-sort" name="sort" className="input" value={filters.sort} onChange={(event) => set("sort")(event.target.value as MediaFilters["sort"])}>
            <Options items={MEDIA_SORTS} />
          </select>
        </div>
        <div className="filters-actions media-filter-actions">
          <button
            type="button"
            className="btn btn-ghost"
            disabled={!isFiltered(filters) && filters.sort === "newest"}
            onClick={() => setFilters(EMPTY_FILTERS)}
          >
            Clear
          </button>
          <div className="segmented" role="group" aria-label="View">
            <button type="button" className={`btn btn-secondary btn-sm ${view === "grid" ? "active" : ""}`} aria-pressed={view === "grid"} onClick={() => setParam("view", null)}>
              Grid
            </button>
            <button type="button" className={`btn btn-secondary btn-sm ${view === "list" ? "active" : ""}`} aria-pressed={view === "list"} onClick={() => setParam("view", "list")}>
              List
            </button>
          </div>
        </div>
      </form>

      {canWrite && (
        <MediaBulkBar
          selected={selected}
          names={names.current}
          canForce={canForceDelete(me.role)}
          onClear={() => setSelected(new Set())}
          onDeleted={(ids) => {
            setSelected((old) => {
              const next = new Set(old);
              for (const id of ids) next.delete(id);
              return next;
            });
            if (activeId !== null && ids.includes(activeId)) closeDetails();
          }}
        />
      )}

      <ErrorAlert error={media.error} />
      <div className={`media-layout ${detailsId !== null ? "has-selection" : ""}`}>
        <div className={`card card-table ${media.isPlaceholderData ? "is-stale" : ""}`}>
          {view === "grid" ? (
            <div className="media-grid-wrap">
              {canWrite && items.length > 0 && (
                <div className="media-grid-tools">
                  <button type="button" className="link-button small" onClick={() => setSelected((old) => toggleAll(old, items.map((i) => i.id)))}>
                    {items.every((i) => selected.has(i.id)) ? "Unselect this page" : "Select this page"}
                  </button>
                </div>
              )}
              {media.isPending ? (
                <p className="muted media-empty">Loading…</p>
              ) : items.length === 0 ? (
                <p className="muted media-empty">
                  {filtered ? "Nothing matches these filters." : canWrite ? "No media yet: drop files above." : "No media yet."}
                </p>
              ) : (
                <div className="media-grid">
                  {items.map((asset) => (
                    <MediaCard
                      key={asset.id}
                      asset={asset}
                      active={asset.id === detailsId}
                      onOpen={() => open(asset)}
                      selected={canWrite ? selected.has(asset.id) : null}
                      onToggle={() => setSelected((old) => toggleSelected(old, asset.id))}
                    />
                  ))}
                </div>
              )}
            </div>
          ) : (
            <MediaTable
              items={items}
              loading={media.isPending}
              emptyText={filtered ? "Nothing matches these filters." : "No media yet."}
              activeId={detailsId}
              onOpen={open}
              selected={canWrite ? selected : null}
              onToggle={(id) => setSelected((old) => toggleSelected(old, id))}
              onToggleAll={() => setSelected((old) => toggleAll(old, items.map((i) => i.id)))}
            />
          )}
          {media.data && total > 0 && (
            <Pagination
              offset={offset}
              limit={MEDIA_PAGE_SIZE}
              count={items.length}
              total={total}
              busy={media.isFetching && media.isPlaceholderData}
              onChange={(next) => setPage({ offset: next, key })}
            />
          )}
        </div>
        {detailsId !== null && <MediaDetails key={detailsId} id={detailsId} onClose={closeDetails} />}
      </div>
    </>
  );
}
