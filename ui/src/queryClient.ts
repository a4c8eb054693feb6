import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import { ApiError, isUnauthenticated } from "./api/client";
import { queryKeys } from "./api/queries";

/** Retry network trouble and 5xx once or twice, never a 4xx (the answer will not change). */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failureCount < 2;
}

/**
 * What any failed request means for the session: a 401 means it ended (the auth gate then shows the login
 * page), a CSRF refusal means our token is stale (reading the profile again brings the current one).
 */
export function handleSessionError(client: QueryClient, error: unknown): void {
  if (isUnauthenticated(error)) {
    if (client.getQueryData(queryKeys.me) !== null) client.setQueryData(queryKeys.me, null);
  } else if (error instanceof ApiError && error.status === 403 && error.code === "csrf") {
    void client.invalidateQueries({ queryKey: queryKeys.me });
  }
}

export function makeQueryClient(): QueryClient {
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({ onError: (error) => handleSessionError(client, error) }),
    mutationCache: new MutationCache({ onError: (error) => handleSessionError(client, error) }),
    defaultOptions: {
      queries: { retry: shouldRetry, staleTime: 5_000 },
      mutations: { retry: false },
    },
  });
  return client;
}
