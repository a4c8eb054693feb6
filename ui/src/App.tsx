import { Route, Routes } from "react-router-dom";
import { Layout } from "./components/Layout";
import { CampaignDetailPage } from "./pages/CampaignDetail";
import { Campaigns } from "./pages/Campaigns";
import { Dashboard } from "./pages/Dashboard";
import { Leads } from "./pages/Leads";
import { Lists } from "./pages/Lists";
import { NotBuilt } from "./pages/NotBuilt";
import { NotFound } from "./pages/NotFound";
import { Outbox } from "./pages/Outbox";
import { Templates } from "./pages/Templates";

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Dashboard />} />
        <Route path="leads" element={<Leads />} />
        <Route path="lists" element={<Lists />} />
        <Route path="media" element={<NotBuilt page="Media" />} />
        <Route path="templates" element={<Templates />} />
        <Route path="campaigns" element={<Campaigns />} />
        <Route path="campaigns/:id" element={<CampaignDetailPage />} />
        <Route path="automations" element={<NotBuilt page="Automations" />} />
        <Route path="analytics" element={<NotBuilt page="Analytics" />} />
        <Route path="outbox" element={<Outbox />} />
        <Route path="settings" element={<NotBuilt page="Settings" />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
