import { useRef, type ReactNode } from "react";
import { BlockMenu, TokenMenu } from "./InsertMenus";
import { insertAt } from "./model";

type Props = {
  id: string;
  name: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  multiline?: boolean;
  rows?: number;
  maxLength?: number;
  placeholder?: string;
  required?: boolean;
  readOnly?: boolean;
  /** The save error pointing at this field. */
  error?: string | null;
  /** Also offer content blocks (their text part). */
  blocks?: boolean;
  /** Under the input: counters, hints. */
  children?: ReactNode;
};

/** A text input or textarea with a token menu that inserts `{{ token }}` at the caret (replacing a selection). */
export function TokenField({
  id,
  name,
  label,
  value,
  onChange,
  multiline = false,
  rows = 6,
  maxLength,
  placeholder,
  required,
  readOnly = false,
  error,
  blocks = false,
  children,
}: Props) {
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const insert = (text: string) => {
    const el = ref.current;
    const next = insertAt(value, el?.selectionStart ?? null, el?.selectionEnd ?? null, text);
    onChange(next.value);
    // Once React has written the new value, put the caret right after what was inserted.
    requestAnimationFrame(() => {
      if (!el) return;
      el.focus();
      el.setSelectionRange(next.caret, next.caret);
    });
  };
  const common = {
    id,
    name,
    value,
    maxLength,
    placeholder,
    required,
    readOnly,
    "aria-invalid": Boolean(error),
    "aria-describedby": error ? `${id}-error` : undefined,
    onChange: (event: { target: { value: string } }) => onChange(event.target.value),
  };
  return (
    <div className="field">
      <div className="field-head">
        <label className="field-label" htmlFor={id}>
          {label}
        </label>
        {!readOnly && (
          <div className="field-tools">
            {blocks && <BlockMenu onInsert={(block) => insert(block.body_text)} />}
            <TokenMenu label={`Insert token into ${label}`} onInsert={insert} />
          </div>
        )}
      </div>
      {multiline ? (
        <textarea ref={ref} className={`input textarea ${error ? "invalid" : ""}`} rows={rows} {...common} />
      ) : (
        <input ref={ref} className={`input ${error ? "invalid" : ""}`} {...common} />
      )}
      {error && (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      )}
      {children}
    </div>
  );
}
