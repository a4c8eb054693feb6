import { useState, type FormEvent, type ReactNode } from "react";
import { Link } from "react-router-dom";
import { ApiError, type Brand, type BrandIn } from "../api/client";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { formatDateTime } from "../format";
import { MediaThumb } from "../media/MediaCard";
import { MediaChooser } from "../media/MediaChooser";
import { useMediaAsset } from "../media/queries";
import { errorField } from "../templates/model";
import { useBrand, useSaveBrand } from "../templates/queries";

type Form = {
  colors: string[];
  fonts: string[];
  logo_media_id: number | null;
  require_footer: boolean;
  postal_address: string;
  banned_phrases: string[];
  link_domains: string[];
  /** Kilobytes, as typed; empty: no limit. */
  max_image_kb: string;
  /** The saved limit in bytes: kept as it is while its kilobytes are not retyped. */
  saved_image_bytes?: number | null;
};

function kilobytes(bytes: number | null | undefined): string {
  return bytes ? String(Math.round((bytes / 1024) * 10) / 10) : "";
}

function formOf(brand: Brand): Form {
  return {
    colors: [...(brand.colors ?? [])],
    fonts: [...(brand.fonts ?? [])],
    logo_media_id: brand.logo_media_id ?? null,
    require_footer: brand.require_footer ?? true,
    postal_address: brand.postal_address ?? "",
    banned_phrases: [...(brand.banned_phrases ?? [])],
    link_domains: [...(brand.link_domains ?? [])],
    max_image_kb: kilobytes(brand.max_image_bytes),
    saved_image_bytes: brand.max_image_bytes ?? null,
  };
}

/** The PUT body of a form: empty colour rows dropped, kilobytes to bytes. */
export function brandBody(form: Form): BrandIn {
  const kb = Number(form.max_image_kb);
  const unchanged = form.saved_image_bytes && form.max_image_kb === kilobytes(form.saved_image_bytes);
  return {
    colors: form.colors.map((c) => c.trim()).filter(Boolean),
    fonts: form.fonts,
    logo_media_id: form.logo_media_id,
    require_footer: form.require_footer,
    postal_address: form.postal_address.trim(),
    banned_phrases: form.banned_phrases,
    link_domains: form.link_domains,
    max_image_bytes: unchanged ? (form.saved_image_bytes ?? null) : form.max_image_kb.trim() && kb > 0 ? Math.round(kb * 1024) : null,
  };
}

/** `/settings/brand`: what the validator checks every template against, live in the editor and at launch. */
export function BrandGuidelinesPage() {
  const brand = useBrand();
  return (
    <>
      <Link to="/settings" className="back-link">
        ← Settings
      </Link>
      <PageHeader
        title="Brand guidelines"
        subtitle="Colours, fonts, the email footer, banned phrases, allowed link domains and image weight. The template editor flags what breaks them; a campaign with errors cannot launch."
      />
      <ErrorAlert error={brand.error} />
      {brand.isPending && <p className="muted">Loading…</p>}
      {brand.data && <BrandForm key={brand.data.updated_at ?? "new"} brand={brand.data} />}
    </>
  );
}

