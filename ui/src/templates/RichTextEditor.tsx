import { useEffect, useRef, useState, type ReactNode } from "react";
import { EditorContent, useEditor, useEditorState, type Editor } from "@tiptap/react";
import StarterKit from "@tiptap/starter-kit";
import Image from "@tiptap/extension-image";
import TextAlign from "@tiptap/extension-text-align";
import { Color, FontFamily, TextStyle } from "@tiptap/extension-text-style";
import { MediaChooser } from "../media/MediaChooser";
import { BlockMenu, TokenMenu } from "./InsertMenus";
import { mediaImageSrc } from "./model";

export type RichTextEditorProps = {
  /** The editor's accessible name (the field's label). */
  label: string;
  id?: string;
  value: string;
  onChange: (html: string) => void;
  invalid?: boolean;
  readOnly?: boolean;
  /** Offer the token menu, the content-block menu, images from the media library. */
  tokens?: boolean;
  blocks?: boolean;
  images?: boolean;
  /** The brand's colours and fonts, offered first. */
  colors?: readonly string[];
  fonts?: readonly string[];
  /** Under the text: the field's error, hints. */
  children?: ReactNode;
};

const EXTENSIONS = [
  StarterKit.configure({
    code: false,
    codeBlock: false,
    // Tokens are fine in a link: `{{ unsubscribe_url }}` starts with a brace, which the link mark accepts.
    link: { openOnClick: false, autolink: true, defaultProtocol: "https" },
  }),
  Image.configure({ inline: false, allowBase64: false }),
  TextAlign.configure({ types: ["heading", "paragraph"] }),
  TextStyle,
  Color,
  FontFamily,
];

/**
 * The email body: TipTap (ProseMirror) with a toolbar for marks, headings, lists, alignment, links, colour and
 * font; images come from the media library and are stored as `<img src="/api/media/<id>/file/web">`.
 */
export function RichTextEditor({
  label,
  id,
  value,
  onChange,
  invalid = false,
  readOnly = false,
  tokens = true,
  blocks = true,
  images = true,
  colors = [],
  fonts = [],
  children,
}: RichTextEditorProps) {
  const changed = useRef(onChange);
  useEffect(() => {
    changed.current = onChange;
  });
  const editor = useEditor({
    extensions: EXTENSIONS,
    content: value,
    editable: !readOnly,
    immediatelyRender: true,
    shouldRerenderOnTransaction: false,
    editorProps: {
      attributes: {
        class: "rich-text-content",
        role: "textbox",
        "aria-multiline": "true",
        "aria-label": label,
        ...(id ? { id } : {}),
      },
    },
    onUpdate: ({ editor: updated }) => changed.current(updated.getHTML()),
  });

  // A value set from outside (a reload, a rollback, "Discard changes") replaces the document.
  // (StrictMode remounts: the first editor is destroyed and a new one takes its place.)
  useEffect(() => {
    if (editor.isDestroyed) return;
    if (editor.getHTML() !== value && !(value === "" && editor.isEmpty)) {
      editor.commands.setContent(value, { emitUpdate: false });
    }
  }, [editor, value]);

  useEffect(() => {
    // Without emitting "update": that would hand the parent the editor's normalised HTML as if someone typed.
    if (!editor.isDestroyed && editor.isEditable === readOnly) editor.setEditable(!readOnly, false);
  }, [editor, readOnly]);

  return (
    <div className={`rich-text ${invalid ? "invalid" : ""}`}>
      {!readOnly && <Toolbar editor={editor} tokens={tokens} blocks={blocks} images={images} colors={colors} fonts={fonts} />}
      <EditorContent editor={editor} />
      {children}
    </div>
  );
}

