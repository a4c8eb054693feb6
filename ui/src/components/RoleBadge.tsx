const KNOWN = new Set(["admin", "manager", "marketer", "viewer"]);

/** The role word in a pill, tinted per role. */
export function RoleBadge({ role, testId }: { role: string; testId?: string }) {
  const tone = KNOWN.has(role) ? role : "viewer";
  return (
    <span className={`role-badge role-${tone}`} data-testid={testId}>
      {role}
    </span>
  );
}
