import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap, type TemplatePreview, type TestSendResult } from "../api/client";
import { Alert, ErrorAlert } from "../components/Alert";
import { Icon } from "../components/Icon";
import { SearchBox } from "../components/SearchBox";
import { formatNumber } from "../format";
import { leadName } from "../leads/columns";
import { useDebouncedValue } from "../useDebouncedValue";
import { channelLabel, parseAddresses, SOCIAL_NETWORKS, type Channel, type TemplateContent } from "./model";
import { useTemplatePreview } from "./queries";

export const PREVIEW_DEBOUNCE_MS = 400;
export const DEVICE_WIDTHS = { desktop: 600, mobile: 375 } as const;
type Device = keyof typeof DEVICE_WIDTHS;
export type PreviewLead = { id: number; name: string } | null;

/**
 * The message as a lead receives it: the editor's unsaved content (or the saved template when nothing changed),
 * rendered by the server for the chosen lead or the sample lead. Email in a sandboxed frame at desktop or mobile
 * width; SMS and WhatsApp as bubbles; a social card per network.
 */
export function PreviewPane({
  templateId,
  version,
  channel,
  content,
  dirty,
}: {
  templateId: number | null;
  version: number | null;
  channel: Channel;
  content: TemplateContent;
  dirty: boolean;
}) {
  const [lead, setLead] = useState<PreviewLead>(null);
  const [device, setDevice] = useState<Device>("desktop");
  const [testOpen, setTestOpen] = useState(false);
  const unsaved = templateId === null || dirty;
  const wanted = unsaved
    ? JSON.stringify({ kind: "unsaved", body: { channel, ...content, lead_id: lead?.id ?? null } })
    : JSON.stringify({ kind: "saved", id: templateId, lead_id: lead?.id ?? null, version: null });
  const debounced = useDebouncedValue(wanted, PREVIEW_DEBOUNCE_MS);
  const preview = useTemplatePreview(JSON.parse(debounced) as Parameters<typeof useTemplatePreview>[0]);
  const stale = preview.isFetching || debounced !== wanted;
  const data = preview.data;

  return (
    <section className={`card preview-panel template-preview ${stale ? "is-stale" : ""}`} aria-label="Preview" aria-busy={stale}>
      <div className="card-header">
        <h2>Preview</h2>
        {stale && <span className="muted small">Updating…</span>}
        {channel === "email" && (
          <div className="segmented" role="group" aria-label="Device">
            {(["desktop", "mobile"] as const).map((d) => (
              <button
                key={d}
                type="button"
                className={`btn btn-secondary btn-sm ${device === d ? "active" : ""}`}
                aria-pressed={device === d}
                onClick={() => setDevice(d)}
              >
                {d === "desktop" ? "Desktop" : "Mobile"}
              </button>
            ))}
          </div>
        )}
      </div>
      <LeadChooser lead={lead} onChange={setLead} />
      <ErrorAlert error={preview.error} />
      {data && <Rendered preview={data} channel={channel} device={device} />}
      {!data && !preview.error && <p className="muted">Rendering…</p>}
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-secondary"
          aria-haspopup="dialog"
          disabled={templateId === null}
          title={templateId === null ? "Save the template first" : undefined}
          onClick={() => setTestOpen(true)}
        >
          Test send
        </button>
        {templateId !== null && dirty && <span className="muted small">Test sends use the saved version {version}.</span>}
      </div>
      {testOpen && templateId !== null && (
        <TestSendDialog templateId={templateId} channel={channel} lead={lead} onClose={() => setTestOpen(false)} />
      )}
    </section>
  );
}

