import { useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type TemplateFolder, type TemplateListQuery, type TemplateSummary } from "../api/client";
import { queryKeys } from "../api/queries";
import { can } from "../auth";
import { ErrorAlert } from "../components/Alert";
import { Dropdown } from "../components/Dropdown";
import { Options } from "../components/Options";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { SearchBox } from "../components/SearchBox";
import { TableState } from "../components/TableState";
import { formatDateTime, formatNumber } from "../format";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";
import { CHANNELS, cardSnippet, channelLabel, isChannel } from "../templates/model";
import { TEMPLATE_PAGE_SIZE, useTemplateFolders, useTemplatePage } from "../templates/queries";

/** `/templates`: the workspace's library: folders, filters by channel and words, a grid or a list. */
export function Templates() {
  const me = useSession();
  const canWrite = can(me, "templates:write");
  const [params, setParams] = useSearchParams();
  const view = params.get("view") === "list" ? "list" : "grid";
  const channel = isChannel(params.get("channel")) ? (params.get("channel") as string) : "";
  // A folder's id, 0 for the templates in no folder, null for all.
  const rawFolder = params.get("folder");
  const folderId = rawFolder !== null && /^\d+$/.test(rawFolder) ? Number(rawFolder) : null;
  const [search, setSearch] = useState("");
  const debounced = useDebouncedValue(search.trim(), 300);
  const filterKey = `${channel}|${folderId ?? ""}|${debounced}`;
  const [page, setPage] = useState({ offset: 0, key: filterKey });
  const offset = page.key === filterKey ? page.offset : 0;
  const query = useMemo<TemplateListQuery>(
    () => ({
      limit: TEMPLATE_PAGE_SIZE,
      offset,
      ...(channel ? { channel } : {}),
      ...(folderId !== null ? { folder_id: folderId } : {}),
      ...(debounced ? { search: debounced } : {}),
    }) as TemplateListQuery,
    [channel, folderId, debounced, offset],
  );
  const templates = useTemplatePage(query);
  const folders = useTemplateFolders();
  const items = templates.data?.items ?? [];
  const total = templates.data?.total ?? 0;
  const filtered = Boolean(channel || folderId !== null || debounced);
  const folderName = (id: number | null | undefined) => (folders.data ?? []).find((f) => f.id === id)?.name ?? "";

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value === null || value === "") next.delete(name);
    else next.set(name, value);
    setParams(next, { replace: true });
  };
  const newLink = (c: string) => `/templates/new?channel=${c}${folderId ? `&folder=${folderId}` : ""}`;

  return (
    <>
      <PageHeader
        title="Templates"
        subtitle={
          templates.data
            ? `${formatNumber(total)} ${filtered ? "matching" : total === 1 ? "template" : "templates"} · email, SMS, WhatsApp and social posts`
            : "Email, SMS, WhatsApp and social posts your campaigns send."
        }
        actions={
          <>
            <Link to="/templates/blocks" className="btn btn-secondary">
              Content blocks
            </Link>
            {canWrite && (
              <Dropdown text="New template" className="btn btn-primary" panelLabel="Channel">
                {() =>
                  CHANNELS.map((c) => (
                    <Link key={c.value} to={newLink(c.value)} className="menu-item" data-testid={`new-${c.value}`}>
                      <span className="strong">{c.label}</span>
                      <span className="muted small">{c.hint}</span>
                    </Link>
                  ))
                }
              </Dropdown>
            )}
          </>
        }
      />
      <div className="templates-layout">
        <FolderSidebar
          folders={folders.data ?? []}
          error={folders.error}
          activeId={folderId}
          canWrite={canWrite}
          onSelect={(id) => setParam("folder", id === null ? null : String(id))}
        />
        <div className="stack">
          <form className="card filters template-filters" aria-label="Filters" onSubmit={(event) => event.preventDefault()}>
            <SearchBox value={search} onChange={setSearch} placeholder="Name, subject, text…" label="Search templates" />
            <label className="inline-field">
              <span className="field-label">Channel</span>
              <select name="channel" className="input input-sm" value={channel} onChange={(event) => setParam("channel", event.target.value)}>
                <option value="">All channels</option>
                <Options items={CHANNELS} />
              </select>
            </label>
            <div className="filters-actions">
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
          <ErrorAlert error={templates.error} />
          <div className={`card card-table ${templates.isPlaceholderData ? "is-stale" : ""}`}>
            {view === "grid" ? (
              <div className="media-grid-wrap">
                {templates.isPending ? (
                  <p className="muted media-empty">Loading…</p>
                ) : items.length === 0 ? (
                  <p className="muted media-empty">{filtered ? "Nothing matches these filters." : "No templates yet."}</p>
                ) : (
                  <div className="template-grid">
                    {items.map((t) => (
                      <TemplateCard key={t.id} template={t} folder={folderName(t.folder_id)} />
                    ))}
                  </div>
                )}
              </div>
            ) : (
              <TemplateTable items={items} loading={templates.isPending} filtered={filtered} folderName={folderName} />
            )}
            {templates.data && total > 0 && (
              <Pagination
                offset={offset}
                limit={TEMPLATE_PAGE_SIZE}
                count={items.length}
                total={total}
                busy={templates.isFetching && templates.isPlaceholderData}
                onChange={(next) => setPage({ offset: next, key: filterKey })}
              />
            )}
          </div>
        </div>
      </div>
    </>
  );
}

