import { useCallback, useMemo, useRef, useState } from "react";
import { Link, useLocation, useNavigate, useParams, useSearchParams } from "react-router-dom";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ApiError } from "../api/client";
import { queryKeys } from "../api/queries";
import { can } from "../auth";
import { Alert, ErrorAlert } from "../components/Alert";
import { PageHeader } from "../components/PageHeader";
import { StatusBadge } from "../components/StatusBadge";
import { FlowEditor } from "../campaigns/FlowEditor";
import { flowChannels, localProblems, normalizeFieldPath, type Flow, type Problem } from "../campaigns/flow";
import { EDITABLE, problemsOfError } from "../campaigns/model";
import { campaignApi, useCampaignRecord, useValidation } from "../campaigns/queries";
import { ReviewStep } from "../campaigns/ReviewStep";
import { scheduleProblems, workspaceTimeZone, type Schedule } from "../campaigns/schedule";
import {
  WIZARD_STEPS,
  blockingProblem,
  draftFromCampaign,
  firstValidationMessage,
  draftToBody,
  emptyDraft,
  wizardStepOfField,
  type CampaignBody,
  type CampaignDraft,
  type WizardStep,
} from "../campaigns/wizard";
import { AudienceStep, BasicsStep, ScheduleStep } from "../campaigns/WizardSteps";
import { useDebouncedValue } from "../useDebouncedValue";
import { useSession } from "../session";
import { NotFound } from "./NotFound";

export const VALIDATE_DEBOUNCE_MS = 600;

/** `/campaigns/new` */
export function NewCampaignPage() {
  const me = useSession();
  if (!can(me, "campaigns:write")) {
    return (
      <>
        <PageHeader title="New campaign" />
        <Alert tone="info">
          Creating campaigns needs the <code>campaigns:write</code> permission.
        </Alert>
      </>
    );
  }
  return <Wizard initial={emptyDraft(me.user?.id ?? null)} campaignId={null} status="draft" />;
}

/** `/campaigns/:id/edit` */
export function EditCampaignPage() {
  const { id } = useParams();
  const campaignId = Number(id);
  if (!Number.isInteger(campaignId) || campaignId <= 0) return <NotFound />;
  return <EditCampaign key={campaignId} campaignId={campaignId} />;
}

function EditCampaign({ campaignId }: { campaignId: number }) {
  const me = useSession();
  const record = useCampaignRecord(campaignId);
  if (record.error instanceof ApiError && record.error.status === 404) return <NotFound />;
  if (!record.data) {
    return (
      <>
        <BackLink to="/campaigns" />
        <ErrorAlert error={record.error} />
        {!record.error && <p className="muted">Loading…</p>}
      </>
    );
  }
  const status = typeof record.data.status === "string" ? record.data.status : "draft";
  if (!can(me, "campaigns:write") || !EDITABLE.has(status)) {
    return (
      <>
        <BackLink to={`/campaigns/${campaignId}`} />
        <PageHeader title={String(record.data.name ?? "Campaign")} />
        <Alert tone="info">
          {can(me, "campaigns:write")
            ? `A ${status} campaign cannot be edited; only drafts, scheduled and rejected campaigns can.`
            : "Editing campaigns needs the campaigns:write permission."}
        </Alert>
      </>
    );
  }
  return <Wizard initial={draftFromCampaign(record.data)} campaignId={campaignId} status={status} />;
}

function BackLink({ to }: { to: string }) {
  return (
    <Link to={to} className="back-link">
      ← Back
    </Link>
  );
}

function isStep(value: string | null): value is WizardStep {
  return WIZARD_STEPS.some((s) => s.key === value);
}

/** The workspace's timezone (the browser's if the runtime does not know it). */
function useWorkspaceTimeZone(): string {
  const me = useSession();
  return workspaceTimeZone(me.workspace.timezone);
}

