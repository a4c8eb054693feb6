import { PageHeader } from "../components/PageHeader";

/** Placeholder for a section that has no screen yet. */
export function NotBuilt({ page }: { page: string }) {
  return (
    <>
      <PageHeader title={page} />
      <div className="card card-placeholder">
        <p>
          {page} is not built yet. It arrives in a later release.
        </p>
      </div>
    </>
  );
}
