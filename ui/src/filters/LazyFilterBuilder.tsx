import { Suspense, lazy, type ComponentProps } from "react";

// react-querybuilder (and its Redux store) loads with the first page that shows a filter, not with the app.
const Builder = lazy(() => import("./FilterBuilder").then((module) => ({ default: module.FilterBuilder })));

export function FilterBuilder(props: ComponentProps<typeof Builder>) {
  return (
    <Suspense fallback={<p className="muted">Loading the filter builder…</p>}>
      <Builder {...props} />
    </Suspense>
  );
}
