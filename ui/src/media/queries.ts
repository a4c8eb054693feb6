import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  api,
  unwrap,
  type MediaAsset,
  type MediaBulkRequest,
  type MediaDetail,
  type MediaListQuery,
  type MediaUpdate,
} from "../api/client";
import { queryKeys } from "../api/queries";
import { MEDIA_POLL_MS, mediaPollInterval } from "./model";

/** A page of the library; asked again every 1.5 s while an asset on it is being processed (or `pollAnyway`). */
export function useMediaPage(query: MediaListQuery, options: { enabled?: boolean; pollAnyway?: boolean } = {}) {
  const { enabled = true, pollAnyway = false } = options;
  return useQuery({
    queryKey: queryKeys.mediaPage(query),
    queryFn: () => unwrap(api.GET("/api/media", { params: { query } })),
    placeholderData: keepPreviousData,
    enabled,
    refetchInterval: (q) => (pollAnyway ? MEDIA_POLL_MS : mediaPollInterval(q.state.data?.items)),
  });
}

export function useMediaTags(enabled = true) {
  return useQuery({
    queryKey: queryKeys.mediaTags,
    queryFn: () => unwrap(api.GET("/api/media/tags")),
    staleTime: 10_000,
    enabled,
  });
}

export function useMediaFolders(enabled = true) {
  return useQuery({
    queryKey: queryKeys.mediaFolders,
    queryFn: () => unwrap(api.GET("/api/media/folders")),
    staleTime: 10_000,
    enabled,
  });
}

/** One asset with the templates and campaigns that use it; polled while it is being processed. */
export function useMediaAsset(id: number | null) {
  return useQuery({
    queryKey: queryKeys.mediaAsset(id ?? 0),
    queryFn: () => unwrap(api.GET("/api/media/{asset_id}", { params: { path: { asset_id: id ?? 0 } } })),
    enabled: id !== null,
    refetchInterval: (q) => mediaPollInterval(q.state.data ? [q.state.data] : undefined),
  });
}

/** After any change: the pages, tags and folders (and the other assets' details) are fetched again. */
function useRefreshMedia() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: queryKeys.media });
}

export function useUpdateMedia(id: number) {
  const queryClient = useQueryClient();
  const refresh = useRefreshMedia();
  return useMutation({
    mutationFn: (body: MediaUpdate) =>
      unwrap(api.PATCH("/api/media/{asset_id}", { params: { path: { asset_id: id } }, body })),
    onSuccess: (asset: MediaDetail) => {
      queryClient.setQueryData(queryKeys.mediaAsset(id), asset);
      void refresh();
    },
  });
}

export function useDeleteMedia(id: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (force: boolean) =>
      unwrap(api.DELETE("/api/media/{asset_id}", { params: { path: { asset_id: id }, query: force ? { force: true } : {} } })),
    onSuccess: () => {
      const gone = queryKeys.mediaAsset(id);
      queryClient.removeQueries({ queryKey: gone, exact: true });
      // Everything else again, but not the deleted asset's details (a 404 while its panel closes).
      void queryClient.invalidateQueries({
        queryKey: queryKeys.media,
        predicate: (query) => !(query.queryKey[1] === gone[1] && query.queryKey[2] === gone[2]),
      });
    },
  });
}

export function useReprocessMedia(id: number) {
  const queryClient = useQueryClient();
  const refresh = useRefreshMedia();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/api/media/{asset_id}/reprocess", { params: { path: { asset_id: id } } })),
    onSuccess: (asset: MediaAsset) => {
      queryClient.setQueryData<MediaDetail>(queryKeys.mediaAsset(id), (old) => (old ? { ...old, ...asset } : old));
      void refresh();
    },
  });
}

export function useBulkMedia() {
  const refresh = useRefreshMedia();
  return useMutation({
    mutationFn: (body: MediaBulkRequest) => unwrap(api.POST("/api/media/bulk", { body })),
    onSettled: () => void refresh(),
  });
}
