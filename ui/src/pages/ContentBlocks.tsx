import { useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { ApiError, type ContentBlock, type ContentBlockIn } from "../api/client";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { Options } from "../components/Options";
import { PageHeader } from "../components/PageHeader";
import { TableState } from "../components/TableState";
import { formatDateTime } from "../format";
import { useSession } from "../session";
import { errorField } from "../templates/model";
import { useBrand, useContentBlocks, useDeleteContentBlock, useSaveContentBlock } from "../templates/queries";
import { RichTextEditor } from "../templates/RichTextEditor";
import { TokenField } from "../templates/TokenField";

export const BLOCK_KINDS: readonly { value: ContentBlockIn["kind"] & string; label: string }[] = [
  { value: "header", label: "Header" },
  { value: "footer", label: "Footer" },
  { value: "signature", label: "Signature" },
  { value: "other", label: "Other" },
];

/** `/templates/blocks`: reusable headers, footers and signatures that the editors insert. */
export function ContentBlocksPage() {
  const me = useSession();
  const canWrite = can(me, "templates:write");
  const blocks = useContentBlocks();
  const remove = useDeleteContentBlock();
  const [editing, setEditing] = useState<ContentBlock | "new" | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const rows = blocks.data ?? [];

  return (
    <>
      <Link to="/templates" className="back-link">
        ← Templates
      </Link>
      <PageHeader
        title="Content blocks"
        subtitle="Headers, footers and signatures written once and inserted into any template (a copy: editing a block later does not change templates)."
        actions={
          canWrite &&
          editing === null && (
            <button type="button" className="btn btn-primary" onClick={() => {
                setNotice(null);
                setEditing("new");
              }}>
              New block
            </button>
          )
        }
      />
      {notice && (
        <Alert tone="success" onDismiss={() => setNotice(null)}>
          {notice}
        </Alert>
      )}
      {editing !== null && (
        <BlockForm
          key={editing === "new" ? "new" : editing.id}
          block={editing === "new" ? null : editing}
          onCancel={() => setEditing(null)}
          onSaved={(block, created) => {
            setEditing(null);
            setNotice(`Block “${block.name}” ${created ? "created" : "saved"}.`);
          }}
        />
      )}
      <ErrorAlert error={blocks.error ?? remove.error} onDismiss={remove.error ? () => remove.reset() : undefined} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Text</th>
                <th>Updated</th>
                {canWrite && <th />}
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={canWrite ? 5 : 4} loading={blocks.isPending} empty={rows.length === 0} emptyText="No content blocks yet." />
              {rows.map((block) => (
                <tr key={block.id} data-testid="block-row">
                  <td className="strong">{block.name}</td>
                  <td>
                    <span className="tag">{BLOCK_KINDS.find((k) => k.value === block.kind)?.label ?? block.kind}</span>
                  </td>
                  <td className="truncate template-snippet-cell muted">{block.body_text || stripTags(block.body_html) || "—"}</td>
                  <td className="nowrap">{formatDateTime(block.updated_at)}</td>
                  {canWrite && (
                    <td className="num nowrap">
                      <button type="button" className="btn btn-secondary btn-sm" onClick={() => {
                          setNotice(null);
                          setEditing(block);
                        }}>
                        Edit
                      </button>{" "}
                      <button
                        type="button"
                        className="btn btn-danger btn-sm"
                        disabled={remove.isPending}
                        onClick={() => {
                          if (window.confirm(`Delete the block “${block.name}”? Templates keep their copy.`)) {
                            if (editing !== null && editing !== "new" && editing.id === block.id) setEditing(null);
                            remove.mutate(block.id);
                          }
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}

function stripTags(html: string): string {
  return html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
}

function BlockForm({
  block,
  onCancel,
  onSaved,
}: {
  block: ContentBlock | null;
  onCancel: () => void;
  onSaved: (block: ContentBlock, created: boolean) => void;
}) {
  const brand = useBrand();
  const [name, setName] = useState(block?.name ?? "");
  const [kind, setKind] = useState<ContentBlockIn["kind"]>(block?.kind ?? "footer");
  const [html, setHtml] = useState(block?.body_html ?? "");
  const [text, setText] = useState(block?.body_text ?? "");
  const save = useSaveContentBlock();
  const error = save.error instanceof ApiError ? save.error : null;
  const bad = errorField(error?.field);
  const fieldError = (field: string) => (bad === field ? (error?.message ?? null) : null);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const bodyHtml = html.trim() === "<p></p>" ? "" : html;
    save.mutate(
      { id: block?.id ?? null, body: { name: name.trim(), kind, body_html: bodyHtml, body_text: text } },
      { onSuccess: (saved) => onSaved(saved, block === null) },
    );
  };

  return (
    <form className="card form" onSubmit={submit} aria-label={block ? `Edit ${block.name}` : "New content block"}>
      <div className="card-header">
        <h2>{block ? `Edit “${block.name}”` : "New content block"}</h2>
      </div>
      <div className="form-grid form-grid-2">
        <label className="field">
          <span className="field-label">Name</span>
          <input
            name="name"
            className={bad === "name" ? "input invalid" : "input"}
            value={name}
            maxLength={200}
            required
            autoFocus
            onChange={(event) => setName(event.target.value)}
          />
          {fieldError("name") && <p className="field-error">{fieldError("name")}</p>}
        </label>
        <label className="field">
          <span className="field-label">Kind</span>
          <select name="kind" className="input" value={kind} onChange={(event) => setKind(event.target.value as ContentBlockIn["kind"])}>
            <Options items={BLOCK_KINDS} />
          </select>
        </label>
      </div>
      <div className="field">
        <span className="field-label">HTML (emails)</span>
        <RichTextEditor
          label="Block HTML"
          value={html}
          onChange={setHtml}
          blocks={false}
          invalid={bad === "body_html"}
          colors={brand.data?.colors ?? []}
          fonts={brand.data?.fonts ?? []}
        >
          {fieldError("body_html") && <p className="field-error">{fieldError("body_html")}</p>}
        </RichTextEditor>
      </div>
      <TokenField
        id="block-body_text"
        name="body_text"
        label="Text (SMS, WhatsApp, social, plain-text emails)"
        value={text}
        onChange={setText}
        multiline
        rows={3}
        error={fieldError("body_text")}
      />
      {error && !["name", "body_html", "body_text"].includes(bad ?? "") && <ErrorAlert error={error} />}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={save.isPending || !name.trim()}>
          {block ? "Save block" : "Create block"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={save.isPending}>
          Cancel
        </button>
      </div>
    </form>
  );
}
