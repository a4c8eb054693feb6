import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type Template } from "../api/client";
import { queryKeys } from "../api/queries";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { formatDateTime } from "../format";
import { useSession } from "../session";
import { useDebouncedValue } from "../useDebouncedValue";
import { MediaList, NetworkChoice, SmsCounter, WhatsAppCounter } from "../templates/ChannelParts";
import {
  CHANNELS,
  MEDIA_LIMIT,
  PREHEADER_MAX,
  SUBJECT_MAX,
  WHATSAPP_TEMPLATE_PATTERN,
  channelLabel,
  contentForChannel,
  contentOf,
  emptyContent,
  errorField,
  fieldLabel,
  isChannel,
  sameContent,
  type Channel,
  type TemplateContent,
} from "../templates/model";
import { PreviewPane } from "../templates/PreviewPane";
import { ProblemsPanel } from "../templates/ProblemsPanel";
import { useBrand, useTemplate, useTemplateCheck, useTemplateFolders, useTemplateSaved } from "../templates/queries";
import { RichTextEditor } from "../templates/RichTextEditor";
import { TokenField } from "../templates/TokenField";
import { VersionHistory } from "../templates/VersionHistory";
import { NotFound } from "./NotFound";

export const CHECK_DEBOUNCE_MS = 400;

function BackLink() {
  return (
    <Link to="/templates" className="back-link">
      ← Templates
    </Link>
  );
}

/** `/templates/new?channel=sms&folder=3`: a blank template of that channel. */
export function NewTemplatePage() {
  const me = useSession();
  const [params] = useSearchParams();
  const channel = params.get("channel");
  const folder = Number(params.get("folder")) || null;
  if (!can(me, "templates:write")) {
    return (
      <>
        <BackLink />
        <Alert tone="info">
          Creating templates needs the <code>templates:write</code> permission.
        </Alert>
      </>
    );
  }
  if (!isChannel(channel)) return <ChannelChoice />;
  return <TemplateForm key={`new-${channel}`} channel={channel} initialFolder={folder} />;
}

function ChannelChoice() {
  return (
    <>
      <BackLink />
      <div className="page-header">
        <div>
          <h1>New template</h1>
          <p className="page-subtitle">Which channel does it send on? It cannot change later.</p>
        </div>
      </div>
      <div className="channel-choice">
        {CHANNELS.map((c) => (
          <Link key={c.value} to={`/templates/new?channel=${c.value}`} className="card channel-card">
            <span className={`channel-badge channel-${c.value}`}>{c.label}</span>
            <span className="muted">{c.hint}</span>
          </Link>
        ))}
      </div>
    </>
  );
}

/** `/templates/:id`: the editor with its problems, preview and history. */
export function TemplatePage() {
  const { id } = useParams();
  const templateId = Number(id);
  const template = useTemplate(Number.isInteger(templateId) && templateId > 0 ? templateId : null);
  if (!Number.isInteger(templateId) || templateId <= 0) return <NotFound />;
  if (template.error instanceof ApiError && template.error.status === 404) {
    return (
      <>
        <BackLink />
        <Alert tone="info">This template does not exist (any more).</Alert>
      </>
    );
  }
  if (!template.data) {
    return (
      <>
        <BackLink />
        <ErrorAlert error={template.error} />
        {!template.error && <p className="muted">Loading…</p>}
      </>
    );
  }
  return <TemplateForm key={templateId} template={template.data} channel={template.data.channel as Channel} />;
}

type Meta = { name: string; folder_id: number | null; description: string };

function metaOf(template: Template | undefined, folder: number | null): Meta {
  return { name: template?.name ?? "", folder_id: template ? (template.folder_id ?? null) : folder, description: template?.description ?? "" };
}