function Wizard({ initial, campaignId: initialId, status }: { initial: CampaignDraft; campaignId: number | null; status: string }) {
  const me = useSession();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const timeZone = useWorkspaceTimeZone();
  const [params, setParams] = useSearchParams();
  const stepParam = params.get("step");
  const step: WizardStep = isStep(stepParam) ? stepParam : "basics";
  const [draft, setDraft] = useState<CampaignDraft>(initial);
  const [campaignId, setCampaignId] = useState<number | null>(initialId);
  const [saveError, setSaveError] = useState<unknown>(null);
  const location = useLocation();
  const [notice, setNotice] = useState<string | null>((location.state as { notice?: string } | null)?.notice ?? null);
  const [attempted, setAttempted] = useState<string | null>(null);
  const savedBody = useRef<string | null>(initialId === null ? null : JSON.stringify(draftToBody(initial)));

  const body = useMemo(() => draftToBody(draft), [draft]);
  const bodyJson = JSON.stringify(body);
  const dirty = savedBody.current !== bodyJson;

  const goTo = useCallback(
    (next: WizardStep) => {
      setAttempted(null);
      setParams(
        (old) => {
          const copy = new URLSearchParams(old);
          copy.set("step", next);
          return copy;
        },
        { replace: false },
      );
      window.scrollTo?.(0, 0);
    },
    [setParams],
  );

  const change = useCallback((patch: Partial<CampaignDraft>) => {
    setNotice(null);
    setDraft((old) => ({ ...old, ...patch }));
  }, []);
  const setFlow = useCallback((flow: Flow) => change({ flow }), [change]);
  const setSchedule = useCallback((schedule: Schedule) => change({ schedule }), [change]);

  // Problems of the flow and schedule from the API, 600 ms after the last change (flow, schedule and review pages).
  const wantsValidation = step === "flow" || step === "schedule" || step === "review";
  const validateKey = useDebouncedValue(wantsValidation ? bodyJson : "", VALIDATE_DEBOUNCE_MS);
  const validation = useValidation(validateKey ? (JSON.parse(validateKey) as CampaignBody) : null);
  const checking = validation.isFetching || (wantsValidation && validateKey !== bodyJson);

  const saveErrorField = saveError instanceof ApiError ? saveError.field : null;
  const problems: Problem[] = useMemo(() => {
    const fromApi = validation.data?.problems ?? [];
    const fromError: Problem[] = [];
    for (const error of [validation.error, saveError]) {
      if (!(error instanceof ApiError)) continue;
      const listed = problemsOfError(error.body);
      fromError.push(...listed);
      if (listed.length === 0 && error.field?.startsWith("flow")) {
        fromError.push({ message: firstValidationMessage(error.message), field: error.field });
      }
    }
    // The wizard's own checks read better than a request-validation message about the same field.
    const local = localProblems(draft.flow);
    const localFields = new Set(local.map((p) => p.field ?? ""));
    const api = [...fromApi, ...fromError].filter((p) => !localFields.has(normalizeFieldPath(p.field ?? p.path ?? "")));
    return [...local, ...api];
  }, [validation.data, validation.error, saveError, draft.flow]);
  const schedProblems = useMemo(() => scheduleProblems(draft.schedule), [draft.schedule]);

  /**
   * Save (POST the first time, PUT afterwards) and give the id. A first save moves to /campaigns/:id/edit, where
   * the wizard starts again from the saved campaign, on page `then` (default: this one).
   */
  const persist = async (then: WizardStep = step, notice: string | null = null): Promise<number> => {
    if (campaignId !== null && !dirty) return campaignId;
    setSaveError(null);
    try {
      const saved = campaignId === null ? await campaignApi.create(body) : await campaignApi.update(campaignId, body);
      savedBody.current = bodyJson;
      queryClient.setQueryData(queryKeys.campaign(saved.id), saved);
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
      if (campaignId === null) {
        setCampaignId(saved.id);
        navigate(`/campaigns/${saved.id}/edit?step=${then}`, { replace: true, state: { notice } });
      } else {
        if (notice) setNotice(notice);
        if (then !== step) goTo(then);
      }
      return saved.id;
    } catch (error) {
      setSaveError(error);
      const where = error instanceof ApiError ? wizardStepOfField(error.field) : null;
      if (where && where !== step) goTo(where);
      throw error;
    }
  };

  const save = useMutation({
    mutationFn: ({ then, notice }: { then?: WizardStep; notice?: string }) => persist(then, notice ?? null),
  });

  const approvalNeeded = me.workspace.requires_approval && !can(me, "campaigns:approve");
  const launch = useMutation({
    mutationFn: async () => {
      const id = await persist();
      await campaignApi.launch(id);
      return id;
    },
    onSuccess: (id) => {
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaign(id) });
      void queryClient.invalidateQueries({ queryKey: queryKeys.campaigns });
      navigate(`/campaigns/${id}`);
    },
  });

  const index = WIZARD_STEPS.findIndex((s) => s.key === step);
  const blocking = blockingProblem(step, draft);
  const flowErrors = problems.filter((p) => p.severity !== "warning").length;
  const scheduleBlocking = step === "schedule" && schedProblems.length > 0;
  const mayLaunch = can(me, "campaigns:launch");

  const next = () => {
    if (blocking || scheduleBlocking) {
      setAttempted(blocking ?? schedProblems[0]?.message ?? null);
      return;
    }
    const target = WIZARD_STEPS[index + 1]?.key;
    if (!target) return;
    if (target === "review") toReview();
    else goTo(target);
  };

  // Dry run and test send work on the saved campaign: it is saved on the way to the review.
  const toReview = () => {
    for (const page of ["basics", "flow"] as const) {
      const problem = blockingProblem(page, draft);
      if (problem) {
        goTo(page);
        setAttempted(problem);
        return;
      }
    }
    save.mutate({ then: "review" });
  };

  const title = campaignId === null ? "New campaign" : `Edit “${draft.name || "campaign"}”`;

  return (
    <>
      <BackLink to={campaignId === null ? "/campaigns" : `/campaigns/${campaignId}`} />
      <div className="page-header">
        <div>
          <div className="title-row">
            <h1>{title}</h1>
            {campaignId !== null && <StatusBadge status={status} />}
          </div>
          <p className="page-subtitle">
            {campaignId === null ? "Not saved yet." : dirty ? "Unsaved changes." : "Saved."} Times are in {timeZone}.
          </p>
        </div>
        <div className="page-actions">
          <button type="button" className="btn btn-secondary" disabled={save.isPending || launch.isPending} onClick={() => save.mutate({ notice: "Saved as a draft." })}>
            {save.isPending ? "Saving…" : "Save draft"}
          </button>
        </div>
      </div>

      <ol className="steps wizard-steps" aria-label="Campaign steps">
        {WIZARD_STEPS.map((s, i) => {
          const state = i === index ? "current" : i < index ? "done" : "todo";
          return (
            <li key={s.key} className={`step step-${state}`} aria-current={i === index ? "step" : undefined}>
              <button type="button" className="step-button" onClick={() => (s.key === "review" ? toReview() : goTo(s.key))}>
                <span className="step-number">{i + 1}</span>
                {s.label}
              </button>
            </li>
          );
        })}
      </ol>

      {notice && (
        <Alert tone="success" onDismiss={() => setNotice(null)}>
          {notice}
        </Alert>
      )}
      <ErrorAlert error={saveError} onDismiss={() => setSaveError(null)} />

      {step === "basics" && <BasicsStep draft={draft} change={change} badField={saveErrorField} />}
      {step === "audience" && (
        <AudienceStep draft={draft} change={change} badField={saveErrorField} channels={flowChannels(draft.flow)} />
      )}
      {step === "flow" && (
        <section className={`card ${checking ? "is-stale-soft" : ""}`} aria-label="Flow editor">
          <div className="card-header">
            <h2>
              Flow{" "}
              <span className="muted small" data-testid="flow-problem-count">
                {flowErrors} error{flowErrors === 1 ? "" : "s"}
              </span>
            </h2>
            {checking && <span className="muted small">Checking…</span>}
          </div>
          <FlowEditor flow={draft.flow} onChange={setFlow} problems={problems} statuses={me.workspace.lead_statuses ?? []} />
        </section>
      )}
      {step === "schedule" && (
        <ScheduleStep
          schedule={draft.schedule}
          onChange={setSchedule}
          timeZone={timeZone}
          problems={schedProblems}
          badField={saveErrorField}
        />
      )}
      {step === "review" && (
        <ReviewStep
          draft={draft}
          problems={problems}
          estimate={validation.data?.estimate ?? null}
          checking={checking}
          validationError={validation.error && problems.length === 0 ? validation.error : null}
          timeZone={timeZone}
          ensureSaved={() => persist()}
          onGoToFlow={() => goTo("flow")}
        />
      )}

      <div className="wizard-footer">
        {index > 0 && (
          <button type="button" className="btn btn-ghost" onClick={() => goTo(WIZARD_STEPS[index - 1]!.key)}>
            ← Back
          </button>
        )}
        <span className="flex-spacer" />
        {attempted && <span className="field-error wizard-blocking">{attempted}</span>}
        {step !== "review" && (
          <button type="button" className="btn btn-primary" onClick={next} disabled={save.isPending}>
            Next →
          </button>
        )}
        {step === "review" && mayLaunch && (
          <>
            <ErrorAlert error={launch.error} />
            <button
              type="button"
              className="btn btn-primary"
              disabled={launch.isPending || flowErrors > 0 || checking}
              title={flowErrors > 0 ? "Fix the errors first" : undefined}
              onClick={() => launch.mutate()}
            >
              {launch.isPending ? "Launching…" : approvalNeeded ? "Submit for approval" : draft.schedule.mode === "now" ? "Launch" : "Schedule"}
            </button>
          </>
        )}
      </div>
    </>
  );
}
