import type { ReactNode } from "react";
import { errorMessage } from "../api/client";
import { Icon } from "./Icon";

type Props = { tone?: "error" | "info" | "success"; children: ReactNode; onDismiss?: () => void };

export function Alert({ tone = "error", children, onDismiss }: Props) {
  return (
    <div className={`alert alert-${tone}`} role={tone === "error" ? "alert" : "status"}>
      <div className="alert-body">{children}</div>
      {onDismiss && (
        <button type="button" className="alert-dismiss" onClick={onDismiss} aria-label="Dismiss">
          <Icon name="close" size={16} />
        </button>
      )}
    </div>
  );
}

/** The message of a failed request, in an error box. */
export function ErrorAlert({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <Alert tone="error" onDismiss={onDismiss}>
      {errorMessage(error)}
    </Alert>
  );
}
