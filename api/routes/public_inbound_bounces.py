"""Bounce and complaint reports from email providers: `POST /public/inbound/bounces/generic` and
`POST /public/inbound/bounces/ses` (docs/tracking.md, "Bounces and complaints").

- generic: Herald's own JSON (domain/bounces.py), authenticated by the shared secret `BOUNCE_WEBHOOK_SECRET` in
  `X-Herald-Webhook-Secret` (compared in constant time). Without the setting the endpoint does not exist (404); a
  wrong or missing secret is a 403.
- ses: an Amazon SNS HTTP(S) subscription carrying SES notifications. Every message must be signed by SNS
  (domain/sns.py) with a certificate from an `https://sns.<region>.amazonaws.com/...pem` URL, and come from one of
  `SES_TOPIC_ARNS` when that is set; else 403. A SubscriptionConfirmation is logged, never confirmed from here (the
  API makes no outbound call on a stranger's behalf): the administrator opens its SubscribeURL.

Each request's notices are applied in one transaction (api/bounce_service.py); a bad payload is a 422 naming the
field.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request

from api.bounce_service import BounceReceipt, record_notices
from api.context import guard
from api.deps import SessionDep, SettingsDep
from api.errors import ApiError
from api.request_body import read_json_body
from core.sns_certificates import CertificateFetcher, CertificateFetchError, SnsCertificates
from domain.bounces import BounceFormatError, parse_generic, parse_ses
from domain.permissions import PUBLIC
from domain.sns import SnsSignatureError, is_sns_certificate_url, verify_sns_signature

router = APIRouter(prefix="/public/inbound/bounces", tags=["public"])
log = structlog.get_logger("herald.bounces")
SECRET_HEADER = "X-Herald-Webhook-Secret"
MAX_BODY_BYTES = 1 << 20
_CERTIFICATES = SnsCertificates()


def sns_certificate_fetcher() -> CertificateFetcher:
    """The process's certificate cache; tests override this dependency."""
    return _CERTIFICATES


CertificatesDep = Annotated[CertificateFetcher, Depends(sns_certificate_fetcher)]


@router.post("/generic", response_model=BounceReceipt, **guard(PUBLIC))
async def generic_bounces(request: Request, session: SessionDep, settings: SettingsDep) -> BounceReceipt:
    """Bounces and complaints in Herald's generic JSON format; needs `X-Herald-Webhook-Secret`."""
    secret = settings.bounce_webhook_secret
    if not secret:
        raise ApiError(404, "the bounce webhook is not configured (BOUNCE_WEBHOOK_SECRET)")
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError(403, "wrong or missing webhook secret", field=SECRET_HEADER, code="forbidden")
    try:
        notices = parse_generic(await read_json_body(request, MAX_BODY_BYTES))
    except BounceFormatError as exc:
        raise ApiError(422, str(exc), field=exc.field) from None
    receipt = await record_notices(session, notices)
    await session.commit()
    return receipt


@router.post("/ses", response_model=BounceReceipt, **guard(PUBLIC))
async def ses_notifications(
    request: Request, session: SessionDep, settings: SettingsDep, certificates: CertificatesDep
) -> BounceReceipt:
    """Amazon SES bounce and complaint notifications through an SNS subscription; signed by SNS, from one of
    SES_TOPIC_ARNS (without it, the endpoint does not exist: anyone can sign a message on a topic of their own)."""
    if not settings.ses_topic_arn_set:
        raise ApiError(404, "SES notifications are not configured (SES_TOPIC_ARNS)")
    envelope = await read_json_body(request, MAX_BODY_BYTES)
    if not isinstance(envelope, dict):
        raise ApiError(422, "body: not an SNS message", field="body")
    url = envelope.get("SigningCertURL")
    if not isinstance(url, str) or not is_sns_certificate_url(url):
        message = "SigningCertURL: not an Amazon SNS certificate URL"
        raise ApiError(403, message, field="SigningCertURL", code="forbidden")
    topics = settings.ses_topic_arn_set
    if envelope.get("TopicArn") not in topics:
        raise ApiError(403, "TopicArn: not one of SES_TOPIC_ARNS", field="TopicArn", code="forbidden")
    try:
        certificate = await certificates.get(url)
    except CertificateFetchError as exc:
        log.warning("sns_certificate_unavailable", error=str(exc))
        raise ApiError(503, "the SNS signing certificate could not be fetched", code="unavailable") from None
    try:
        verify_sns_signature(envelope, certificate)
    except SnsSignatureError as exc:
        raise ApiError(403, f"not signed by Amazon SNS: {exc}", field=exc.field, code="forbidden") from None
    kind = envelope["Type"]
    if kind != "Notification":
        log.warning(
            "sns_subscription_message",
            type=kind,
            topic_arn=envelope.get("TopicArn"),
            subscribe_url=envelope.get("SubscribeURL"),
        )
        note = (
            f"{kind} of {envelope.get('TopicArn')} received and not acted on: an administrator confirms the "
            "subscription by opening its SubscribeURL (logged as sns_subscription_message)"
        )
        return BounceReceipt(received=0, recorded=0, duplicates=0, message=note)
    try:
        message = json.loads(envelope["Message"])
        notices = parse_ses(message)
    except ValueError as exc:  # BounceFormatError too
        field = exc.field if isinstance(exc, BounceFormatError) else "Message"
        field = field if field == "Message" else f"Message.{field}"
        raise ApiError(422, f"not an SES notification: {exc}", field=field) from None
    receipt = await record_notices(session, notices)
    await session.commit()
    return receipt