function TemplateForm({ template, channel, initialFolder = null }: { template?: Template; channel: Channel; initialFolder?: number | null }) {
  const me = useSession();
  const canWrite = can(me, "templates:write");
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const saved = useTemplateSaved();
  const folders = useTemplateFolders();
  const brand = useBrand();
  const [meta, setMeta] = useState<Meta>(() => metaOf(template, initialFolder));
  const [content, setContent] = useState<TemplateContent>(() => (template ? contentOf(template) : emptyContent(channel)));
  const [textOverride, setTextOverride] = useState(() => Boolean(template?.body_text));
  const [note, setNote] = useState("");
  const [notice, setNotice] = useState<string | null>(null);

  const base = useMemo(() => (template ? contentOf(template) : emptyContent(channel)), [template, channel]);
  const baseMeta = useMemo(() => metaOf(template, initialFolder), [template, initialFolder]);
  const effective = useMemo(
    () => contentForChannel(channel, channel === "email" && !textOverride ? { ...content, body_text: "" } : content),
    [channel, content, textOverride],
  );
  const contentChanged = !template || !sameContent(channel, base, effective);
  const metaChanged = meta.name.trim() !== baseMeta.name || meta.folder_id !== baseMeta.folder_id || meta.description.trim() !== baseMeta.description;
  const dirty = !template || contentChanged || metaChanged;

  // Leaving with unsaved changes asks first (a reload, a closed tab, another site).
  const unsaved = canWrite && (template ? dirty : Boolean(meta.name.trim() || !sameContent(channel, emptyContent(channel), effective)));
  useEffect(() => {
    if (!unsaved) return undefined;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [unsaved]);

  const checkKey = useDebouncedValue(JSON.stringify({ channel, ...effective }), CHECK_DEBOUNCE_MS);
  const check = useTemplateCheck(JSON.parse(checkKey) as Parameters<typeof useTemplateCheck>[0]);
  const checking = check.isFetching || checkKey !== JSON.stringify({ channel, ...effective });

  const save = useMutation({
    mutationFn: async (): Promise<Template> => {
      const trimmedNote = note.trim();
      if (!template) {
        return unwrap(
          api.POST("/api/templates", {
            body: {
              name: meta.name.trim(),
              channel,
              folder_id: meta.folder_id,
              description: meta.description.trim(),
              ...effective,
              note: trimmedNote,
            },
          }),
        );
      }
      let result = template;
      if (metaChanged) {
        result = await unwrap(
          api.PATCH("/api/templates/{template_id}", {
            params: { path: { template_id: template.id } },
            body: { name: meta.name.trim(), folder_id: meta.folder_id, description: meta.description.trim() },
          }),
        );
      }
      if (contentChanged) {
        result = await unwrap(
          api.PUT("/api/templates/{template_id}", {
            params: { path: { template_id: template.id } },
            body: { ...effective, note: trimmedNote },
          }),
        );
      }
      return result;
    },
    onMutate: () => setNotice(null),
    onSuccess: (result) => {
      saved(result);
      setNote("");
      if (!template) {
        navigate(`/templates/${result.id}`, { replace: true });
        return;
      }
      setMeta(metaOf(result, null));
      setNotice(contentChanged ? `Saved as version ${result.version}.` : "Saved.");
    },
  });

  const remove = useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/templates/{template_id}", { params: { path: { template_id: id } } })),
    onSuccess: (_data, id) => {
      queryClient.removeQueries({ queryKey: queryKeys.template(id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.templates });
      navigate("/templates", { replace: true });
    },
  });

  const saveError = save.error instanceof ApiError ? save.error : null;
  const badField = errorField(saveError?.field);
  const fieldError = (field: string) => (badField === field ? (saveError?.message ?? null) : null);
  const placed = ["name", "folder_id", "description", "subject", "preheader", "body_html", "body_text", "media_ids", "whatsapp_template", "social_networks"];
  const otherError = save.error && !(badField && placed.includes(badField)) ? save.error : null;

  const set = <K extends keyof TemplateContent>(field: K) => (value: TemplateContent[K]) => {
    setNotice(null);
    setContent((old) => ({ ...old, [field]: value }));
  };
  const focusField = (field: string) => {
    const el = document.getElementById(`template-${field}`);
    el?.scrollIntoView({ block: "center" });
    el?.focus();
  };
  const readOnly = !canWrite;
  const colors = brand.data?.colors ?? [];
  const fonts = brand.data?.fonts ?? [];

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <>
      <BackLink />
      <div className="page-header">
        <div>
          <div className="title-row">
            <h1>{template ? template.name : `New ${channelLabel(channel).toLowerCase()} template`}</h1>
            <span className={`channel-badge channel-${channel}`}>{channelLabel(channel)}</span>
          </div>
          <p className="page-subtitle">
            {template ? (
              <span data-testid="template-version">
                Version {template.version} · updated {formatDateTime(template.updated_at)}
                {template.updated_by ? ` by ${template.updated_by}` : ""}
              </span>
            ) : (
              "Every save keeps an immutable version you can compare and roll back to."
            )}
          </p>
        </div>
        {template && canWrite && (
          <div className="page-actions">
            <button
              type="button"
              className="btn btn-danger"
              disabled={remove.isPending}
              onClick={() => {
                if (window.confirm(`Delete the template “${template.name}” and all its versions?`)) remove.mutate(template.id);
              }}
            >
              Delete
            </button>
          </div>
        )}
      </div>
      <ErrorAlert error={remove.error} onDismiss={() => remove.reset()} />
      <div className="editor-grid template-editor">
        <div className="stack">
          <form className="card form" onSubmit={submit} aria-label="Template" id="template-form">
            <div className="form-grid form-grid-2">
              <label className="field">
                <span className="field-label">Name</span>
                <input
                  id="template-name"
                  name="name"
                  className={badField === "name" ? "input invalid" : "input"}
                  value={meta.name}
                  onChange={(event) => setMeta((old) => ({ ...old, name: event.target.value }))}
                  maxLength={200}
                  required
                  readOnly={readOnly}
                  autoFocus={!template}
                />
                {fieldError("name") && <p className="field-error">{fieldError("name")}</p>}
              </label>
              <label className="field">
                <span className="field-label">Folder</span>
                <select
                  id="template-folder_id"
                  name="folder_id"
                  className={badField === "folder_id" ? "input invalid" : "input"}
                  value={meta.folder_id ?? ""}
                  disabled={readOnly}
                  onChange={(event) => setMeta((old) => ({ ...old, folder_id: event.target.value ? Number(event.target.value) : null }))}
                >
                  <option value="">No folder</option>
                  {(folders.data ?? []).map((f) => (
                    <option key={f.id} value={f.id}>
                      {f.name}
                    </option>
                  ))}
                </select>
                {fieldError("folder_id") && <p className="field-error">{fieldError("folder_id")}</p>}
              </label>
            </div>
            <label className="field">
              <span className="field-label">Description</span>
              <input
                id="template-description"
                name="description"
                className={badField === "description" ? "input invalid" : "input"}
                value={meta.description}
                onChange={(event) => setMeta((old) => ({ ...old, description: event.target.value }))}
                maxLength={2000}
                readOnly={readOnly}
                placeholder="What it is for"
              />
              {fieldError("description") && <p className="field-error">{fieldError("description")}</p>}
            </label>

            {channel === "email" && (
              <>
                <TokenField
                  id="template-subject"
                  name="subject"
                  label="Subject"
                  value={content.subject}
                  onChange={set("subject")}
                  maxLength={SUBJECT_MAX}
                  readOnly={readOnly}
                  error={fieldError("subject")}
                />
                <TokenField
                  id="template-preheader"
                  name="preheader"
                  label="Preheader"
                  value={content.preheader}
                  onChange={set("preheader")}
                  maxLength={PREHEADER_MAX}
                  placeholder="The line inboxes show after the subject"
                  readOnly={readOnly}
                  error={fieldError("preheader")}
                />
                <div className="field">
                  <span className="field-label" id="template-body-label">
                    Body
                  </span>
                  <RichTextEditor
                    id="template-body_html"
                    label="Body"
                    value={content.body_html}
                    onChange={set("body_html")}
                    invalid={badField === "body_html"}
                    readOnly={readOnly}
                    colors={colors}
                    fonts={fonts}
                  >
                    {fieldError("body_html") && <p className="field-error">{fieldError("body_html")}</p>}
                  </RichTextEditor>
                </div>
                <label className="check">
                  <input
                    type="checkbox"
                    name="text_override"
                    checked={textOverride}
                    disabled={readOnly}
                    onChange={(event) => setTextOverride(event.target.checked)}
                  />
                  <span>
                    <span className="strong">Write the plain-text version myself</span>
                    <span className="field-hint check-hint">Otherwise it is made from the HTML when the email is sent.</span>
                  </span>
                </label>
                {textOverride && (
                  <TokenField
                    id="template-body_text"
                    name="body_text"
                    label="Plain-text version"
                    value={content.body_text}
                    onChange={set("body_text")}
                    multiline
                    rows={6}
                    blocks
                    readOnly={readOnly}
                    error={fieldError("body_text")}
                  />
                )}
              </>
            )}

            {channel !== "email" && (
              <TokenField
                id="template-body_text"
                name="body_text"
                label={channel === "social" ? "Post" : "Message"}
                value={content.body_text}
                onChange={set("body_text")}
                multiline
                rows={channel === "social" ? 8 : 5}
                blocks
                readOnly={readOnly}
                error={fieldError("body_text")}
              >
                {channel === "sms" && <SmsCounter text={content.body_text} />}
                {channel === "whatsapp" && <WhatsAppCounter text={content.body_text} withMedia={content.media_ids.length > 0} />}
              </TokenField>
            )}
            {(channel === "whatsapp" || channel === "social") && (
              <div id="template-media_ids" tabIndex={-1}>
                <MediaList
                  ids={content.media_ids}
                  max={MEDIA_LIMIT[channel]}
                  onChange={set("media_ids")}
                  readOnly={readOnly}
                  error={fieldError("media_ids")}
                />
              </div>
            )}
            {channel === "whatsapp" && (
              <label className="field">
                <span className="field-label">Approved template name</span>
                <input
                  id="template-whatsapp_template"
                  name="whatsapp_template"
                  className={`input mono ${badField === "whatsapp_template" ? "invalid" : ""}`}
                  value={content.whatsapp_template}
                  onChange={(event) => set("whatsapp_template")(event.target.value)}
                  pattern={WHATSAPP_TEMPLATE_PATTERN}
                  title="Small letters, digits and underscores"
                  maxLength={512}
                  readOnly={readOnly}
                  placeholder="spring_promo"
                />
                <span className="field-hint">
                  Optional: the name WhatsApp approved, needed to open a conversation outside the 24-hour window.
                </span>
                {fieldError("whatsapp_template") && <p className="field-error">{fieldError("whatsapp_template")}</p>}
              </label>
            )}
            {channel === "social" && (
              <div id="template-social_networks" tabIndex={-1}>
                <NetworkChoice
                  networks={content.social_networks}
                  onChange={set("social_networks")}
                  text={content.body_text}
                  readOnly={readOnly}
                  error={fieldError("social_networks")}
                />
              </div>
            )}

            {canWrite && (
              <>
                <ErrorAlert error={otherError} />
                {badField && !otherError && (
                  <Alert tone="error">Not saved: see {fieldLabel(badField, channel)} above.</Alert>
                )}
                {notice && !dirty && (
                  <Alert tone="success" onDismiss={() => setNotice(null)}>
                    {notice}
                  </Alert>
                )}
                <div className="form-actions save-bar">
                  <input
                    name="version_note"
                    className="input grow"
                    aria-label="Version note"
                    placeholder={template ? "What changed? (version note, optional)" : "Version note (optional)"}
                    value={note}
                    maxLength={500}
                    onChange={(event) => setNote(event.target.value)}
                  />
                  <button type="submit" className="btn btn-primary" disabled={save.isPending || !dirty || !meta.name.trim()}>
                    {save.isPending ? "Saving…" : template ? "Save" : "Create template"}
                  </button>
                  {template && dirty && (
                    <button
                      type="button"
                      className="btn btn-ghost"
                      onClick={() => {
                        setContent(contentOf(template));
                        setMeta(metaOf(template, null));
                        setTextOverride(Boolean(template.body_text));
                        save.reset();
                      }}
                    >
                      Discard changes
                    </button>
                  )}
                </div>
              </>
            )}
          </form>
          <ProblemsPanel
            channel={channel}
            problems={check.data?.problems ?? template?.problems}
            checking={checking}
            error={check.error}
            onFocusField={focusField}
          />
          {template && (
            <VersionHistory
              template={template}
              canWrite={canWrite}
              dirty={dirty}
              onRestored={(restored) => {
                saved(restored);
                setContent(contentOf(restored));
                setTextOverride(Boolean(restored.body_text));
                setNotice(null);
                save.reset();
              }}
            />
          )}
        </div>
        <PreviewPane
          templateId={template?.id ?? null}
          version={template?.version ?? null}
          channel={channel}
          content={effective}
          dirty={template ? contentChanged : true}
        />
      </div>
    </>
  );
}