function Rendered({ preview, channel, device }: { preview: TemplatePreview; channel: Channel; device: Device }) {
  const media = preview.media_urls ?? [];
  if (channel === "email") {
    return (
      <div className="email-preview">
        <dl className="email-envelope">
          <dt>Subject</dt>
          <dd className="strong" data-testid="preview-subject">
            {preview.subject || <span className="muted">(no subject)</span>}
          </dd>
          {preview.preheader && (
            <>
              <dt>Preheader</dt>
              <dd className="muted" data-testid="preview-preheader">
                {preview.preheader}
              </dd>
            </>
          )}
        </dl>
        <DeviceFrame html={preview.html} device={device} />
        <details className="preview-text">
          <summary>Plain-text version</summary>
          <pre className="mail-text" data-testid="preview-text">
            {preview.text}
          </pre>
        </details>
      </div>
    );
  }
  if (channel === "sms") {
    return (
      <div className="phone">
        <div className="bubble bubble-sms" data-testid="preview-text">
          {preview.text}
        </div>
        {preview.sms && (
          <p className="muted small" data-testid="preview-segments">
            {formatNumber(preview.sms.characters)} characters · {preview.sms.encoding} · {preview.sms.segments} segment
            {preview.sms.segments === 1 ? "" : "s"} ({preview.sms.per_segment} per segment)
          </p>
        )}
      </div>
    );
  }
  if (channel === "whatsapp") {
    return (
      <div className="phone phone-whatsapp">
        <div className="bubble bubble-whatsapp">
          {media.map((url) => (
            <img key={url} src={url} alt="" className="bubble-media" />
          ))}
          <div data-testid="preview-text">{preview.text}</div>
        </div>
        {preview.sms && (
          <p className="muted small">
            {formatNumber(preview.sms.characters)} characters
          </p>
        )}
      </div>
    );
  }
  return (
    <div className="social-cards">
      {(preview.social ?? []).map((n) => (
        <article key={n.network} className={`social-card ${n.over ? "over" : ""}`} data-testid={`social-card-${n.network}`}>
          <header>
            <span className="strong">{SOCIAL_NETWORKS.find((s) => s.value === n.network)?.label ?? n.network}</span>
            <span className={n.over ? "over-limit" : "muted small"}>
              {formatNumber(n.length)} / {formatNumber(n.limit)}
            </span>
          </header>
          <p className="social-text" data-testid="preview-text">
            {preview.text}
          </p>
          {media.length > 0 && (
            <div className={`social-media social-media-${Math.min(media.length, 4)}`}>
              {media.map((url) => (
                <img key={url} src={url} alt="" />
              ))}
            </div>
          )}
        </article>
      ))}
      {(preview.social ?? []).length === 0 && <p className="muted">Choose at least one network.</p>}
    </div>
  );
}

const FRAME_HEIGHT = 640;

/**
 * The email in a sandboxed frame (no scripts, no same-origin access) exactly 600 or 375 px wide, scaled down to
 * fit the panel when it is narrower.
 */
