import { useEffect, useRef, useState, type ReactNode } from "react";

type Props = {
  /** The button's text (also its accessible name unless `label` says otherwise). */
  text: ReactNode;
  label?: string;
  className?: string;
  /** The panel's accessible name. */
  panelLabel: string;
  disabled?: boolean;
  align?: "left" | "right";
  /** The panel's content; `close` shuts it (after a pick). */
  children: (close: () => void) => ReactNode;
};

/** A button opening a floating panel, closed by a click elsewhere or Escape (like the leads' column chooser). */
export function Dropdown({ text, label, className = "btn btn-secondary btn-sm", panelLabel, disabled, align = "right", children }: Props) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return undefined;
    const close = (event: MouseEvent) => {
      if (ref.current && !ref.current.contains(event.target as Node)) setOpen(false);
    };
    const escape = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(false);
    };
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", escape);
    };
  }, [open]);
  return (
    <div className="menu" ref={ref}>
      <button
        type="button"
        className={className}
        aria-expanded={open}
        aria-haspopup="true"
        aria-label={label}
        disabled={disabled}
        onClick={() => setOpen((o) => !o)}
      >
        {text}
      </button>
      {open && (
        <div className={`menu-panel ${align === "left" ? "menu-panel-left" : ""}`} role="group" aria-label={panelLabel}>
          {children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}