function BrandForm({ brand }: { brand: Brand }) {
  const [form, setForm] = useState<Form>(() => formOf(brand));
  const [chooserOpen, setChooserOpen] = useState(false);
  const save = useSaveBrand();
  const error = save.error instanceof ApiError ? save.error : null;
  const bad = errorField(error?.field);
  const badIndex = Number(/\[(\d+)\]/.exec(error?.field ?? "")?.[1] ?? -1);
  const set = <K extends keyof Form>(field: K) => (value: Form[K]) => setForm((old) => ({ ...old, [field]: value }));
  const dirty = JSON.stringify(brandBody(form)) !== JSON.stringify(brandBody(formOf(brand)));
  const note = (field: string) => (bad === field && error ? <p className="field-error">{error.message}</p> : null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(brandBody(form));
  };

  return (
    <form className="card form brand-form" onSubmit={submit} aria-label="Brand guidelines">
      {!brand.configured && (
        <Alert tone="info">No guidelines yet: until they are saved once, no brand rule applies.</Alert>
      )}
      <div className="form-grid form-grid-2">
        <fieldset className="fieldset">
          <legend className="field-label">Colours</legend>
          <ul className="color-rows">
            {form.colors.map((color, index) => (
              <li key={index} data-testid="brand-color">
                <input
                  type="color"
                  aria-label={`Pick colour ${index + 1}`}
                  value={/^#[0-9a-f]{6}$/i.test(color) ? color : "#000000"}
                  onChange={(event) => set("colors")(form.colors.map((c, i) => (i === index ? event.target.value : c)))}
                />
                <input
                  className={`input input-sm mono ${bad === "colors" && badIndex === index ? "invalid" : ""}`}
                  aria-label={`Colour ${index + 1}`}
                  value={color}
                  maxLength={7}
                  onChange={(event) => set("colors")(form.colors.map((c, i) => (i === index ? event.target.value : c)))}
                />
                <button
                  type="button"
                  className="btn btn-ghost btn-sm"
                  aria-label={`Remove colour ${color}`}
                  onClick={() => set("colors")(form.colors.filter((_, i) => i !== index))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
          <div>
            <button type="button" className="btn btn-secondary btn-sm" onClick={() => set("colors")([...form.colors, "#000000"])}>
              Add colour
            </button>
          </div>
          <span className="field-hint">Text and background colours outside this list are warnings. Empty: any colour.</span>
          {note("colors")}
        </fieldset>
        <ListInput
          label="Fonts"
          items={form.fonts}
          onChange={set("fonts")}
          placeholder="Helvetica"
          hint="Font families the body may use (others are warnings). Empty: any font."
          invalidIndex={bad === "fonts" ? badIndex : null}
          error={note("fonts")}
        />
      </div>

      <div className="field">
        <span className="field-label">Logo</span>
        <div className="brand-logo">
          {form.logo_media_id !== null ? <Logo id={form.logo_media_id} /> : <span className="muted">No logo.</span>}
          <button type="button" className="btn btn-secondary btn-sm" aria-haspopup="dialog" onClick={() => setChooserOpen(true)}>
            {form.logo_media_id !== null ? "Change logo" : "Choose logo"}
          </button>
          {form.logo_media_id !== null && (
            <button type="button" className="btn btn-ghost btn-sm" onClick={() => set("logo_media_id")(null)}>
              Remove
            </button>
          )}
        </div>
        {note("logo_media_id")}
        <MediaChooser open={chooserOpen} kind="image" onClose={() => setChooserOpen(false)} onChoose={(asset) => set("logo_media_id")(asset.id)} />
      </div>

      <label className="check">
        <input type="checkbox" name="require_footer" checked={form.require_footer} onChange={(event) => set("require_footer")(event.target.checked)} />
        <span>
          <span className="strong">Require the email footer</span>
          <span className="field-hint check-hint">
            Every email needs the unsubscribe link (<code>{"{{ unsubscribe_url }}"}</code>) and the postal address.
          </span>
        </span>
      </label>
      <label className="field">
        <span className="field-label">Postal address</span>
        <textarea
          name="postal_address"
          className={`input textarea ${bad === "postal_address" ? "invalid" : ""}`}
          rows={3}
          value={form.postal_address}
          maxLength={500}
          onChange={(event) => set("postal_address")(event.target.value)}
        />
        <span className="field-hint">
          Templates may write it or use <code>{"{{ workspace.postal_address }}"}</code>.
        </span>
        {note("postal_address")}
      </label>

      <div className="form-grid form-grid-2">
        <ListInput
          label="Banned phrases"
          items={form.banned_phrases}
          onChange={set("banned_phrases")}
          placeholder="100% free"
          hint="Any of these in a subject or body is an error (case does not matter)."
          invalidIndex={bad === "banned_phrases" ? badIndex : null}
          error={note("banned_phrases")}
        />
        <ListInput
          label="Link domains"
          items={form.link_domains}
          onChange={set("link_domains")}
          placeholder="example.com"
          hint="Links may only point to these domains and their subdomains. Empty: any domain."
          invalidIndex={bad === "link_domains" ? badIndex : null}
          error={note("link_domains")}
        />
      </div>

      <label className="field narrow-field">
        <span className="field-label">Maximum image weight (KB)</span>
        <input
          name="max_image_kb"
          type="number"
          min={1}
          step="any"
          className={`input ${bad === "max_image_bytes" ? "invalid" : ""}`}
          value={form.max_image_kb}
          placeholder="no limit"
          onChange={(event) => set("max_image_kb")(event.target.value)}
        />
        <span className="field-hint">The total of an email's images, as sent.</span>
        {note("max_image_bytes")}
      </label>

      {error && !bad && <ErrorAlert error={error} />}
      {error && bad && !["colors", "fonts", "logo_media_id", "postal_address", "banned_phrases", "link_domains", "max_image_bytes"].includes(bad) && (
        <ErrorAlert error={error} />
      )}
      {save.isSuccess && !dirty && (
        <Alert tone="success" onDismiss={() => save.reset()}>
          Brand guidelines saved.
        </Alert>
      )}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={save.isPending || (!dirty && brand.configured)}>
          Save guidelines
        </button>
        {brand.updated_at && <span className="muted small">Last saved {formatDateTime(brand.updated_at)}</span>}
      </div>
    </form>
  );
}

function Logo({ id }: { id: number }) {
  const asset = useMediaAsset(id);
  if (!asset.data) return <span className="muted">{asset.error ? `Image ${id} (missing)` : "Loading…"}</span>;
  return (
    <span className="brand-logo-item" data-testid="brand-logo">
      <MediaThumb asset={asset.data} size="small" />
      <span className="small">{asset.data.filename}</span>
    </span>
  );
}

/** A list of short texts as chips: type and press Enter (or "Add"); × removes one. */
function ListInput({
  label,
  items,
  onChange,
  placeholder,
  hint,
  invalidIndex,
  error,
}: {
  label: string;
  items: string[];
  onChange: (items: string[]) => void;
  placeholder: string;
  hint: string;
  invalidIndex: number | null;
  error: ReactNode;
}) {
  const [draft, setDraft] = useState("");
  const add = () => {
    const value = draft.trim();
    if (!value) return;
    if (!items.includes(value)) onChange([...items, value]);
    setDraft("");
  };
  return (
    <fieldset className="fieldset">
      <legend className="field-label">{label}</legend>
      {items.length > 0 && (
        <ul className="chips">
          {items.map((item, index) => (
            <li key={item} className={`chip ${invalidIndex === index ? "chip-invalid" : ""}`}>
              {item}
              <button type="button" className="chip-remove" aria-label={`Remove ${item}`} onClick={() => onChange(items.filter((i) => i !== item))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="status-add">
        <input
          className="input input-sm"
          aria-label={`Add to ${label}`}
          placeholder={placeholder}
          value={draft}
          maxLength={200}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={(event) => {
            if (event.key === "Enter") {
              event.preventDefault();
              add();
            }
          }}
        />
        <button type="button" className="btn btn-secondary btn-sm" disabled={!draft.trim()} onClick={add}>
          Add
        </button>
      </div>
      <span className="field-hint">{hint}</span>
      {error}
    </fieldset>
  );
}
