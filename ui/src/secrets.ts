/** Workspace secrets (Settings → Secrets): the rules the API applies (api/schemas_secrets.py), checked as the admin
 * types, so the form says what is wrong before sending anything. */

/** Letters, digits, `_`, `.` and `-`: the same rule as a webhook node's `auth_secret`. */
export const SECRET_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
export const MAX_SECRET_VALUE = 4096;
// A header value: printable ASCII on one line.
const HEADER_SAFE = /^[\x20-\x7e]*$/;

export function secretNameProblem(name: string): string | null {
  if (name === "") return "Give the secret a name.";
  if (name.length > 100) return "At most 100 characters.";
  if (!SECRET_NAME.test(name)) return "Letters, digits, “_”, “.” and “-” only (no spaces).";
  return null;
}

export function secretValueProblem(value: string): string | null {
  if (value === "") return "Enter the value.";
  if (value.length > MAX_SECRET_VALUE) return `At most ${MAX_SECRET_VALUE} characters.`;
  if (!HEADER_SAFE.test(value)) return "Printable ASCII characters on one line only: it is sent as an HTTP header.";
  return null;
}

/** The value is sent as the Authorization header exactly as typed: one without a scheme ("Bearer …", "Basic …")
 * is allowed but rarely what an API expects. */
export function lacksScheme(value: string): boolean {
  return value !== "" && !/^[A-Za-z][\w.+-]* \S/.test(value);
}