export function ChannelBadge({ channel }: { channel: string }) {
  return <span className={`channel-badge channel-${channel}`}>{channelLabel(channel)}</span>;
}

function TemplateCard({ template, folder }: { template: TemplateSummary; folder: string }) {
  const [broken, setBroken] = useState(false);
  const thumb = template.thumbnail_media_id && !broken ? `/api/media/${template.thumbnail_media_id}/file/thumb-medium` : null;
  return (
    <Link to={`/templates/${template.id}`} className="template-card" data-testid="template-card">
      <div className="template-card-thumb">
        {thumb ? <img src={thumb} alt="" loading="lazy" onError={() => setBroken(true)} /> : <span className="template-card-snippet">{cardSnippet(template)}</span>}
      </div>
      <div className="template-card-body">
        <div className="template-card-title">
          <ChannelBadge channel={template.channel} />
          <span className="strong truncate" title={template.name}>
            {template.name}
          </span>
        </div>
        {template.channel === "email" && template.subject && <span className="small truncate">{template.subject}</span>}
        {thumb && <span className="muted small template-card-text">{cardSnippet(template)}</span>}
        <span className="muted small">
          v{template.version} · {formatDateTime(template.updated_at)}
          {folder && ` · ${folder}`}
        </span>
      </div>
    </Link>
  );
}

