import { publishButton, type PublishButton, type PublishInput } from "./publish";
import { canonicalJson } from "./saver";

/**
 * Whether the draft is the published version: the validator's normalised graph of the draft (defaults filled in,
 * as a publication stores it) and the version's graph, the same JSON whatever the order of keys. Undefined while one
 * of them is unknown; false when the draft's shape is wrong (the validator gives no graph: null).
 */
export function draftIsPublished(normalisedDraft: unknown, publishedGraph: unknown): boolean | undefined {
  if (normalisedDraft === undefined || publishedGraph === undefined) return undefined;
  if (normalisedDraft === null || publishedGraph === null) return false;
  return canonicalJson(normalisedDraft) === canonicalJson(publishedGraph);
}

/**
 * The Publish button knowing whether the draft changed since its publication: "Published" (disabled) when the draft
 * is the published version, otherwise as `publishButton` ("Publish" never published, "Publish changes" after).
 */
export function publishControl(input: PublishInput & { upToDate: boolean | undefined }): PublishButton {
  const { upToDate, ...rest } = input;
  if (upToDate === true && rest.publishedVersion !== null && rest.status !== "archived") {
    return {
      label: "Published",
      disabled: true,
      reason: `The draft is version ${rest.publishedVersion} as published: change it to publish again.`,
    };
  }
  return publishButton(rest);
}
