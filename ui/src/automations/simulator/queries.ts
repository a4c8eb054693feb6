import { useMutation, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../../api/client";
import { isRunning, testRunEnded, type SimulationRequest } from "./model";

/** A simulation or a test run under way is asked again this often. */
export const SIMULATION_POLL_MS = 1_000;

export const simulatorKeys = {
  simulation: (automationId: number, simulationId: number) => ["automation-simulation", automationId, simulationId] as const,
  testRun: (automationId: number, workflowId: string) => ["automation-test-run", automationId, workflowId] as const,
};

const path = (automationId: number) => ({ automation_id: automationId });

/** Starts a simulation (202 `{id, status}`); a 422 names the field, or carries the graph's problems. */
export function useStartSimulation(automationId: number) {
  return useMutation({
    mutationFn: (body: SimulationRequest) =>
      unwrap(api.POST("/api/automations/{automation_id}/simulations", { params: { path: path(automationId) }, body: body as never })),
  });
}

/** One simulation, asked again while it is queued or running; `simulationId` null waits. */
export function useSimulation(automationId: number, simulationId: number | null) {
  return useQuery({
    queryKey: simulatorKeys.simulation(automationId, simulationId ?? 0),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/automations/{automation_id}/simulations/{simulation_id}", {
          params: { path: { automation_id: automationId, simulation_id: simulationId ?? 0 } },
          signal,
        }),
      ),
    enabled: simulationId !== null,
    refetchInterval: (q) => (q.state.data && !isRunning(q.state.data.status) ? false : SIMULATION_POLL_MS),
  });
}

export type TestRunRequest = { lead_id: number; max_delay_seconds: number; graph?: unknown; trigger_node?: string };

/** Enters a lead for real with every delay cut (its messages are sent). */
export function useStartTestRun(automationId: number) {
  return useMutation({
    mutationFn: (body: TestRunRequest) =>
      unwrap(
        api.POST("/api/automations/{automation_id}/test-runs", { params: { path: path(automationId) }, body: body as never }),
      ),
  });
}

/** A test run's journey, asked again until it ends; `workflowId` null waits. */
export function useTestRun(automationId: number, workflowId: string | null) {
  return useQuery({
    queryKey: simulatorKeys.testRun(automationId, workflowId ?? ""),
    queryFn: ({ signal }) =>
      unwrap(
        api.GET("/api/automations/{automation_id}/test-runs/{workflow_id}", {
          params: { path: { automation_id: automationId, workflow_id: workflowId ?? "" } },
          signal,
        }),
      ),
    enabled: workflowId !== null,
    refetchInterval: (q) => (testRunEnded(q.state.data) ? false : SIMULATION_POLL_MS),
  });
}
