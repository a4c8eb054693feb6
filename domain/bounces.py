"""Bounce and complaint notices from email providers, read from their webhook payloads (docs/tracking.md, "Bounces and
complaints").

Two formats: Herald's generic JSON (any relay or a small script can post it) and an Amazon SES notification (the
`Message` of an SNS notification, already JSON-decoded). Either gives `BounceNotice`s, one per recipient; a bad
payload raises `BounceFormatError` naming the field (`events[0].email`, `bounce.bouncedRecipients[1].emailAddress`).
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.contacts import normalise_email

Kind = Literal["bounce", "complaint"]
MAX_NOTICES = 1000  # per request: a provider batches far fewer
MAX_DIAGNOSTIC = 500  # characters kept of a provider's diagnostic text
_ADDRESS = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")
# Ours (activities/email_message.py): <herald-r{run}-s{step}-l{lead}@domain>, a fallback's with -f before the @.
_MESSAGE_ID = re.compile(r"^\s*<?herald-r(\d{1,10})-s(\d{1,6})-l(\d{1,10})(-f)?@[^\s<>@]+>?\s*$")


class BounceFormatError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class BounceNotice:
    """One recipient's bounce or complaint, as a provider reported it."""

    kind: Kind
    permanent: bool  # a hard bounce (the address does not exist); always true for a complaint
    email: str  # normalised like lead emails (domain in lower case)
    message_id: str | None  # the Message-ID header of the message, when the provider reports it
    provider: str  # "generic" or "ses"
    event_id: str  # the provider's id of the report
    occurred_at: datetime | None
    diagnostic: str
    provider_message_id: str | None = None  # the provider's own id of the message (SES's mail.messageId)

    @property
    def dedupe_key(self) -> str:
        """The same report posted twice has the same key: `events.dedupe_key`."""
        return f"{self.provider}:{self.event_id}:{self.email}"


class OurMessageId(NamedTuple):
    run_id: int
    step: int
    lead_id: int
    fallback: bool


def parse_message_id(message_id: str | None) -> OurMessageId | None:
    """The delivery a Message-ID of ours names; None for anyone else's (or nothing)."""
    match = _MESSAGE_ID.match(message_id or "")
    if match is None:
        return None
    run_id, step, lead_id, fallback = match.groups()
    return OurMessageId(int(run_id), int(step), int(lead_id), fallback is not None)


# --- Generic JSON -----------------------------------------------------------------------------------------------------


class _GenericEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Kind
    email: str = Field(min_length=3, max_length=320)
    id: str = Field(min_length=1, max_length=200)
    message_id: str | None = Field(default=None, max_length=998)
    bounce_type: Literal["hard", "soft"] | None = None
    occurred_at: datetime | None = None
    reason: str | None = None


class _GenericPayload(BaseModel):
    events: list[_GenericEvent] = Field(min_length=1, max_length=MAX_NOTICES)


def parse_generic(payload: Any) -> list[BounceNotice]:
    """`{"events": [{"type": "bounce"|"complaint", "email", "id", "bounce_type": "hard"|"soft", "message_id",
    "occurred_at", "reason"}]}`; `bounce_type` is required for a bounce."""
    try:
        parsed = _GenericPayload.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise BounceFormatError(_path(error["loc"]), error["msg"]) from None
    notices = []
    for n, event in enumerate(parsed.events):
        email = _address(event.email, f"events[{n}].email")
        if event.type == "bounce" and event.bounce_type is None:
            raise BounceFormatError(f"events[{n}].bounce_type", "required for a bounce: hard or soft")
        notices.append(
            BounceNotice(
                kind=event.type,
                permanent=event.type == "complaint" or event.bounce_type == "hard",
                email=email,
                message_id=event.message_id,
                provider="generic",
                event_id=event.id,
                occurred_at=_aware(event.occurred_at),
                diagnostic=(event.reason or "")[:MAX_DIAGNOSTIC],
            )
        )
    return notices


# --- Amazon SES -------------------------------------------------------------------------------------------------------


def parse_ses(message: Any) -> list[BounceNotice]:
    """An SES notification (`notificationType`) or event (`eventType`): one notice per bounced or complaining
    recipient. Other types (Delivery, Send, Open, ...) give none."""
    if not isinstance(message, dict):
        raise BounceFormatError("Message", "not a JSON object")
    kind = message.get("notificationType") or message.get("eventType")
    if kind not in ("Bounce", "Complaint"):
        if not isinstance(kind, str):
            raise BounceFormatError("notificationType", "missing")
        return []
    mail = _object(message.get("mail", {}), "mail")
    message_id = _header(mail, "Message-ID")
    common = mail.get("commonHeaders")
    if message_id is None and isinstance(common, dict) and isinstance(common.get("messageId"), str):
        message_id = common["messageId"]
    ses_id = mail.get("messageId") if isinstance(mail.get("messageId"), str) else None
    if kind == "Bounce":
        report = _object(message.get("bounce"), "bounce")
        bounce_type = _text(report.get("bounceType"), "bounce.bounceType")
        recipients = _list(report.get("bouncedRecipients"), "bounce.bouncedRecipients")
        permanent = bounce_type == "Permanent"
        summary = " ".join(part for part in (bounce_type, report.get("bounceSubType")) if isinstance(part, str))
    else:
        report = _object(message.get("complaint"), "complaint")
        recipients = _list(report.get("complainedRecipients"), "complaint.complainedRecipients")
        permanent = True
        feedback_type = report.get("complaintFeedbackType")
        summary = f"complaint {feedback_type}" if isinstance(feedback_type, str) else "complaint"
    section = kind.lower()
    feedback_id = _text(report.get("feedbackId"), f"{section}.feedbackId")
    occurred_at = _timestamp(report.get("timestamp"))
    notices = []
    for n, recipient in enumerate(recipients[:MAX_NOTICES]):
        where = f"{section}.{'bouncedRecipients' if kind == 'Bounce' else 'complainedRecipients'}[{n}]"
        recipient = _object(recipient, where)
        email = _address(_text(recipient.get("emailAddress"), f"{where}.emailAddress"), f"{where}.emailAddress")
        detail = recipient.get("diagnosticCode") or recipient.get("status")
        diagnostic = f"{summary}: {detail}" if isinstance(detail, str) and detail else summary
        notices.append(
            BounceNotice(
                kind="bounce" if kind == "Bounce" else "complaint",
                permanent=permanent,
                email=email,
                message_id=message_id,
                provider="ses",
                event_id=feedback_id,
                occurred_at=occurred_at,
                diagnostic=diagnostic[:MAX_DIAGNOSTIC],
                provider_message_id=ses_id,
            )
        )
    return notices


def _header(mail: dict[str, Any], name: str) -> str | None:
    headers = mail.get("headers")
    if not isinstance(headers, list):
        return None
    for header in headers:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == name.lower():
            value = header.get("value")
            return value if isinstance(value, str) else None
    return None


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BounceFormatError(field, "missing or not an object")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise BounceFormatError(field, "missing or not a non-empty list")
    return value


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BounceFormatError(field, "missing or not a string")
    return value.strip()


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


# --- Shared -----------------------------------------------------------------------------------------------------------


def _address(value: str, field: str) -> str:
    value = value.strip()
    if len(value) > 320 or not _ADDRESS.match(value):
        raise BounceFormatError(field, "not an email address")
    return normalise_email(value)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "body"
