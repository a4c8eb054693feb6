"""Builds the MIME message for one delivery."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

from domain.rendering import RenderedMessage


def delivery_message_id(run_id: int, step: int, lead_id: int, mail_from: str) -> str:
    """Deterministic per idempotency key, so a resent in-doubt message carries the same Message-ID."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "herald.localhost"
    return f"<herald-r{run_id}-s{step}-l{lead_id}@{domain}>"


WORKSPACE_HEADER = "X-Herald-Workspace"


def build_email(
    *,
    mail_from: str,
    to_email: str,
    to_name: str,
    rendered: RenderedMessage,
    message_id: str,
    delivery_key: str,
    workspace_id: int,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = Address(display_name=to_name, addr_spec=to_email) if to_name else to_email
    message["Subject"] = rendered.subject
    message["Message-ID"] = message_id
    message["X-Herald-Delivery"] = delivery_key
    message[WORKSPACE_HEADER] = str(workspace_id)  # lets the embedded sink file the mail under its workspace
    if unsubscribe_url:
        # RFC 8058 one-click: the client POSTs "List-Unsubscribe=One-Click" to the link, no login needed.
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.text or _html_to_fallback_text(rendered.html))
    if rendered.html:
        message.add_alternative(rendered.html, subtype="html")
    return message


def _html_to_fallback_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html).strip() or " "
