import { useState, type FormEvent } from "react";
import { useTemplateVersions } from "../templates/queries";
import { useNavigate } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type Campaign, type CampaignCreate } from "../api/client";
import { queryKeys, useCampaigns, useLists, useTemplates } from "../api/queries";
import { ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { ProgressBar } from "../components/ProgressBar";
import { StatusBadge } from "../components/StatusBadge";
import { TableState } from "../components/TableState";
import { formatDate, formatNumber, formatPercent } from "../format";
import { useCan } from "../session";

export function Campaigns() {
  const campaigns = useCampaigns({ poll: true });
  const canWrite = useCan("campaigns:write");
  const [formOpen, setFormOpen] = useState(false);
  const navigate = useNavigate();
  const rows = campaigns.data ?? [];

  return (
    <>
      <PageHeader
        title="Campaigns"
        subtitle="Each launch runs as a Temporal workflow."
        actions={
          canWrite &&
          !formOpen && (
            <button type="button" className="btn btn-primary" onClick={() => setFormOpen(true)}>
              New campaign
            </button>
          )
        }
      />
      {canWrite && formOpen && <NewCampaignForm onCancel={() => setFormOpen(false)} />}
      <ErrorAlert error={campaigns.error} />
      <div className="card card-table">
        <div className="table-wrap">
          <table className="table table-clickable">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>List</th>
                <th>Template</th>
                <th className="col-progress">Latest run</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              <TableState
                colSpan={6}
                loading={campaigns.isPending}
                empty={rows.length === 0}
                emptyText={canWrite ? "No campaigns yet. Create one with “New campaign”." : "No campaigns yet."}
              />
              {rows.map((campaign) => (
                <tr
                  key={campaign.id}
                  data-testid="campaign-row"
                  tabIndex={0}
                  onClick={() => navigate(`/campaigns/${campaign.id}`)}
                  onKeyDown={(event) => {
                    if (event.key === "Enter") navigate(`/campaigns/${campaign.id}`);
                  }}
                >
                  <td className="strong row-title">{campaign.name}</td>
                  <td>
                    <StatusBadge status={campaign.status} />
                  </td>
                  <td>{campaign.list_name ?? <span className="muted">All leads</span>}</td>
                  <td>{campaign.template_name}</td>
                  <td>
                    <LatestRun campaign={campaign} />
                  </td>
                  <td className="nowrap">{formatDate(campaign.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </>
  );
}

function LatestRun({ campaign }: { campaign: Campaign }) {
  const run = campaign.latest_run;
  if (!run) return <span className="muted">Not launched</span>;
  return (
    <div className="run-cell">
      <ProgressBar percent={run.percent} status={run.status} label={`Run ${run.number} progress`} />
      <span className="run-cell-text">
        {formatPercent(run.percent)}
        <span className="muted">
          {" "}
          · run {run.number} · {formatNumber(run.sent)} of {formatNumber(run.total)} sent
        </span>
      </span>
    </div>
  );
}

/** Name, template and audience; on success goes to the new campaign's page. */
function NewCampaignForm({ onCancel }: { onCancel: () => void }) {
  const templates = useTemplates();
  const lists = useLists();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [templateId, setTemplateId] = useState("");
  const [templateVersion, setTemplateVersion] = useState("");
  const versions = useTemplateVersions(templateId ? Number(templateId) : null);
  const [listId, setListId] = useState("");

  const create = useMutation({
    mutationFn: (body: CampaignCreate) => unwrap(api.POST("/api/campaigns", { body })),
    onSuccess: (campaign) => {
      queryClient.setQueryData(queryKeys.campaign(campaign.id), campaign);
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
      navigate(`/campaigns/${campaign.id}`);
    },
  });

  const error = create.error;
  const badField = error instanceof ApiError ? error.field : null;
  const fieldClass = (field: string) => (badField === field ? "input invalid" : "input");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({
      name: name.trim(),
      template_id: Number(templateId),
      template_version: templateVersion === "" ? null : Number(templateVersion),
      list_id: listId === "" ? null : Number(listId),
    });
  };

  const noTemplates = templates.isSuccess && templates.data.length === 0;

  return (
    <form className="card form" onSubmit={submit} aria-label="New campaign">
      <div className="card-header">
        <h2>New campaign</h2>
      </div>
      <div className="form-grid">
        <label className="field">
          <span className="field-label">Name</span>
          <input
            name="name"
            className={fieldClass("name")}
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="Spring newsletter"
            maxLength={200}
            required
            autoFocus
            aria-invalid={badField === "name"}
          />
        </label>
        <label className="field">
          <span className="field-label">Template</span>
          <select
            name="template_id"
            className={fieldClass("template_id")}
            value={templateId}
            onChange={(event) => {
              setTemplateId(event.target.value);
              setTemplateVersion("");
            }}
            required
            aria-invalid={badField === "template_id"}
          >
            <option value="" disabled>
              {templates.isPending ? "Loading…" : "Choose a template"}
            </option>
            {templates.data?.map((template) => (
              <option key={template.id} value={template.id}>
                {template.name}
              </option>
            ))}
          </select>
          {noTemplates && <span className="field-hint">No templates exist yet.</span>}
        </label>
        {templateId && (
          <label className="field">
            <span className="field-label">Template version</span>
            <select
              name="template_version"
              className={fieldClass("template_version")}
              value={templateVersion}
              onChange={(event) => setTemplateVersion(event.target.value)}
            >
              <option value="">Current{versions.data?.[0] ? ` (version ${versions.data[0].number})` : ""}</option>
              {(versions.data ?? []).map((v) => (
                <option key={v.number} value={v.number}>
                  Version {v.number}
                  {v.note ? ` · ${v.note}` : ""}
                </option>
              ))}
            </select>
            <span className="field-hint">Later edits of the template do not change what this campaign sends.</span>
          </label>
        )}
        <label className="field">
          <span className="field-label">Audience</span>
          <select
            name="list_id"
            className={fieldClass("list_id")}
            value={listId}
            onChange={(event) => setListId(event.target.value)}
            aria-invalid={badField === "list_id"}
          >
            <option value="">All leads</option>
            {lists.data?.map((list) => (
              <option key={list.id} value={list.id}>
                {list.name} ({formatNumber(list.member_count)})
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorAlert error={error ?? templates.error ?? lists.error} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          Create campaign
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel} disabled={create.isPending}>
          Discard
        </button>
      </div>
    </form>
  );
}
