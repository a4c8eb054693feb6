import { Link } from "react-router-dom";
import type { LeadInteraction } from "../api/client";
import { useLeadInteractions } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { formatDateTime } from "../format";
import { describeInteraction } from "./interactionText";

export function LeadInteractions({ leadId }: { leadId: number }) {
  const interactions = useLeadInteractions(leadId);
  return (
    <section className="card" aria-label="Interactions">
      <div className="card-header">
        <h2>Interactions</h2>
      </div>
      <ErrorAlert error={interactions.error} />
      {interactions.isPending && <p className="muted">Loading…</p>}
      {interactions.data && <InteractionList items={interactions.data} />}
    </section>
  );
}

export function InteractionList({ items }: { items: LeadInteraction[] }) {
  if (items.length === 0) return <p className="muted">No opens, clicks or conversions yet.</p>;
  return (
    <ol className="timeline">
      {items.map((item) => (
        <li key={item.id} className={`timeline-item timeline-${item.type}`} data-testid="interaction">
          <span className="timeline-dot" aria-hidden="true" />
          <div>
            <div className={`timeline-text${item.machine ? " muted" : ""}`}>{describeInteraction(item)}</div>
            <div className="timeline-meta muted">
              {formatDateTime(item.occurred_at)}
              {item.campaign_id !== null && (
                <>
                  {" · "}
                  <Link to={`/campaigns/${item.campaign_id}`}>campaign</Link>
                </>
              )}
              {item.type === "click" && item.url && (
                <>
                  {" · "}
                  <a href={item.url} target="_blank" rel="noopener noreferrer">
                    link
                  </a>
                </>
              )}
            </div>
          </div>
        </li>
      ))}
    </ol>
  );
}
