import { Suspense, lazy, type ReactNode } from "react";
import { Route, Routes } from "react-router-dom";
import { Layout } from "./components/Layout";
import { Account } from "./pages/Account";
import { Analytics } from "./pages/Analytics";
import { ApiKeys } from "./pages/ApiKeys";
import { Audit } from "./pages/Audit";
import { Automations, NewAutomationPage } from "./pages/Automations";
import { CampaignDetailPage } from "./pages/CampaignDetail";
import { Campaigns } from "./pages/Campaigns";
import { Dashboard } from "./pages/Dashboard";
import { CustomFields } from "./pages/CustomFields";
import { LeadProfilePage } from "./pages/LeadProfile";
import { Leads } from "./pages/Leads";
import { ListPage, NewListPage } from "./pages/ListEditor";
import { Lists } from "./pages/Lists";
import { Login } from "./pages/Login";
import { Members } from "./pages/Members";
import { NotFound } from "./pages/NotFound";
import { Outbox } from "./pages/Outbox";
import { Reports } from "./pages/Reports";
import { Secrets } from "./pages/Secrets";
import { Settings } from "./pages/Settings";
import { Templates } from "./pages/Templates";
import { RequireAuth, RequirePermission } from "./session";

// The import wizard (and react-dropzone) loads with the first visit to /imports, not with the app.
const ImportsPage = lazy(() => import("./pages/Imports").then((module) => ({ default: module.ImportsPage })));

function Imports() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <ImportsPage />
    </Suspense>
  );
}

// The media library (react-dropzone too) loads with the first visit to /media.
const MediaLibrary = lazy(() => import("./pages/Media").then((module) => ({ default: module.MediaPage })));

// The template editor and content blocks bring TipTap (ProseMirror) and jsdiff: loaded with their first visit.
const TemplateEditorPages = () => import("./pages/TemplateEditor");
const NewTemplateLazy = lazy(() => TemplateEditorPages().then((module) => ({ default: module.NewTemplatePage })));
const TemplateLazy = lazy(() => TemplateEditorPages().then((module) => ({ default: module.TemplatePage })));
// The brand page offers the media chooser (and so react-dropzone).
const BrandGuidelinesLazy = lazy(() => import("./pages/BrandGuidelines").then((module) => ({ default: module.BrandGuidelinesPage })));
const ContentBlocksLazy = lazy(() => import("./pages/ContentBlocks").then((module) => ({ default: module.ContentBlocksPage })));

// The campaign wizard (flow editor, filter builder) and the calendar (react-big-calendar, date-fns) load with their
// first visit.
const CampaignWizardPages = () => import("./pages/CampaignWizard");
const NewCampaignLazy = lazy(() => CampaignWizardPages().then((module) => ({ default: module.NewCampaignPage })));
const EditCampaignLazy = lazy(() => CampaignWizardPages().then((module) => ({ default: module.EditCampaignPage })));
const CampaignCalendarLazy = lazy(() => import("./pages/CampaignCalendar").then((module) => ({ default: module.CampaignCalendarPage })));
// The automation builder brings xyflow and dagre: loaded with its first visit.
const AutomationEditorLazy = lazy(() => import("./pages/AutomationBuilder").then((module) => ({ default: module.AutomationEditorPage })));

function Lazy({ children }: { children: ReactNode }) {
  return <Suspense fallback={<p className="muted">Loading…</p>}>{children}</Suspense>;
}

function Media() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <MediaLibrary />
    </Suspense>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="login" element={<Login />} />
      <Route element={<RequireAuth />}>
        <Route element={<Layout />}>
          <Route index element={<Dashboard />} />
          <Route path="leads" element={<Leads />} />
          <Route path="leads/:id" element={<LeadProfilePage />} />
          <Route path="imports" element={<Imports />} />
          <Route path="imports/:id" element={<Imports />} />
          <Route path="lists" element={<Lists />} />
          <Route path="lists/new" element={<NewListPage />} />
          <Route path="lists/:id" element={<ListPage />} />
          <Route path="media" element={<Media />} />
          <Route path="templates" element={<Templates />} />
          <Route
            path="templates/new"
            element={
              <Lazy>
                <NewTemplateLazy />
              </Lazy>
            }
          />
          <Route
            path="templates/blocks"
            element={
              <Lazy>
                <ContentBlocksLazy />
              </Lazy>
            }
          />
          <Route
            path="templates/:id"
            element={
              <Lazy>
                <TemplateLazy />
              </Lazy>
            }
          />
          <Route path="campaigns" element={<Campaigns />} />
          <Route
            path="campaigns/new"
            element={
              <Lazy>
                <NewCampaignLazy />
              </Lazy>
            }
          />
          <Route
            path="campaigns/calendar"
            element={
              <Lazy>
                <CampaignCalendarLazy />
              </Lazy>
            }
          />
          <Route path="campaigns/:id" element={<CampaignDetailPage />} />
          <Route
            path="campaigns/:id/edit"
            element={
              <Lazy>
                <EditCampaignLazy />
              </Lazy>
            }
          />
          <Route path="automations" element={<Automations />} />
          <Route
            path="automations/new"
            element={
              <RequirePermission permission="campaigns:write" page="The automation builder">
                <NewAutomationPage />
              </RequirePermission>
            }
          />
          {/* Any member may open an automation: without campaigns:write the page is read-only (with Monitor). */}
          <Route
            path="automations/:id"
            element={
              <Lazy>
                <AutomationEditorLazy />
              </Lazy>
            }
          />
          <Route
            path="analytics"
            element={
              <RequirePermission permission="analytics:read" page="Analytics">
                <Analytics />
              </RequirePermission>
            }
          />
          <Route
            path="reports"
            element={
              <RequirePermission permission="analytics:read" page="Reports">
                <Reports />
              </RequirePermission>
            }
          />
          <Route path="outbox" element={<Outbox />} />
          <Route path="settings" element={<Settings />} />
          <Route
            path="settings/members"
            element={
              <RequirePermission permission="members:manage" page="Members">
                <Members />
              </RequirePermission>
            }
          />
          <Route
            path="settings/api-keys"
            element={
              <RequirePermission permission="api_keys:manage" page="API keys">
                <ApiKeys />
              </RequirePermission>
            }
          />
          <Route
            path="settings/secrets"
            element={
              <RequirePermission permission="settings:manage" page="Secrets">
                <Secrets />
              </RequirePermission>
            }
          />
          <Route
            path="settings/custom-fields"
            element={
              <RequirePermission permission="settings:manage" page="Custom fields">
                <CustomFields />
              </RequirePermission>
            }
          />
          <Route
            path="settings/brand"
            element={
              <RequirePermission permission="settings:manage" page="Brand guidelines">
                <Lazy>
                  <BrandGuidelinesLazy />
                </Lazy>
              </RequirePermission>
            }
          />
          <Route
            path="settings/audit"
            element={
              <RequirePermission permission="audit:read" page="The audit log">
                <Audit />
              </RequirePermission>
            }
          />
          <Route path="account" element={<Account />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Route>
    </Routes>
  );
}
