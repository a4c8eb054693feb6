import { Link, useNavigate } from "react-router-dom";
import { ErrorAlert } from "../components/Alert";
import { KindBadge } from "../components/KindBadge";
import { PageHeader } from "../components/PageHeader";
import { TableState } from "../components/TableState";
import { useLists } from "../api/queries";
import { formatDate, formatNumber } from "../format";
import { useCan } from "../session";

export function Lists() {
  const lists = useLists();
  const canWrite = useCan("lists:write");
  const navigate = useNavigate();
  const rows = lists.data ?? [];
  return (
    <>
      <PageHeader
        title="Lists"
        subtitle="Audiences that campaigns send to: hand-picked (static), a filter (dynamic), or both (hybrid)."
        actions={
          canWrite && (
            <button type="button" className="btn btn-primary" onClick={() => navigate("/lists/new")}>
              New list
            </button>
          )
        }
      />
      <ErrorAlert error={lists.error} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table table-clickable">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Description</th>
                <th className="num">Members</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              <TableState colSpan={5} loading={lists.isPending} empty={rows.length === 0} emptyText="No lists yet." />
              {rows.map((list) => (
                <tr key={list.id} data-testid="list-row" onClick={() => navigate(`/lists/${list.id}`)}>
                  <td className="strong">
                    <Link to={`/lists/${list.id}`} onClick={(event) => event.stopPropagation()}>
                      {list.name}
                    </Link>
                  </td>
                  <td>
                    <KindBadge kind={list.kind} />
                  </td>
                  <td className="muted truncate">{list.description || "—"}</td>
                  <td className="num" data-testid="list-members">
                    {formatNumber(list.member_count)}
                  </td>
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
