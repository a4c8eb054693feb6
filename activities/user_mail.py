"""Plain-text emails to workspace users: a scheduled report run's files (the CSV and the HTML summary attached),
a journey's notification.

Campaign mail is composed by hand for speed (activities/email_message.py); these are a handful of messages a day,
so the stdlib composes them, with CRLF line ends and base64 attachments (7-bit clean for any relay).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr

from activities.email_message import WORKSPACE_HEADER, OutgoingEmail

# CRLF line ends; text parts quoted-printable or base64, never 8bit, so no relay needs 8BITMIME.
POLICY = SMTP.clone(cte_type="7bit")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str


def user_email(
    *,
    mail_from: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    workspace_id: int,
    headers: dict[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
) -> OutgoingEmail:
    """Raises ValueError for an address that cannot be sent to."""
    _, sender = parseaddr(mail_from)
    if not sender or "@" not in sender:
        raise ValueError(f"the sender {mail_from!r} is not an email address")
    if "@" not in to or any(ch.isspace() or ch in '<>,;"' for ch in to):
        raise ValueError(f"{to!r} is not an email address")
    message = EmailMessage(policy=POLICY)
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message[WORKSPACE_HEADER] = str(int(workspace_id))  # the embedded sink files it under the workspace
    message.set_content(body)
    for attachment in attachments:
        message.add_attachment(
            attachment.content,
            maintype=attachment.maintype,
            subtype=attachment.subtype,
            filename=attachment.filename,
            params={"charset": "utf-8"} if attachment.maintype == "text" else {},
        )
    return OutgoingEmail(sender=sender, recipients=(to,), data=message.as_bytes(), smtputf8=not to.isascii())


def build_report_email(
    *,
    mail_from: str,
    to: str,
    subject: str,
    body: str,
    attachments: list[Attachment],
    message_id: str,
    workspace_id: int,
    run_id: int,
) -> OutgoingEmail:
    """A report run's email (raises ValueError for an address that cannot be sent to)."""
    return user_email(
        mail_from=mail_from,
        to=to,
        subject=subject,
        body=body,
        message_id=message_id,
        workspace_id=workspace_id,
        headers={"X-Herald-Report-Run": str(int(run_id))},
        attachments=attachments,
    )
