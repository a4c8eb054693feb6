import { useEffect, useState, type ReactNode } from "react";
import { Icon } from "./Icon";

/** Put text on the clipboard; without the Clipboard API (plain http on another host) fall back to a selection. */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return undefined;
    const timer = window.setTimeout(() => setState("idle"), 2500);
    return () => window.clearTimeout(timer);
  }, [state]);
  return (
    <button
      type="button"
      className="btn btn-secondary btn-sm"
      onClick={() => void copyText(text).then((ok) => setState(ok ? "copied" : "failed"))}
    >
      <Icon name="copy" size={14} />
      <span aria-live="polite">{state === "copied" ? "Copied" : state === "failed" ? "Select and copy it" : label}</span>
    </button>
  );
}

type Props = {
  title: string;
  value: string;
  testId: string;
  children?: ReactNode;
  onDismiss: () => void;
};

/** A secret the server shows once (an API key, a temporary password): the value, a copy button, a warning. */
export function SecretCallout({ title, value, testId, children, onDismiss }: Props) {
  return (
    <div className="alert alert-warn secret-callout" role="status">
      <div className="alert-body">
        <strong>{title}</strong>
        {children && <div className="secret-note">{children}</div>}
        <div className="secret-row">
          <code className="secret-value" data-testid={testId}>
            {value}
          </code>
          <CopyButton text={value} />
        </div>
      </div>
      <button type="button" className="alert-dismiss" onClick={onDismiss} aria-label="Dismiss">
        <Icon name="close" size={16} />
      </button>
    </div>
  );
}
