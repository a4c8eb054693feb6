import { useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { SearchBox } from "../components/SearchBox";
import { TableState } from "../components/TableState";
import { PAGE_SIZE, useConfig, useOutbox, useOutboxMessage } from "../api/queries";
import { formatDateTime, formatNumber } from "../format";
import { useDebouncedValue } from "../useDebouncedValue";

export function Outbox() {
  const [params, setParams] = useSearchParams();
  const selected = Number(params.get("message")) || null;
  const [search, setSearch] = useState("");
  const [page, setPage] = useState({ offset: 0, search: "" });
  const debounced = useDebouncedValue(search.trim(), 300);
  const offset = page.search === debounced ? page.offset : 0;
  const outbox = useOutbox(offset, debounced);
  const config = useConfig();
  const queryClient = useQueryClient();
  const rows = outbox.data?.items ?? [];
  const total = outbox.data?.total ?? 0;

  const select = (id: number | null) => {
    const next = new URLSearchParams(params);
    if (id === null) next.delete("message");
    else next.set("message", String(id));
    setParams(next);
  };

  const sinkNote =
    config.data && !config.data.smtp_sink
      ? "Mail is delivered to a real SMTP server; only what the sink captured is shown."
      : "Every message the campaigns sent, as captured by the SMTP sink.";

  return (
    <>
      <PageHeader
        title="Outbox"
        subtitle={outbox.data ? `${formatNumber(total)} ${debounced ? "matching" : "captured"} · ${sinkNote}` : sinkNote}
        actions={
          <>
            <SearchBox value={search} onChange={setSearch} placeholder="Search recipient, subject…" label="Search outbox" />
            <button
              type="button"
              className="btn btn-secondary"
              disabled={outbox.isFetching}
              onClick={() => queryClient.invalidateQueries({ queryKey: ["outbox"] })}
            >
              Refresh
            </button>
          </>
        }
      />
      <ErrorAlert error={outbox.error} />
      <div className={`outbox-layout ${selected ? "has-selection" : ""}`}>
        <div className={`card card-table ${outbox.isPlaceholderData ? "is-stale" : ""}`}>
          <div className="table-wrap">
            <table className="table table-clickable table-fixed">
              <thead>
                <tr>
                  <th className="col-received">Received</th>
                  <th className="col-to">To</th>
                  <th>Subject</th>
                </tr>
              </thead>
              <tbody>
                <TableState
                  colSpan={3}
                  loading={outbox.isPending}
                  empty={rows.length === 0}
                  emptyText={debounced ? `No messages match “${debounced}”.` : "No mail captured yet."}
                />
                {rows.map((message) => (
                  <tr
                    key={message.id}
                    data-testid="outbox-row"
                    className={message.id === selected ? "selected" : undefined}
                    tabIndex={0}
                    aria-selected={message.id === selected}
                    onClick={() => select(message.id)}
                    onKeyDown={(event) => {
                      if (event.key === "Enter" || event.key === " ") {
                        event.preventDefault();
                        select(message.id);
                      }
                    }}
                  >
                    <td className="nowrap">{formatDateTime(message.received_at)}</td>
                    <td className="truncate">{message.rcpt_to.join(", ")}</td>
                    <td className="truncate strong">{message.subject || <span className="muted">(no subject)</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {outbox.data && (
            <Pagination
              offset={outbox.data.offset}
              limit={PAGE_SIZE}
              count={rows.length}
              total={total}
              busy={outbox.isFetching}
              onChange={(next) => setPage({ offset: next, search: debounced })}
            />
          )}
        </div>
        {selected !== null && <MessageView id={selected} onClose={() => select(null)} />}
      </div>
    </>
  );
}

function MessageView({ id, onClose }: { id: number; onClose: () => void }) {
  const message = useOutboxMessage(id);
  const data = message.data;
  const ref = useRef<HTMLElement>(null);
  // Bring the message into view when another one is picked (matters when it sits above the list).
  useEffect(() => {
    const el = ref.current;
    if (el && el.getBoundingClientRect().top < 0) el.scrollIntoView({ block: "start", behavior: "smooth" });
  }, [id]);
  return (
    <section ref={ref} className="card message-view" aria-label="Message" data-testid="outbox-message">
      <div className="card-header">
        <h2>{data ? data.subject || "(no subject)" : "Message"}</h2>
        <button type="button" className="btn btn-ghost btn-sm" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorAlert error={message.error} />
      {message.isPending && <p className="muted">Loading…</p>}
      {data && (
        <>
          <dl className="headers">
            <dt>From</dt>
            <dd>{data.mail_from}</dd>
            <dt>To</dt>
            <dd>{data.rcpt_to.join(", ")}</dd>
            <dt>Subject</dt>
            <dd>{data.subject}</dd>
            <dt>Message-ID</dt>
            <dd className="mono">{data.message_id}</dd>
            <dt>Received</dt>
            <dd>{formatDateTime(data.received_at)}</dd>
          </dl>
          <h3 className="section-title">HTML body</h3>
          {data.body_html ? (
            <iframe className="mail-frame" title="HTML body" sandbox="" srcDoc={data.body_html} />
          ) : (
            <p className="muted">This message has no HTML part.</p>
          )}
          <h3 className="section-title">Text body</h3>
          {data.body_text ? (
            <pre className="mail-text">{data.body_text}</pre>
          ) : (
            <p className="muted">This message has no text part.</p>
          )}
        </>
      )}
    </section>
  );
}
