import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { useDebouncedValue } from "../useDebouncedValue";
import type { DraftGraph } from "./model";

export const automationKeys = {
  validate: (graph: DraftGraph) => ["automation-validate", graph] as const,
};

export const VALIDATE_DELAY_MS = 400;

/** The API's problems of the graph, asked again a moment after each change (the answer for the last graph stays
 * on screen meanwhile). `checking`: the answer is not for the graph on screen yet. */
export function useGraphValidation(graph: DraftGraph) {
  const debounced = useDebouncedValue(graph, VALIDATE_DELAY_MS);
  const query = useQuery({
    queryKey: automationKeys.validate(debounced),
    queryFn: ({ signal }) => unwrap(api.POST("/api/automations/validate", { body: { graph: debounced }, signal })),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
    retry: false,
  });
  return { query, checking: debounced !== graph || query.isFetching };
}
