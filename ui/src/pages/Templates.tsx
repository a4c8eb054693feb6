import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { TableState } from "../components/TableState";
import { useTemplates } from "../api/queries";
import { formatDate } from "../format";

export function Templates() {
  const templates = useTemplates();
  const rows = templates.data ?? [];
  return (
    <>
      <PageHeader title="Templates" subtitle="The messages campaigns send. Editing arrives in a later release." />
      <ErrorAlert error={templates.error} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Subject</th>
                <th>Channel</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              <TableState
                colSpan={4}
                loading={templates.isPending}
                empty={rows.length === 0}
                emptyText="No templates yet."
              />
              {rows.map((template) => (
                <tr key={template.id} data-testid="template-row">
                  <td className="strong">{template.name}</td>
                  <td>{template.subject}</td>
                  <td>
                    <span className="tag">{template.channel}</span>
                  </td>
                  <td className="nowrap">{formatDate(template.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}
