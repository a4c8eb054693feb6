import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { TableState } from "../components/TableState";
import { useLists } from "../api/queries";
import { formatDate, formatNumber } from "../format";

export function Lists() {
  const lists = useLists();
  const rows = lists.data ?? [];
  return (
    <>
      <PageHeader title="Lists" subtitle="Audiences that campaigns send to. Editing arrives in a later release." />
      <ErrorAlert error={lists.error} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Description</th>
                <th className="num">Members</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={4} loading={lists.isPending} empty={rows.length === 0} emptyText="No lists yet." />
              {rows.map((list) => (
                <tr key={list.id} data-testid="list-row">
                  <td className="strong">{list.name}</td>
                  <td className="muted">{list.description || "—"}</td>
                  <td className="num">{formatNumber(list.member_count)}</td>
                  <td className="nowrap">{formatDate(list.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}
