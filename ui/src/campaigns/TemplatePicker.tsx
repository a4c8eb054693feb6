import { useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import { useTemplates } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { Icon } from "../components/Icon";
import { useTemplatePreview, useTemplateVersions } from "../templates/queries";
import { CHANNEL_LABELS, type Channel } from "./flow";

type Props = {
  channel: Channel;
  templateId: number | null;
  version: number | null;
  onChange: (templateId: number | null, version: number | null) => void;
  /** Accessible names: "Template" / "Fallback template". */
  label: string;
  invalid?: boolean;
  versionInvalid?: boolean;
};

/** A template of the channel, its version (the current one at launch by default), and a preview of the pick. */
export function TemplatePicker({ channel, templateId, version, onChange, label, invalid, versionInvalid }: Props) {
  const templates = useTemplates();
  const versions = useTemplateVersions(templateId);
  const [previewing, setPreviewing] = useState(false);
  const choices = (templates.data ?? []).filter((t) => t.channel === channel);
  const known = templateId === null || choices.some((t) => t.id === templateId);

  return (
    <div className="template-picker">
      <label className="field">
        <span className="field-label">{label}</span>
        <select
          className={`input ${invalid ? "invalid" : ""}`}
          aria-label={label}
          aria-invalid={invalid}
          value={templateId ?? ""}
          onChange={(event) => onChange(event.target.value === "" ? null : Number(event.target.value), null)}
        >
          <option value="">{templates.isPending ? "Loading…" : "Choose a template"}</option>
          {!known && templateId !== null && <option value={templateId}>Template {templateId}</option>}
          {choices.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
        {templates.isSuccess && choices.length === 0 && (
          <span className="field-hint">
            No {CHANNEL_LABELS[channel]} template yet: <Link to={`/templates/new?channel=${channel}`}>write one</Link>.
          </span>
        )}
      </label>
      {templateId !== null && (
        <label className="field">
          <span className="field-label">Version</span>
          <select
            className={`input ${versionInvalid ? "invalid" : ""}`}
            aria-label={`${label} version`}
            value={version ?? ""}
            onChange={(event) => onChange(templateId, event.target.value === "" ? null : Number(event.target.value))}
          >
            <option value="">Current at launch{versions.data?.[0] ? ` (now ${versions.data[0].number})` : ""}</option>
            {(versions.data ?? []).map((v) => (
              <option key={v.number} value={v.number}>
                Version {v.number}
                {v.note ? ` · ${v.note}` : ""}
              </option>
            ))}
          </select>
        </label>
      )}
      {templateId !== null && (
        <div className="template-picker-links">
          <button type="button" className="link-button small" onClick={() => setPreviewing(true)}>
            Preview
          </button>
          <Link to={`/templates/${templateId}`} target="_blank" rel="noopener noreferrer" className="small">
            Open the template <Icon name="external" size={12} />
          </Link>
        </div>
      )}
      {previewing && templateId !== null && (
        <TemplatePreviewDialog templateId={templateId} version={version} onClose={() => setPreviewing(false)} />
      )}
    </div>
  );
}

/** The chosen version rendered for the sample lead. */
function TemplatePreviewDialog({ templateId, version, onClose }: { templateId: number; version: number | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const preview = useTemplatePreview({ kind: "saved", id: templateId, lead_id: null, version });
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal?.();
    return () => dialog?.close?.();
  }, []);
  const data = preview.data;
  return (
    <dialog
      ref={ref}
      className="dialog dialog-wide"
      aria-labelledby="template-preview-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div className="card-header">
        <h2 id="template-preview-title">Preview{version !== null ? ` · version ${version}` : ""}</h2>
        <button type="button" className="alert-dismiss" aria-label="Close" onClick={onClose}>
          <Icon name="close" size={16} />
        </button>
      </div>
      <ErrorAlert error={preview.error} />
      {preview.isPending && <p className="muted">Rendering…</p>}
      {data && (
        <div className="stack" data-testid="template-preview">
          {data.channel === "email" && (
            <>
              <p>
                <span className="muted">Subject </span>
                <span className="strong">{data.subject || "(no subject)"}</span>
              </p>
              <iframe title="Template preview" className="mail-frame" sandbox="" srcDoc={data.html} />
            </>
          )}
          {data.channel !== "email" && <div className="bubble">{data.text}</div>}
          <p className="muted small">Rendered for the sample lead.</p>
        </div>
      )}
    </dialog>
  );
}
