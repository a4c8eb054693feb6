import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { Link } from "react-router-dom";
import { ApiError, errorMessage, type MediaDetail } from "../api/client";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { Icon } from "../components/Icon";
import { StatusBadge } from "../components/StatusBadge";
import { formatDateTime } from "../format";
import { useSession } from "../session";
import {
  addTags,
  canForceDelete,
  detailsForm,
  formatBytes,
  formatDimensions,
  formatDuration,
  formatPages,
  kindLabel,
  mediaPatch,
  previewImageUrl,
  removeTag,
  tagProblem,
  usedByLink,
  type DetailsForm,
} from "./model";
import { useDeleteMedia, useMediaAsset, useMediaFolders, useMediaTags, useReprocessMedia, useUpdateMedia } from "./queries";

type Props = { id: number; onClose: () => void };

/**
 * The side panel of one asset: preview, facts, editable title/alt text/folder/tags, users, delete, reprocess.
 * Escape or the close button closes it.
 */
export function MediaDetails({ id, onClose }: Props) {
  const asset = useMediaAsset(id);
  const data = asset.data;
  const closeRef = useRef(onClose);
  useEffect(() => {
    closeRef.current = onClose;
  });
  // Escape closes the panel, unless a dialog (the chooser, say) is open over the page and takes it.
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key !== "Escape" || event.defaultPrevented || document.querySelector("dialog[open]")) return;
      closeRef.current();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
  return (
    <aside className="card media-details" aria-labelledby="media-details-title" data-testid="media-details">
      <div className="card-header">
        <h2 id="media-details-title" className="media-details-title" title={data?.filename}>
          {data?.filename ?? "Media details"}
        </h2>
        <button type="button" className="alert-dismiss" aria-label="Close details" onClick={onClose}>
          <Icon name="close" size={16} />
        </button>
      </div>
      {asset.error instanceof ApiError && asset.error.status === 404 ? (
        <Alert tone="info">This asset is no longer in the library.</Alert>
      ) : data ? (
        <DetailsBody key={data.id} asset={data} onClose={onClose} />
      ) : (
        <>
          <ErrorAlert error={asset.error} />
          {!asset.error && <p className="muted">Loading…</p>}
        </>
      )}
    </aside>
  );
}

function Preview({ asset }: { asset: MediaDetail }) {
  const image = previewImageUrl(asset);
  if (asset.kind === "video") {
    const poster = asset.variants.poster?.url ?? image ?? undefined;
    return (
      <div className="media-preview">
        <video controls preload="metadata" src={asset.url} poster={poster} data-testid="media-video">
          <a href={asset.url}>Download {asset.filename}</a>
        </video>
      </div>
    );
  }
  return (
    <div className="media-preview">
      {image ? (
        <img src={image} alt={asset.alt_text || asset.filename} data-testid="media-preview" />
      ) : (
        <p className="media-preview-empty">{asset.status === "processing" ? "Preparing the preview…" : "No preview."}</p>
      )}
      {asset.kind === "document" && (
        <a className="btn btn-secondary btn-sm media-open-pdf" href={asset.url} target="_blank" rel="noopener noreferrer">
          <Icon name="external" size={14} />
          Open PDF
        </a>
      )}
    </div>
  );
}

function Facts({ asset }: { asset: MediaDetail }) {
  const dims = formatDimensions(asset.width, asset.height);
  return (
    <dl className="media-facts">
      <dt>Type</dt>
      <dd>
        {kindLabel(asset.kind)} <span className="muted">· {asset.content_type}</span>
      </dd>
      <dt>Size</dt>
      <dd>{formatBytes(asset.size_bytes)}</dd>
      {dims && (
        <>
          <dt>Dimensions</dt>
          <dd>{dims}</dd>
        </>
      )}
      {asset.kind === "video" && (
        <>
          <dt>Duration</dt>
          <dd>{formatDuration(asset.duration_seconds)}</dd>
        </>
      )}
      {asset.kind === "document" && (
        <>
          <dt>Pages</dt>
          <dd>{formatPages(asset.page_count)}</dd>
        </>
      )}
      <dt>Uploaded</dt>
      <dd>{formatDateTime(asset.created_at)}</dd>
      <dt>Status</dt>
      <dd>
        <StatusBadge status={asset.status} testId="media-status" />
      </dd>
    </dl>
  );
}

