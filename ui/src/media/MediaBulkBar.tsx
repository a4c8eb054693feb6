import { useId, useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { MediaBulkAction, MediaBulkRequest, MediaBulkResult } from "../api/client";
import { Alert, ErrorAlert } from "../components/Alert";
import { formatNumber } from "../format";
import { BULK_ACTIONS, bulkResultText, normalizeFolder, selectionIds, tagProblem, usedByLink } from "./model";
import { useBulkMedia, useMediaFolders, useMediaTags } from "./queries";
import { Options } from "../components/Options";

type Props = {
  selected: ReadonlySet<number>;
  /** Filenames of the assets seen so far, to name refused ones. */
  names: ReadonlyMap<number, string>;
  canForce: boolean;
  onClear: () => void;
  /** After a delete: the ids that are gone. */
  onDeleted: (ids: number[]) => void;
};

type Outcome = { action: MediaBulkAction; value: string; result: MediaBulkResult };

/** Add or remove a tag, move to a folder or delete the selected assets; refusals listed with their users. */
export function MediaBulkBar({ selected, names, canForce, onClear, onDeleted }: Props) {
  const ids = useId();
  const [action, setAction] = useState<MediaBulkAction>("tag");
  const [value, setValue] = useState("");
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const bulk = useBulkMedia();
  const tags = useMediaTags();
  const folders = useMediaFolders();
  const count = selected.size;
  const needsTag = action === "tag" || action === "untag";
  const problem = needsTag ? (value.trim() ? tagProblem(value) : "Type a tag.") : null;

  const run = (body: MediaBulkRequest) => {
    const shown = body.action === "move" ? (body.folder ?? "") : (body.tag ?? "");
    bulk.mutate(body, {
      onSuccess: (result) => {
        setOutcome({ action: body.action, value: shown, result });
        if (body.action === "delete") {
          const refused = new Set((result.refused ?? []).map((r) => r.id));
          onDeleted(body.ids.filter((id) => !refused.has(id)));
        }
      },
    });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (problem || count === 0) return;
    const idList = selectionIds(selected);
    if (action === "delete") {
      if (!window.confirm(`Delete ${formatNumber(count)} asset${count === 1 ? "" : "s"}? Assets in use are kept.`)) return;
      run({ ids: idList, action, force: false });
    } else if (action === "move") {
      run({ ids: idList, action, folder: normalizeFolder(value), force: false });
    } else {
      run({ ids: idList, action, tag: value.trim(), force: false });
    }
  };

  const refusedInUse = (outcome?.result.refused ?? []).filter((r) => r.reason === "in use");

  const forceDelete = () => {
    const idList = refusedInUse.map((r) => r.id);
    if (idList.length === 0) return;
    if (!window.confirm(`Delete ${formatNumber(idList.length)} asset${idList.length === 1 ? "" : "s"} although templates or campaigns use them?`)) return;
    run({ ids: idList, action: "delete", force: true });
  };

  return (
    <>
      {count > 0 && (
        <form className="card bulk-bar" onSubmit={submit} aria-label="Bulk actions" data-testid="media-bulk-bar">
          <span className="strong" data-testid="selected-count">
            {formatNumber(count)} selected
          </span>
          <select
            name="action"
            className="input input-sm"
            aria-label="Action"
            value={action}
            onChange={(event) => {
              setAction(event.target.value as MediaBulkAction);
              setValue("");
            }}
          >
            <Options items={BULK_ACTIONS} />
          </select>
          {action !== "delete" && (
            <>
              <input
                name="value"
                className="input input-sm bulk-value"
                aria-label="Value"
                placeholder={needsTag ? "tag" : "folder, e.g. brand/logos (empty: none)"}
                list={`${ids}-${needsTag ? "tags" : "folders"}`}
                value={value}
                onChange={(event) => setValue(event.target.value)}
              />
              <datalist id={`${ids}-tags`}>
                {(tags.data ?? []).map((t) => (
                  <option key={t.name} value={t.name} />
                ))}
              </datalist>
              <datalist id={`${ids}-folders`}>
                {(folders.data ?? [])
                  .filter((f) => f.name)
                  .map((f) => (
                    <option key={f.name} value={f.name} />
                  ))}
              </datalist>
            </>
          )}
          <button
            type="submit"
            className={`btn btn-sm ${action === "delete" ? "btn-danger" : "btn-primary"}`}
            disabled={bulk.isPending || Boolean(problem)}
          >
            {bulk.isPending ? "Working…" : "Apply"}
          </button>
          <button type="button" className="btn btn-ghost btn-sm" onClick={onClear}>
            Clear selection
          </button>
        </form>
      )}
      <ErrorAlert error={bulk.error} onDismiss={() => bulk.reset()} />
      {outcome && (
        <Alert tone={outcome.result.refused?.length ? "info" : "success"} onDismiss={() => setOutcome(null)}>
          <p className="bulk-outcome" data-testid="bulk-result">
            {bulkResultText(outcome.action, outcome.result, outcome.value)}
          </p>
          {(outcome.result.refused?.length ?? 0) > 0 && (
            <ul className="media-refused" data-testid="bulk-refused">
              {(outcome.result.refused ?? []).map((r) => (
                <li key={r.id}>
                  <strong>{names.get(r.id) ?? `Asset #${r.id}`}</strong>: {r.reason}
                  {(r.used_by ?? []).length > 0 && (
                    <>
                      {" by "}
                      {(r.used_by ?? []).map((user, index) => {
                        const link = usedByLink(user);
                        return (
                          <span key={`${user.type}-${user.id}`}>
                            {index > 0 && ", "}
                            {user.type} {link ? <Link to={link}>{user.name}</Link> : `“${user.name}”`}
                          </span>
                        );
                      })}
                    </>
                  )}
                </li>
              ))}
            </ul>
          )}
          {canForce && refusedInUse.length > 0 && (
            <button type="button" className="btn btn-danger btn-sm" disabled={bulk.isPending} onClick={forceDelete}>
              Delete anyway
            </button>
          )}
        </Alert>
      )}
    </>
  );
}