function Toolbar({
  editor,
  tokens,
  blocks,
  images,
  colors,
  fonts,
}: {
  editor: Editor;
  tokens: boolean;
  blocks: boolean;
  images: boolean;
  colors: readonly string[];
  fonts: readonly string[];
}) {
  const state = useEditorState({
    editor,
    selector: ({ editor: e }) => ({
      bold: e.isActive("bold"),
      italic: e.isActive("italic"),
      underline: e.isActive("underline"),
      strike: e.isActive("strike"),
      block: ([1, 2, 3] as const).find((level) => e.isActive("heading", { level })) ?? 0,
      bullet: e.isActive("bulletList"),
      ordered: e.isActive("orderedList"),
      align: (["center", "right"] as const).find((a) => e.isActive({ textAlign: a })) ?? "left",
      link: e.isActive("link"),
      href: (e.getAttributes("link").href as string | undefined) ?? "",
      color: (e.getAttributes("textStyle").color as string | undefined) ?? "",
      font: (e.getAttributes("textStyle").fontFamily as string | undefined) ?? "",
    }),
  });
  const [linkOpen, setLinkOpen] = useState(false);
  const [chooserOpen, setChooserOpen] = useState(false);
  const chain = () => editor.chain().focus();

  const mark = (name: string, text: string, active: boolean, run: () => void) => (
    <button
      type="button"
      className={`btn btn-ghost btn-sm tool ${active ? "active" : ""}`}
      aria-label={name}
      aria-pressed={active}
      title={name}
      onMouseDown={(event) => event.preventDefault()}
      onClick={run}
    >
      {text}
    </button>
  );

  const fontChoices = [...new Set([...fonts, ...(state.font && !fonts.includes(state.font) ? [state.font] : [])])];
  return (
    <div className="rich-text-toolbar" role="toolbar" aria-label="Formatting">
      <select
        className="input input-sm"
        aria-label="Text style"
        value={state.block}
        onChange={(event) => {
          const level = Number(event.target.value);
          if (level === 0) chain().setParagraph().run();
          else chain().setHeading({ level: level as 1 | 2 | 3 }).run();
        }}
      >
        <option value={0}>Paragraph</option>
        <option value={1}>Heading 1</option>
        <option value={2}>Heading 2</option>
        <option value={3}>Heading 3</option>
      </select>
      <span className="tool-group">
        {mark("Bold", "B", state.bold, () => chain().toggleBold().run())}
        {mark("Italic", "I", state.italic, () => chain().toggleItalic().run())}
        {mark("Underline", "U", state.underline, () => chain().toggleUnderline().run())}
        {mark("Strikethrough", "S", state.strike, () => chain().toggleStrike().run())}
      </span>
      <span className="tool-group">
        {mark("Bullet list", "•", state.bullet, () => chain().toggleBulletList().run())}
        {mark("Numbered list", "1.", state.ordered, () => chain().toggleOrderedList().run())}
      </span>
      <span className="tool-group">
        {mark("Align left", "⇤", state.align === "left", () => chain().setTextAlign("left").run())}
        {mark("Align center", "↔", state.align === "center", () => chain().setTextAlign("center").run())}
        {mark("Align right", "⇥", state.align === "right", () => chain().setTextAlign("right").run())}
      </span>
      <span className="tool-group">
        {mark("Link", "Link", state.link || linkOpen, () => setLinkOpen((open) => !open))}
        <label className="tool-color" title="Text colour">
          <span className="visually-hidden">Text colour</span>
          <input
            type="color"
            aria-label="Text colour"
            value={/^#[0-9a-f]{6}$/i.test(state.color) ? state.color : "#000000"}
            onChange={(event) => chain().setColor(event.target.value).run()}
          />
        </label>
        {colors.map((color) => (
          <button
            key={color}
            type="button"
            className="swatch"
            style={{ background: color }}
            aria-label={`Colour ${color}`}
            title={color}
            onMouseDown={(event) => event.preventDefault()}
            onClick={() => chain().setColor(color).run()}
          />
        ))}
        {state.color && mark("Remove colour", "×", false, () => chain().unsetColor().run())}
        {fontChoices.length > 0 && (
          <select
            className="input input-sm"
            aria-label="Font"
            value={state.font}
            onChange={(event) =>
              event.target.value ? chain().setFontFamily(event.target.value).run() : chain().unsetFontFamily().run()
            }
          >
            <option value="">Default font</option>
            {fontChoices.map((font) => (
              <option key={font} value={font}>
                {font}
              </option>
            ))}
          </select>
        )}
      </span>
      {images && (
        <button type="button" className="btn btn-ghost btn-sm" aria-haspopup="dialog" onClick={() => setChooserOpen(true)}>
          Image
        </button>
      )}
      {tokens && <TokenMenu onInsert={(text) => chain().insertContent({ type: "text", text }).run()} />}
      {blocks && <BlockMenu onInsert={(block) => chain().insertContent(block.body_html || escapeText(block.body_text)).run()} />}
      <span className="tool-group tool-end">
        {mark("Undo", "↶", false, () => chain().undo().run())}
        {mark("Redo", "↷", false, () => chain().redo().run())}
      </span>
      {linkOpen && (
        <LinkForm
          href={state.href}
          onApply={(href) => {
            if (href) chain().extendMarkRange("link").setLink({ href }).run();
            else chain().extendMarkRange("link").unsetLink().run();
            setLinkOpen(false);
          }}
          onCancel={() => setLinkOpen(false)}
        />
      )}
      <MediaChooser
        open={chooserOpen}
        kind="image"
        onClose={() => setChooserOpen(false)}
        onChoose={(asset) => chain().setImage({ src: mediaImageSrc(asset.id), alt: asset.alt_text || asset.title || "" }).run()}
      />
    </div>
  );
}

function escapeText(text: string): string {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML.replace(/\n/g, "<br>");
}

/** The address of the selected link: a URL, `mailto:`, or a token such as `{{ unsubscribe_url }}`. */
function LinkForm({ href, onApply, onCancel }: { href: string; onApply: (href: string) => void; onCancel: () => void }) {
  const [value, setValue] = useState(href);
  return (
    <div className="rich-text-link" role="group" aria-label="Link">
      <input
        className="input input-sm grow"
        aria-label="Link address"
        placeholder="https://example.com or {{ unsubscribe_url }}"
        value={value}
        autoFocus
        onChange={(event) => setValue(event.target.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter") {
            event.preventDefault();
            onApply(value.trim());
          } else if (event.key === "Escape") {
            event.preventDefault();
            onCancel();
          }
        }}
      />
      <button type="button" className="btn btn-secondary btn-sm" onClick={() => onApply(value.trim())}>
        Apply link
      </button>
      {href && (
        <button type="button" className="btn btn-ghost btn-sm" onClick={() => onApply("")}>
          Remove link
        </button>
      )}
      <button type="button" className="btn btn-ghost btn-sm" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}