function DetailsBody({ asset, onClose }: { asset: MediaDetail; onClose: () => void }) {
  const me = useSession();
  const canWrite = can(me, "media:write");
  const canForce = canForceDelete(me.role);
  const reprocess = useReprocessMedia(asset.id);
  const remove = useDeleteMedia(asset.id);
  const inUse = remove.error instanceof ApiError && remove.error.status === 409;

  const deleteAsset = (force: boolean) => {
    const question = force
      ? `Delete “${asset.filename}” although it is in use? The templates and campaigns that show it will have a broken image.`
      : `Delete “${asset.filename}”? This cannot be undone.`;
    if (window.confirm(question)) remove.mutate(force, { onSuccess: onClose });
  };

  return (
    <div className="media-details-body">
      <Preview asset={asset} />
      <Facts asset={asset} />
      {asset.status === "failed" && (
        <Alert>
          <span data-testid="media-failure-reason">{asset.failure_reason || "Processing failed."}</span>
        </Alert>
      )}
      {asset.status === "failed" && canWrite && (
        <div>
          <button type="button" className="btn btn-secondary btn-sm" disabled={reprocess.isPending} onClick={() => reprocess.mutate()}>
            {reprocess.isPending ? "Starting…" : "Reprocess"}
          </button>
          <ErrorAlert error={reprocess.error} onDismiss={() => reprocess.reset()} />
        </div>
      )}
      <DetailsEditor asset={asset} canWrite={canWrite} />
      <section aria-labelledby="media-used-by">
        <h3 className="section-title" id="media-used-by">
          Used by
        </h3>
        {asset.used_by.length === 0 ? (
          <p className="muted small">No template or campaign uses it.</p>
        ) : (
          <ul className="media-used-by" data-testid="media-used-by">
            {asset.used_by.map((user) => {
              const link = usedByLink(user);
              return (
                <li key={`${user.type}-${user.id}`}>
                  <span className="tag">{user.type}</span> {link ? <Link to={link}>{user.name}</Link> : user.name}
                </li>
              );
            })}
          </ul>
        )}
      </section>
      {canWrite && (
        <div className="media-danger">
          {remove.error && (
            <Alert onDismiss={() => remove.reset()}>
              <span data-testid="media-delete-error">{errorMessage(remove.error)}</span>
            </Alert>
          )}
          <div className="form-actions-left">
            <button type="button" className="btn btn-danger btn-sm" disabled={remove.isPending} onClick={() => deleteAsset(false)}>
              Delete
            </button>
            {inUse && canForce && (
              <button type="button" className="btn btn-danger btn-sm" disabled={remove.isPending} onClick={() => deleteAsset(true)}>
                Delete anyway
              </button>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

/** Title, alt text, folder and tags: as text for a role that may not change them. */
function ReadOnlyFields({ asset }: { asset: MediaDetail }) {
  const none = <span className="muted">—</span>;
  return (
    <dl className="media-facts">
      <dt>Title</dt>
      <dd>{asset.title || none}</dd>
      <dt>Alt text</dt>
      <dd>{asset.alt_text || none}</dd>
      <dt>Folder</dt>
      <dd>{asset.folder || none}</dd>
      <dt>Tags</dt>
      <dd>
        {asset.tags.length === 0 ? (
          none
        ) : (
          <span className="chips" data-testid="media-tags">
            {asset.tags.map((tag) => (
              <span key={tag} className="chip">
                {tag}
              </span>
            ))}
          </span>
        )}
      </dd>
    </dl>
  );
}

/** Title, alt text, folder and tags, saved together with one PATCH. */
function DetailsEditor({ asset, canWrite }: { asset: MediaDetail; canWrite: boolean }) {
  if (!canWrite) return <ReadOnlyFields asset={asset} />;
  return <EditableFields asset={asset} />;
}

function EditableFields({ asset }: { asset: MediaDetail }) {
  const ids = useId();
  const [form, setForm] = useState<DetailsForm>(() => detailsForm(asset));
  const [draft, setDraft] = useState("");
  const [saved, setSaved] = useState(false);
  const update = useUpdateMedia(asset.id);
  const tags = useMediaTags();
  const folders = useMediaFolders();
  const draftProblem = tagProblem(draft);
  // A tag typed but not yet added with Enter is saved too.
  const pending: DetailsForm = { ...form, tags: addTags(form.tags, draftProblem ? "" : draft) };
  const patch = mediaPatch(asset, pending);
  const dirty = Object.keys(patch).length > 0;

  const change = (next: Partial<DetailsForm>) => {
    setSaved(false);
    setForm((old) => ({ ...old, ...next }));
  };

  const addDraft = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (draftProblem || !draft.trim()) return;
    change({ tags: addTags(form.tags, draft) });
    setDraft("");
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!dirty || draftProblem) return;
    update.mutate(patch, {
      onSuccess: (next) => {
        setForm(detailsForm(next));
        setDraft("");
        setSaved(true);
      },
    });
  };

  return (
    <form className="form media-editor" onSubmit={submit} aria-label="Edit media">
      <div className="field">
        <label className="field-label" htmlFor={`${ids}-title`}>
          Title
        </label>
        <input
          id={`${ids}-title`}
          name="title"
          className="input"
          value={form.title}
          maxLength={300}
          onChange={(event) => change({ title: event.target.value })}
        />
      </div>
      <div className="field">
        <label className="field-label" htmlFor={`${ids}-alt`}>
          Alt text
        </label>
        <textarea
          id={`${ids}-alt`}
          name="alt_text"
          className="input textarea media-alt"
          rows={2}
          value={form.alt_text}
          maxLength={1000}
          placeholder={asset.kind === "image" ? "What the image shows, for screen readers" : undefined}
          onChange={(event) => change({ alt_text: event.target.value })}
        />
      </div>
      <div className="field">
        <label className="field-label" htmlFor={`${ids}-folder`}>
          Folder
        </label>
        <input
          id={`${ids}-folder`}
          name="folder"
          className="input"
          value={form.folder}
          maxLength={300}
          list={`${ids}-folders`}
          placeholder="e.g. brand/logos"
          onChange={(event) => change({ folder: event.target.value })}
        />
        <datalist id={`${ids}-folders`}>
          {(folders.data ?? [])
            .filter((f) => f.name)
            .map((f) => (
              <option key={f.name} value={f.name} />
            ))}
        </datalist>
      </div>
      <div className="field">
        <span className="field-label">Tags</span>
        <ul className="chips" data-testid="media-tags">
          {form.tags.length === 0 && <li className="muted small">No tags</li>}
          {form.tags.map((tag) => (
            <li key={tag} className="chip">
              <span>{tag}</span>
              <button type="button" className="chip-remove" aria-label={`Remove “${tag}”`} onClick={() => change({ tags: removeTag(form.tags, tag) })}>
                ×
              </button>
            </li>
          ))}
        </ul>
        <input
          name="add_tag"
          className={`input ${draftProblem ? "invalid" : ""}`}
          aria-label="Add tag"
          placeholder="Add a tag and press Enter"
          list={`${ids}-tag-list`}
          value={draft}
          onChange={(event) => {
            setSaved(false);
            setDraft(event.target.value);
          }}
          onKeyDown={addDraft}
        />
        <datalist id={`${ids}-tag-list`}>
          {(tags.data ?? [])
            .filter((t) => !form.tags.includes(t.name))
            .map((t) => (
              <option key={t.name} value={t.name} />
            ))}
        </datalist>
        {draftProblem && <p className="field-error">{draftProblem}</p>}
      </div>
      <ErrorAlert error={update.error} onDismiss={() => update.reset()} />
      <div className="form-actions-left">
        <button type="submit" className="btn btn-primary btn-sm" disabled={!dirty || Boolean(draftProblem) || update.isPending}>
          {update.isPending ? "Saving…" : "Save"}
        </button>
        {saved && !dirty && (
          <span className="muted small" role="status" data-testid="media-saved">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}