function TemplateTable({
  items,
  loading,
  filtered,
  folderName,
}: {
  items: TemplateSummary[];
  loading: boolean;
  filtered: boolean;
  folderName: (id: number | null | undefined) => string;
}) {
  const navigate = useNavigate();
  return (
    <div className="table-wrap">
      <table className="table table-clickable">
        <thead>
          <tr>
            <th>Name</th>
            <th>Channel</th>
            <th>Text</th>
            <th>Folder</th>
            <th className="num">Version</th>
            <th>Updated</th>
          </tr>
        </thead>
        <tbody>
          <TableState colSpan={6} loading={loading} empty={items.length === 0} emptyText={filtered ? "Nothing matches these filters." : "No templates yet."} />
          {items.map((t) => (
            <tr key={t.id} data-testid="template-row" onClick={() => navigate(`/templates/${t.id}`)}>
              <td className="strong">
                <Link to={`/templates/${t.id}`} onClick={(event) => event.stopPropagation()}>
                  {t.name}
                </Link>
              </td>
              <td>
                <ChannelBadge channel={t.channel} />
              </td>
              <td className="truncate template-snippet-cell">{cardSnippet(t)}</td>
              <td className="muted">{folderName(t.folder_id) || "—"}</td>
              <td className="num">{t.version}</td>
              <td className="nowrap">
                {formatDateTime(t.updated_at)}
                {t.updated_by && <div className="muted small">{t.updated_by}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** All templates, or one folder; create, rename and delete folders (deleting leaves their templates folder-less). */
function FolderSidebar({
  folders,
  error,
  activeId,
  canWrite,
  onSelect,
}: {
  folders: TemplateFolder[];
  error: unknown;
  activeId: number | null;
  canWrite: boolean;
  onSelect: (id: number | null) => void;
}) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState("");
  const [renaming, setRenaming] = useState<{ id: number; name: string } | null>(null);
  const refresh = () => void queryClient.invalidateQueries({ queryKey: queryKeys.templates });

  const create = useMutation({
    mutationFn: (name: string) => unwrap(api.POST("/api/template-folders", { body: { name } })),
    onSuccess: (folder) => {
      setDraft("");
      refresh();
      onSelect(folder.id);
    },
  });
  const rename = useMutation({
    mutationFn: ({ id, name }: { id: number; name: string }) =>
      unwrap(api.PATCH("/api/template-folders/{folder_id}", { params: { path: { folder_id: id } }, body: { name } })),
    onSuccess: () => {
      setRenaming(null);
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/template-folders/{folder_id}", { params: { path: { folder_id: id } } })),
    onSuccess: (_data, id) => {
      if (activeId === id) onSelect(null);
      refresh();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft.trim()) create.mutate(draft.trim());
  };
  const busy = create.isPending || rename.isPending || remove.isPending;
  const actionError = create.error ?? rename.error ?? remove.error;

  return (
    <aside className="card folder-sidebar" aria-label="Folders">
      <h2 className="card-title">Folders</h2>
      <ul className="folder-list">
        <li>
          <button type="button" className={`folder-link ${activeId === null ? "active" : ""}`} aria-current={activeId === null ? "true" : undefined} onClick={() => onSelect(null)}>
            All templates
          </button>
        </li>
        <li>
          <button type="button" className={`folder-link muted ${activeId === 0 ? "active" : ""}`} aria-current={activeId === 0 ? "true" : undefined} onClick={() => onSelect(0)}>
            Not in a folder
          </button>
        </li>
        {folders.map((folder) => (
          <li key={folder.id} data-testid="folder-row">
            {renaming !== null && renaming.id === folder.id ? (
              <form
                className="folder-rename"
                onSubmit={(event) => {
                  event.preventDefault();
                  if (renaming.name.trim()) rename.mutate({ id: folder.id, name: renaming.name.trim() });
                }}
              >
                <input
                  className="input input-sm"
                  aria-label={`New name for ${folder.name}`}
                  value={renaming.name}
                  maxLength={200}
                  autoFocus
                  onChange={(event) => setRenaming({ id: folder.id, name: event.target.value })}
                  onKeyDown={(event) => event.key === "Escape" && setRenaming(null)}
                />
                <button type="submit" className="btn btn-secondary btn-sm" disabled={busy}>
                  OK
                </button>
              </form>
            ) : (
              <div className="folder-item">
                <button
                  type="button"
                  className={`folder-link ${activeId === folder.id ? "active" : ""}`}
                  aria-current={activeId === folder.id ? "true" : undefined}
                  onClick={() => onSelect(folder.id)}
                >
                  {folder.name} <span className="muted small">{formatNumber(folder.template_count)}</span>
                </button>
                {canWrite && (
                  <span className="folder-actions">
                    <button type="button" className="btn btn-ghost btn-sm" aria-label={`Rename ${folder.name}`} disabled={busy} onClick={() => setRenaming({ id: folder.id, name: folder.name })}>
                      ✎
                    </button>
                    <button
                      type="button"
                      className="btn btn-ghost btn-sm"
                      aria-label={`Delete ${folder.name}`}
                      disabled={busy}
                      onClick={() => {
                        if (window.confirm(`Delete the folder “${folder.name}”? Its templates stay, without a folder.`)) remove.mutate(folder.id);
                      }}
                    >
                      ×
                    </button>
                  </span>
                )}
              </div>
            )}
          </li>
        ))}
      </ul>
      <ErrorAlert error={error} />
      {actionError && (
        <p className="field-error" role="alert">
          {actionError instanceof ApiError ? actionError.message : String(actionError)}
        </p>
      )}
      {canWrite && (
        <form className="folder-new" onSubmit={submit} aria-label="New folder">
          <input
            name="new_folder"
            className="input input-sm"
            aria-label="New folder"
            placeholder="New folder"
            value={draft}
            maxLength={200}
            onChange={(event) => setDraft(event.target.value)}
          />
          <button type="submit" className="btn btn-secondary btn-sm" disabled={busy || !draft.trim()}>
            Add
          </button>
        </form>
      )}
    </aside>
  );
}
