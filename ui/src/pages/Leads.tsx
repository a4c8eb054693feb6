import { useState } from "react";
import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { Pagination } from "../components/Pagination";
import { SearchBox } from "../components/SearchBox";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import { PAGE_SIZE, useLeads } from "../api/queries";
import { formatDate, formatNumber } from "../format";
import { useDebouncedValue } from "../useDebouncedValue";

export function Leads() {
  const [search, setSearch] = useState("");
  const [page, setPage] = useState({ offset: 0, search: "" });
  const debounced = useDebouncedValue(search.trim(), 300);
  // A new search starts again at the first page.
  const offset = page.search === debounced ? page.offset : 0;
  const leads = useLeads(offset, debounced);
  const rows = leads.data?.items ?? [];
  const total = leads.data?.total ?? 0;

  return (
    <>
      <PageHeader
        title="Leads"
        subtitle={leads.data ? `${formatNumber(total)} ${debounced ? "matching" : "in total"}` : undefined}
        actions={<SearchBox value={search} onChange={setSearch} placeholder="Search name, email, phone…" label="Search leads" />}
      />
      <ErrorAlert error={leads.error} />
      <div className={`card card-table ${leads.isPlaceholderData ? "is-stale" : ""}`}>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Phone</th>
                <th>Status</th>
                <th>Timezone</th>
                <th>Email consent</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              <TableState
                colSpan={7}
                loading={leads.isPending}
                empty={rows.length === 0}
                emptyText={debounced ? `No leads match “${debounced}”.` : "No leads yet."}
              />
              {rows.map((lead) => {
                const name = `${lead.first_name} ${lead.last_name}`.trim();
                return (
                  <tr key={lead.id} data-testid="lead-row">
                    <td className="strong nowrap">{name || <span className="muted">—</span>}</td>
                    <td>{lead.email ?? <span className="muted">—</span>}</td>
                    <td className="nowrap">{lead.phone ?? <span className="muted">—</span>}</td>
                    <td>
                      <StatusBadge status={lead.status} />
                    </td>
                    <td className="nowrap">{lead.timezone}</td>
                    <td>
                      <StatusBadge status={lead.consent_email} />
                    </td>
                    <td className="nowrap">{formatDate(lead.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {leads.data && (
          <Pagination
            offset={leads.data.offset}
            limit={PAGE_SIZE}
            count={rows.length}
            total={total}
            busy={leads.isFetching}
            onChange={(next) => setPage({ offset: next, search: debounced })}
          />
        )}
      </div>
    </>
  );
}
