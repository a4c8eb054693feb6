import { useState } from "react";
import type { MediaAsset } from "../api/client";
import { MediaThumb } from "../media/MediaCard";
import { MediaChooser } from "../media/MediaChooser";
import { useMediaAsset } from "../media/queries";
import { formatNumber } from "../format";
import { SOCIAL_NETWORKS, socialLengths, textLength, toggleNetwork, type SocialNetwork } from "./model";
import { countSms } from "./smsSegments";

/** Characters, encoding, segments and room per segment of an SMS text, as typed (tokens not yet filled in). */
export function SmsCounter({ text }: { text: string }) {
  const sms = countSms(text);
  return (
    <div className="counter" data-testid="sms-counter" aria-live="polite">
      <span>
        <strong data-testid="sms-characters">{formatNumber(sms.characters)}</strong> characters
      </span>
      <span className={`tag ${sms.encoding === "UCS-2" ? "tag-warn" : ""}`} data-testid="sms-encoding">
        {sms.encoding}
      </span>
      <span>
        <strong data-testid="sms-segments">{sms.segments}</strong> segment{sms.segments === 1 ? "" : "s"} ×{" "}
        {sms.perSegment}
      </span>
      <span className="muted">{sms.segments > 0 ? `${sms.remaining} left in the last one` : ""}</span>
      {sms.nonGsm.length > 0 && (
        <span className="muted small counter-note">
          UCS-2 because of {sms.nonGsm.slice(0, 8).map((ch) => `“${ch}”`).join(" ")}
          {sms.nonGsm.length > 8 ? "…" : ""}
        </span>
      )}
    </div>
  );
}

/** WhatsApp's own limits: 4,096 characters of text, 1,024 for the caption of an image. */
export const WHATSAPP_TEXT_LIMIT = 4096;
export const WHATSAPP_CAPTION_LIMIT = 1024;

export function WhatsAppCounter({ text, withMedia }: { text: string; withMedia: boolean }) {
  const length = textLength(text);
  const limit = withMedia ? WHATSAPP_CAPTION_LIMIT : WHATSAPP_TEXT_LIMIT;
  return (
    <div className="counter" data-testid="whatsapp-counter" aria-live="polite">
      <span className={length > limit ? "over-limit" : undefined}>
        <strong>{formatNumber(length)}</strong> / {formatNumber(limit)} characters
      </span>
      <span className="muted">{withMedia ? "as the caption of the media" : "as a text message"}, tokens not filled in</span>
    </div>
  );
}

/** Network checkboxes with their counters next to them. */
export function NetworkChoice({
  networks,
  onChange,
  text,
  readOnly,
  error,
}: {
  networks: SocialNetwork[];
  onChange: (networks: SocialNetwork[]) => void;
  text: string;
  readOnly: boolean;
  error?: string | null;
}) {
  const lengths = socialLengths(text, networks);
  return (
    <fieldset className="fieldset">
      <legend className="field-label">Networks</legend>
      <div className="check-row">
        {SOCIAL_NETWORKS.map((n) => {
          const length = lengths.find((l) => l.network === n.value);
          return (
            <label key={n.value} className="check">
              <input
                type="checkbox"
                name="social_networks"
                value={n.value}
                checked={networks.includes(n.value)}
                disabled={readOnly}
                onChange={() => onChange(toggleNetwork(networks, n.value))}
              />
              <span>
                {n.label}{" "}
                <span className={length?.over ? "over-limit" : "muted"} data-testid={`counter-${n.value}`}>
                  {length ? `${formatNumber(length.length)} / ${formatNumber(n.limit)}` : `max ${formatNumber(n.limit)}`}
                </span>
              </span>
            </label>
          );
        })}
      </div>
      {error && <p className="field-error">{error}</p>}
    </fieldset>
  );
}

/** The media of a WhatsApp message or social post: thumbnails, remove buttons, "Add media" (the chooser). */
export function MediaList({
  ids,
  max,
  onChange,
  readOnly,
  error,
}: {
  ids: number[];
  max: number;
  onChange: (ids: number[]) => void;
  readOnly: boolean;
  error?: string | null;
}) {
  const [open, setOpen] = useState(false);
  const add = (asset: MediaAsset) => {
    if (!ids.includes(asset.id)) onChange([...ids, asset.id].slice(0, max));
  };
  return (
    <div className="field">
      <span className="field-label">
        Media <span className="muted">({ids.length} of {max})</span>
      </span>
      <ul className="template-media">
        {ids.map((id) => (
          <MediaItem key={id} id={id} readOnly={readOnly} onRemove={() => onChange(ids.filter((i) => i !== id))} />
        ))}
        {!readOnly && ids.length < max && (
          <li>
            <button type="button" className="btn btn-secondary btn-sm" aria-haspopup="dialog" onClick={() => setOpen(true)}>
              Add media
            </button>
          </li>
        )}
      </ul>
      {error && <p className="field-error">{error}</p>}
      <MediaChooser open={open} onClose={() => setOpen(false)} onChoose={add} />
    </div>
  );
}

function MediaItem({ id, readOnly, onRemove }: { id: number; readOnly: boolean; onRemove: () => void }) {
  const asset = useMediaAsset(id);
  const name = asset.data?.filename ?? `Media ${id}`;
  return (
    <li className="template-media-item" data-testid="template-media">
      {asset.data ? <MediaThumb asset={asset.data} size="small" /> : <span className="media-thumb media-thumb-small" />}
      <span className="truncate small">{asset.error ? `Media ${id} (missing)` : name}</span>
      {!readOnly && (
        <button type="button" className="alert-dismiss" aria-label={`Remove ${name}`} onClick={onRemove}>
          ×
        </button>
      )}
    </li>
  );
}
