"""What a scheduled report definition must satisfy besides its types: the campaign selection and the recipients.

Every check raises ReportConfigError naming the offending field the way the API reports it (`recipients[1]`), so
the API turns it into a 422 as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from email_validator import EmailNotValidError, validate_email

MAX_RECIPIENTS = 20
MAX_CAMPAIGNS = 100


class ReportConfigError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = f"{field}: {message}"


def validate_selection(campaign_ids: Sequence[int], tag: str | None) -> tuple[list[int], str | None]:
    """Campaign ids (distinct, in the order given) or a tag, exactly one of them."""
    tag = (tag or "").strip() or None
    if campaign_ids and tag:
        raise ReportConfigError("tag", "give campaign_ids or a tag, not both")
    if not campaign_ids and not tag:
        raise ReportConfigError("campaign_ids", "give at least one campaign, or a tag")
    if len(campaign_ids) > MAX_CAMPAIGNS:
        raise ReportConfigError("campaign_ids", f"at most {MAX_CAMPAIGNS} campaigns")
    for index, campaign_id in enumerate(campaign_ids):
        if campaign_id <= 0:
            raise ReportConfigError(f"campaign_ids[{index}]", f"{campaign_id} is not a campaign id")
    if tag is not None and len(tag) > 50:
        raise ReportConfigError("tag", "at most 50 characters")
    return list(dict.fromkeys(campaign_ids)), tag


def validate_recipients(recipients: Sequence[str]) -> list[str]:
    """Normalised addresses (domain lower-cased), duplicates dropped; no DNS lookups."""
    if not recipients:
        raise ReportConfigError("recipients", "give at least one email address")
    if len(recipients) > MAX_RECIPIENTS:
        raise ReportConfigError("recipients", f"at most {MAX_RECIPIENTS} addresses")
    seen: dict[str, str] = {}
    for index, raw in enumerate(recipients):
        try:
            address = normalise_address(raw)
        except EmailNotValidError as exc:
            raise ReportConfigError(f"recipients[{index}]", f"{raw!r} is not a valid email address: {exc}") from exc
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def normalise_address(raw: str) -> str:
    """The address with its domain lower-cased; EmailNotValidError when it is not one.

    Special-use domains are refused by email_validator, but the embedded stack's people are `…@localhost`: a
    `localhost` domain is accepted when the rest of the address is valid.
    """
    value = raw.strip()
    local, _, domain = value.rpartition("@")
    if domain.lower() == "localhost" or domain.lower().endswith(".localhost"):
        checked = validate_email(f"{local}@example.com", check_deliverability=False).normalized
        return f"{checked.rpartition('@')[0]}@{domain.lower()}"
    return validate_email(value, check_deliverability=False, test_environment=True).normalized


def run_config(
    *, name: str, campaign_ids: Sequence[int], tag: str | None, metrics: Sequence[str], period: str, timezone: str
) -> dict[str, Any]:
    """The copy of a definition a run works from (`report_runs.config`): retries and the history keep what was
    reported even after the definition changes."""
    return {
        "name": name,
        "campaign_ids": list(campaign_ids),
        "tag": tag,
        "metrics": list(metrics),
        "period": period,
        "timezone": timezone,
    }
