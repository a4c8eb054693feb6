import "./monitoring.css";
import type { NodeBadge } from "./overlay";

/** An overlay's badges on a node: "3 waiting", "1 errors" (in red)... */
export function NodeBadges({ badges }: { badges: readonly NodeBadge[] }) {
  return (
    <ul className="automation-node-badges" data-testid="node-badges">
      {badges.map((badge) => (
        <li
          key={badge.label}
          className={`overlay-badge tone-${badge.tone ?? "neutral"}`}
          data-testid="node-badge"
          data-badge={badge.label}
          title={badge.title}
        >
          <strong>{badge.value}</strong> {badge.label}
        </li>
      ))}
    </ul>
  );
}
