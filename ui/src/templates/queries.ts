import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  api,
  unwrap,
  type BrandIn,
  type ContentBlockIn,
  type Template,
  type TemplateCheckRequest,
  type TemplateListQuery,
  type TemplatePreviewRequest,
} from "../api/client";
import { queryKeys } from "../api/queries";

export const TEMPLATE_PAGE_SIZE = 24;

/** A page of the library (channel, folder, search). */
export function useTemplatePage(query: TemplateListQuery) {
  return useQuery({
    queryKey: queryKeys.templatePage(query),
    queryFn: () => unwrap(api.GET("/api/templates", { params: { query } })),
    placeholderData: keepPreviousData,
  });
}

export function useTemplate(id: number | null) {
  return useQuery({
    queryKey: queryKeys.template(id ?? 0),
    queryFn: () => unwrap(api.GET("/api/templates/{template_id}", { params: { path: { template_id: id ?? 0 } } })),
    enabled: id !== null,
  });
}

export function useTemplateVersions(id: number | null) {
  return useQuery({
    queryKey: queryKeys.templateVersions(id ?? 0),
    queryFn: () =>
      unwrap(api.GET("/api/templates/{template_id}/versions", { params: { path: { template_id: id ?? 0 } } })),
    enabled: id !== null,
  });
}

/** One version's content (immutable: never fetched twice). */
export function useTemplateVersion(id: number, number: number | null) {
  return useQuery({
    queryKey: queryKeys.templateVersion(id, number ?? 0),
    queryFn: () =>
      unwrap(
        api.GET("/api/templates/{template_id}/versions/{number}", {
          params: { path: { template_id: id, number: number ?? 0 } },
        }),
      ),
    enabled: number !== null,
    staleTime: Infinity,
  });
}

export function useTemplateFolders() {
  return useQuery({ queryKey: queryKeys.templateFolders, queryFn: () => unwrap(api.GET("/api/template-folders")) });
}

/** Every token the workspace's templates may use (standard and custom fields). */
export function useTemplateTokens() {
  return useQuery({
    queryKey: queryKeys.templateTokens,
    queryFn: () => unwrap(api.GET("/api/templates/tokens")),
    staleTime: 60_000,
  });
}

export function useContentBlocks() {
  return useQuery({ queryKey: queryKeys.contentBlocks, queryFn: () => unwrap(api.GET("/api/content-blocks")) });
}

export function useBrand() {
  return useQuery({ queryKey: queryKeys.brand, queryFn: () => unwrap(api.GET("/api/brand")), staleTime: 30_000 });
}

/** Template and brand problems of unsaved content, with the SMS and social counters; `body` null waits. */
export function useTemplateCheck(body: TemplateCheckRequest | null) {
  return useQuery({
    queryKey: queryKeys.templateCheck(body ?? {}),
    queryFn: () => unwrap(api.POST("/api/templates/check", { body: body as TemplateCheckRequest })),
    enabled: body !== null,
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
}

/** The rendered message for a lead (or the sample lead): of unsaved content, or of a saved version. */
export function useTemplatePreview(
  request: { kind: "unsaved"; body: TemplatePreviewRequest } | { kind: "saved"; id: number; lead_id: number | null; version: number | null } | null,
) {
  return useQuery({
    queryKey: queryKeys.templatePreview(request ?? {}),
    queryFn: () => {
      if (request?.kind === "saved") {
        return unwrap(
          api.POST("/api/templates/{template_id}/preview", {
            params: { path: { template_id: request.id } },
            body: { lead_id: request.lead_id, version: request.version },
          }),
        );
      }
      return unwrap(api.POST("/api/templates/preview", { body: (request as { body: TemplatePreviewRequest }).body }));
    },
    enabled: request !== null,
    placeholderData: keepPreviousData,
    staleTime: 10_000,
    retry: false,
  });
}

/** After a save: the library, this template and its versions again; the answer seeds the template's query. */
export function useTemplateSaved() {
  const queryClient = useQueryClient();
  return (template: Template) => {
    queryClient.setQueryData(queryKeys.template(template.id), template);
    void queryClient.invalidateQueries({
      queryKey: queryKeys.templates,
      predicate: (query) => !(query.queryKey[1] === "one" && query.queryKey[2] === template.id && query.queryKey.length === 3),
    });
  };
}

export function useSaveContentBlock() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: number | null; body: ContentBlockIn }) =>
      id === null
        ? unwrap(api.POST("/api/content-blocks", { body }))
        : unwrap(api.PUT("/api/content-blocks/{block_id}", { params: { path: { block_id: id } }, body })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.contentBlocks }),
  });
}

export function useDeleteContentBlock() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => unwrap(api.DELETE("/api/content-blocks/{block_id}", { params: { path: { block_id: id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.contentBlocks }),
  });
}

export function useSaveBrand() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: BrandIn) => unwrap(api.PUT("/api/brand", { body })),
    onSuccess: (brand) => {
      queryClient.setQueryData(queryKeys.brand, brand);
      // Problems depend on the guidelines.
      void queryClient.invalidateQueries({ queryKey: ["template-check"] });
      void queryClient.invalidateQueries({ queryKey: queryKeys.templates });
    },
  });
}