function DeviceFrame({ html, device }: { html: string; device: Device }) {
  const ref = useRef<HTMLDivElement>(null);
  const [room, setRoom] = useState<number>(DEVICE_WIDTHS.desktop);
  useEffect(() => {
    const el = ref.current;
    if (!el || typeof ResizeObserver === "undefined") return undefined;
    const observer = new ResizeObserver(([entry]) => setRoom(entry?.contentRect.width ?? DEVICE_WIDTHS.desktop));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const width = DEVICE_WIDTHS[device];
  const scale = room > 0 ? Math.min(1, room / width) : 1;
  return (
    <div ref={ref} className="device-frame-wrap" style={{ height: FRAME_HEIGHT * scale }} data-device={device}>
      <iframe
        title="Email preview"
        className={`device-frame device-${device}`}
        style={{
          width,
          height: FRAME_HEIGHT,
          transform: scale < 1 ? `scale(${scale})` : undefined,
          marginLeft: scale < 1 ? 0 : undefined,
        }}
        sandbox=""
        srcDoc={html}
      />
    </div>
  );
}

/** "Preview for": the sample lead, or a lead found by name, email or company. */
function LeadChooser({ lead, onChange }: { lead: PreviewLead; onChange: (lead: PreviewLead) => void }) {
  const [search, setSearch] = useState("");
  const debounced = useDebouncedValue(search.trim(), 300);
  const results = useQuery({
    queryKey: ["leads", "picker", debounced],
    queryFn: () => unwrap(api.GET("/api/leads", { params: { query: { search: debounced, limit: 6 } } })),
    enabled: debounced !== "",
  });
  const rows = results.data?.items ?? [];
  return (
    <div className="preview-lead">
      <div className="preview-lead-current">
        <span className="field-label">Preview for</span>
        <span className="strong" data-testid="preview-lead">
          {lead ? lead.name : "Sample lead"}
        </span>
        {lead && (
          <button type="button" className="link-button small" onClick={() => onChange(null)}>
            Use the sample lead
          </button>
        )}
      </div>
      <SearchBox value={search} onChange={setSearch} placeholder="Find a lead…" label="Find a lead to preview" />
      <ErrorAlert error={results.error} />
      {search.trim() && debounced && results.data && (
        <ul className="picker-results">
          {rows.length === 0 && <li className="muted">No lead matches “{debounced}”.</li>}
          {rows.map((row) => (
            <li key={row.id} data-testid="preview-lead-option">
              <span className="truncate">
                <span className="strong">{leadName(row)}</span>
                {row.email && <span className="muted"> · {row.email}</span>}
              </span>
              <button
                type="button"
                className="btn btn-secondary btn-sm"
                aria-label={`Preview for ${leadName(row)}`}
                onClick={() => {
                  onChange({ id: row.id, name: leadName(row) });
                  setSearch("");
                }}
              >
                Use
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Send the saved template to one to five addresses (emails, or phone numbers for SMS and WhatsApp), marked as a test. */
function TestSendDialog({
  templateId,
  channel,
  lead,
  onClose,
}: {
  templateId: number;
  channel: Channel;
  lead: PreviewLead;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [raw, setRaw] = useState("");
  const addresses = parseAddresses(raw);
  const tooMany = addresses.length > 5;
  const send = useMutation({
    mutationFn: (to: string[]) =>
      unwrap(
        api.POST("/api/templates/{template_id}/test-send", {
          params: { path: { template_id: templateId } },
          body: { to, lead_id: lead?.id ?? null },
        }),
      ),
  });
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  const kind = channel === "email" ? "Email addresses" : channel === "social" ? "Recipients" : "Phone numbers";
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="test-send-title"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <form
        className="form"
        onSubmit={(event) => {
          event.preventDefault();
          if (addresses.length >= 1 && !tooMany) send.mutate(addresses);
        }}
      >
        <div className="card-header">
          <h2 id="test-send-title">Test send</h2>
          <button type="button" className="alert-dismiss" aria-label="Close" onClick={onClose}>
            <Icon name="close" size={16} />
          </button>
        </div>
        <p className="muted small">
          The saved {channel === "email" ? "email" : channelLabel(channel)} template goes out through the real channel, for{" "}
          {lead ? lead.name : "the sample lead"}, marked as a test and left out of analytics.
        </p>
        <label className="field">
          <span className="field-label">{kind}</span>
          <textarea
            name="test_recipients"
            className={`input textarea ${tooMany || send.error ? "invalid" : ""}`}
            rows={3}
            value={raw}
            placeholder={channel === "email" ? "me@example.com, colleague@example.com" : "+33612345678"}
            onChange={(event) => setRaw(event.target.value)}
            autoFocus
          />
          <span className={tooMany ? "field-error" : "field-hint"}>
            One to five, separated by commas or new lines{addresses.length > 0 ? ` (${addresses.length})` : ""}.
          </span>
        </label>
        <ErrorAlert error={send.error} />
        {send.data && <TestResults results={send.data} />}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={send.isPending || addresses.length === 0 || tooMany}>
            {send.isPending ? "Sending…" : "Send test"}
          </button>
          <button type="button" className="btn btn-ghost" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </dialog>
  );
}

function TestResults({ results }: { results: TestSendResult }) {
  const failed = results.results.filter((r) => !r.ok).length;
  return (
    <>
      <Alert tone={failed ? "error" : "success"}>
        {failed ? `${failed} of ${results.results.length} failed.` : `Sent to ${results.results.length}.`}
      </Alert>
      <ul className="test-results">
        {results.results.map((r) => (
          <li key={r.to} data-testid="test-send-result" className={r.ok ? "ok" : "failed"}>
            <span className="mono">{r.to}</span>
            {r.ok ? (
              <span className="stat-ok">sent{r.message_id ? ` · ${r.message_id}` : ""}</span>
            ) : (
              <span className="stat-bad">{r.error || "failed"}</span>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}
