"""Amazon SNS message signatures (HTTP/S subscriptions), checked without AWS's SDK. Pure: the certificate is given.

AWS documents the scheme ("Verifying the signatures of Amazon SNS messages"): the signed string is `name\\nvalue\\n`
for a fixed list of the message's fields, in byte order of their names, skipping an absent optional `Subject`;
`Signature` is base64 of an RSA PKCS#1 v1.5 signature with SHA1 (`SignatureVersion` 1) or SHA256 (2), by the key of
the X.509 certificate at `SigningCertURL`, which must be an `https://sns.<region>.amazonaws.com/....pem` URL.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

NOTIFICATION_FIELDS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
SIGNED_FIELDS = {
    "Notification": NOTIFICATION_FIELDS,
    "SubscriptionConfirmation": CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": CONFIRMATION_FIELDS,
}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com$")


class SnsSignatureError(ValueError):
    """The message is not signed by SNS (or cannot be checked): the field names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def is_sns_certificate_url(url: str) -> bool:
    """Only AWS's own SNS hosts, over https, no port or credentials, a .pem path."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and parts.netloc == parts.hostname
        and _SNS_HOST.match(parts.netloc or "") is not None
        and parts.path.endswith(".pem")
        and not parts.query
        and not parts.fragment
    )


def string_to_sign(message: dict[str, Any]) -> str:
    """The canonical string of a Notification, SubscriptionConfirmation or UnsubscribeConfirmation."""
    kind = message.get("Type")
    fields = SIGNED_FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise SnsSignatureError("Type", f"unknown message type {kind!r}")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise SnsSignatureError(name, "missing")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines)


def verify_sns_signature(message: dict[str, Any], certificate_pem: bytes, now: datetime | None = None) -> None:
    """Raises SnsSignatureError unless `message` is signed by the certificate's key (and the certificate is valid
    now)."""
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise SnsSignatureError("SignatureVersion", "must be 1 or 2")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except binascii.Error:
        raise SnsSignatureError("Signature", "not base64") from None
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError:
        raise SnsSignatureError("SigningCertURL", "not a PEM certificate") from None
    now = now or datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SnsSignatureError("SigningCertURL", "the certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnsSignatureError("SigningCertURL", "not an RSA certificate")
    try:
        key.verify(signature, string_to_sign(message).encode(), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise SnsSignatureError("Signature", "does not match the message") from None
