"""Whether a lead can receive an email now, and if not, why (the reason is recorded on the delivery)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SKIP_NO_EMAIL = "no email address"
SKIP_CONSENT_DENIED = "email consent denied"
SKIP_UNSUBSCRIBED = "lead unsubscribed"
SKIP_SUPPRESSED = "email suppressed ({reason})"


def email_skip_reason(lead: Mapping[str, Any]) -> str | None:
    if not lead.get("email"):
        return SKIP_NO_EMAIL
    if lead.get("consent_email") == "denied":
        return SKIP_CONSENT_DENIED
    if lead.get("status") == "unsubscribed":
        return SKIP_UNSUBSCRIBED
    if lead.get("suppressed_email"):
        return SKIP_SUPPRESSED.format(reason=lead["suppressed_email"])
    return None
