import { Link } from "react-router-dom";
import { PageHeader } from "../components/PageHeader";

export function NotFound() {
  return (
    <>
      <PageHeader title="Page not found" />
      <div className="card card-placeholder">
        <p>
          There is no page at this address. <Link to="/">Back to the dashboard</Link>
        </p>
      </div>
    </>
  );
}
