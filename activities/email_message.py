"""Builds the MIME message for one delivery, and signs it with DKIM when a key is configured."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

import dkim

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


# What the DKIM signature covers (those present in the message): the identity and unsubscribe headers that
# mailbox providers check for one-click unsubscribe, plus the MIME structure.
DKIM_HEADERS = (
    "From",
    "To",
    "Subject",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)


@dataclass(frozen=True)
class DkimSigner:
    """Signs the exact bytes that go on the wire (rsa-sha256, relaxed/relaxed).

    The public key is published as a TXT record at `<selector>._domainkey.<domain>`.
    """

    selector: str
    domain: str
    private_key: bytes = field(repr=False)  # RSA, PEM (PKCS#1 or PKCS#8), 1024 bits at least (2048 advised)

    def __post_init__(self) -> None:
        # Fail at startup, not on the first message: sign a tiny message once.
        self.sign(b"From: probe@example.com\r\nSubject: probe\r\n\r\nprobe\r\n")

    def sign(self, data: bytes) -> bytes:
        """`data`: a flattened message with CRLF line ends; returns it with a DKIM-Signature header prepended."""
        head = b"\r\n" + data.split(b"\r\n\r\n", 1)[0].lower()
        present = [name.encode() for name in DKIM_HEADERS if b"\r\n" + name.lower().encode() + b":" in head]
        signature = dkim.sign(
            data,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=b"rsa-sha256",
            include_headers=present,
            linesep=b"\r\n",
        )
        return signature + data
