"""Inbound bounces and complaints: the generic JSON and SES (through SNS) parsers, SNS signatures, and the two public
webhooks with their effects on leads, the suppression list, the timeline and the events table."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from api.routes.public_inbound_bounces import SECRET_HEADER, sns_certificate_fetcher
from domain.bounces import BounceFormatError, OurMessageId, parse_generic, parse_message_id, parse_ses
from domain.sns import SnsSignatureError, is_sns_certificate_url, string_to_sign, verify_sns_signature
from tests.conftest import make_tenant
from tests.factories import make_campaign, make_leads

SECRET = "bounce-test-secret"
GENERIC = "/public/inbound/bounces/generic"
SES = "/public/inbound/bounces/ses"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-bounces"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"bounce_webhook_secret": SECRET, "ses_topic_arns": TOPIC})


# --- Hand-written samples following AWS's documented SES notification structure -------------------------------------

SES_BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "Jane@Example.COM",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            },
            {"emailAddress": "richard@example.com", "action": "failed", "status": "5.1.1"},
        ],
        "timestamp": "2024-05-02T10:15:30.123Z",
        "feedbackId": "0102018f3a2b4c5d-aaaa-bbbb-cccc-000000000000-000000",
        "remoteMtaIp": "192.0.2.10",
        "reportingMTA": "dsn; b224-13.smtp-out.eu-west-1.amazonses.com",
    },
    "mail": {
        "timestamp": "2024-05-02T10:15:29.000Z",
        "source": "campaigns@herald.example",
        "sourceArn": "arn:aws:ses:eu-west-1:123456789012:identity/herald.example",
        "sendingAccountId": "123456789012",
        "messageId": "0102018f3a2b4c5d-11112222-3333-4444-5555-666677778888-000000",
        "destination": ["Jane@Example.COM", "richard@example.com"],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "Herald <campaigns@herald.example>"},
            {"name": "Message-ID", "value": "<herald-r12-s3-l45@herald.example>"},
            {"name": "Subject", "value": "Hello"},
        ],
        "commonHeaders": {
            "from": ["Herald <campaigns@herald.example>"],
            "to": ["Jane@Example.COM"],
            "messageId": "0102018f3a2b4c5d-11112222-3333-4444-5555-666677778888-000000",
            "subject": "Hello",
        },
    },
}
SES_COMPLAINT = {
    "notificationType": "Complaint",
    "complaint": {
        "userAgent": "ExampleCorp Feedback Loop (V0.01)",
        "complainedRecipients": [{"emailAddress": "richard@example.com"}],
        "complaintFeedbackType": "abuse",
        "arrivalDate": "2024-05-02T11:00:00.000Z",
        "timestamp": "2024-05-02T11:00:01.000Z",
        "feedbackId": "0102018f3a2b4c5d-complaint-000000",
    },
    "mail": {
        "timestamp": "2024-05-02T10:15:29.000Z",
        "source": "campaigns@herald.example",
        "messageId": "0102018f3a2b4c5d-99990000-000000",
        "destination": ["richard@example.com"],
        "commonHeaders": {"messageId": "<herald-r12-s3-l46-f@herald.example>", "subject": "Hello"},
    },
}


# --- Parsers ----------------------------------------------------------------------------------------------------------


def test_our_message_ids_parse_back_and_others_do_not():
    assert parse_message_id("<herald-r12-s3-l45@herald.example>") == OurMessageId(12, 3, 45, False)
    assert parse_message_id("<herald-r12-s0-l7-f@example.com>") == OurMessageId(12, 0, 7, True)
    assert parse_message_id("herald-r1-s2-l3@x.example") == OurMessageId(1, 2, 3, False)
    for other in (None, "", "<abc@mail.example>", "<herald-rX-s1-l1@x>", "<herald-r1-s1-l1@a@b>", "<herald-r1-s1@x>"):
        assert parse_message_id(other) is None


def test_generic_format_parses_bounces_and_complaints():
    notices = parse_generic(
        {
            "events": [
                {"type": "bounce", "bounce_type": "hard", "email": "Jane@Example.COM", "id": "ev1",
                 "message_id": "<herald-r1-s0-l2@x.example>", "occurred_at": "2024-05-02T10:00:00Z",
                 "reason": "550 5.1.1 no such user"},
                {"type": "bounce", "bounce_type": "soft", "email": "b@example.com", "id": "ev2"},
                {"type": "complaint", "email": "c@example.com", "id": "ev3", "occurred_at": "2024-05-02T10:00:00"},
            ]
        }
    )  # fmt: skip
    hard, soft, complaint = notices
    assert (hard.kind, hard.permanent, hard.email, hard.provider) == ("bounce", True, "Jane@example.com", "generic")
    assert hard.message_id == "<herald-r1-s0-l2@x.example>" and hard.diagnostic == "550 5.1.1 no such user"
    assert hard.occurred_at == datetime(2024, 5, 2, 10, tzinfo=UTC)
    assert hard.dedupe_key == "generic:ev1:Jane@example.com"
    assert (soft.kind, soft.permanent, soft.message_id, soft.occurred_at) == ("bounce", False, None, None)
    assert (complaint.kind, complaint.permanent) == ("complaint", True)
    assert complaint.occurred_at.tzinfo is not None  # a naive time is taken as UTC


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "events"),
        ({"events": []}, "events"),
        ({"events": "x"}, "events"),
        ({"events": [{"type": "bounce", "bounce_type": "hard", "id": "1"}]}, "events[0].email"),
        ({"events": [{"type": "bounced", "email": "a@b.example", "id": "1"}]}, "events[0].type"),
        ({"events": [{"type": "complaint", "email": "a@b.example"}]}, "events[0].id"),
        ({"events": [{"type": "complaint", "email": "a@b.example", "id": "1"},
                     {"type": "bounce", "email": "not an address", "id": "2", "bounce_type": "hard"}]},
         "events[1].email"),
        ({"events": [{"type": "bounce", "email": "a@b.example", "id": "1"}]}, "events[0].bounce_type"),
        ({"events": [{"type": "bounce", "email": "a@b.example", "id": "1", "bounce_type": "medium"}]},
         "events[0].bounce_type"),
        ({"events": [{"type": "complaint", "email": "a@b.example", "id": "1", "occurred_at": "yesterday"}]},
         "events[0].occurred_at"),
        ([], "body"),
    ],
)  # fmt: skip
def test_generic_format_errors_name_the_field(payload, field):
    with pytest.raises(BounceFormatError) as caught:
        parse_generic(payload)
    assert caught.value.field == field


def test_ses_bounce_gives_one_notice_per_recipient_with_our_message_id():
    jane, richard = parse_ses(SES_BOUNCE)
    assert (jane.kind, jane.permanent, jane.email, jane.provider) == ("bounce", True, "Jane@example.com", "ses")
    assert jane.message_id == "<herald-r12-s3-l45@herald.example>"  # from mail.headers, not SES's own id
    assert jane.provider_message_id == SES_BOUNCE["mail"]["messageId"]
    assert jane.event_id == SES_BOUNCE["bounce"]["feedbackId"]
    assert jane.dedupe_key == f"ses:{SES_BOUNCE['bounce']['feedbackId']}:Jane@example.com"
    assert jane.diagnostic == "Permanent General: smtp; 550 5.1.1 user unknown"
    assert jane.occurred_at == datetime(2024, 5, 2, 10, 15, 30, 123000, tzinfo=UTC)
    assert richard.email == "richard@example.com" and richard.diagnostic == "Permanent General: 5.1.1"
    assert richard.dedupe_key != jane.dedupe_key

    for bounce_type in ("Transient", "Undetermined"):
        message = copy.deepcopy(SES_BOUNCE)
        message["bounce"]["bounceType"] = bounce_type
        assert [notice.permanent for notice in parse_ses(message)] == [False, False]


def test_ses_complaint_and_event_publishing_form():
    (notice,) = parse_ses(SES_COMPLAINT)
    assert (notice.kind, notice.permanent, notice.email) == ("complaint", True, "richard@example.com")
    assert notice.message_id == "<herald-r12-s3-l46-f@herald.example>"  # commonHeaders when no headers list
    assert parse_message_id(notice.message_id) == OurMessageId(12, 3, 46, True)
    assert notice.diagnostic == "complaint abuse"
    # Configuration-set event publishing says eventType instead of notificationType.
    event = {key: value for key, value in SES_COMPLAINT.items() if key != "notificationType"}
    assert parse_ses({**event, "eventType": "Complaint"}) == [notice]


def test_ses_other_types_are_ignored_and_errors_name_the_field():
    assert parse_ses({"notificationType": "Delivery", "mail": {}, "delivery": {}}) == []
    assert parse_ses({"eventType": "Open", "mail": {}}) == []
    broken = copy.deepcopy(SES_BOUNCE)
    del broken["bounce"]["bouncedRecipients"][1]["emailAddress"]
    cases = [
        ({"mail": {}}, "notificationType"),
        ({"notificationType": "Bounce", "mail": {}}, "bounce"),
        (broken, "bounce.bouncedRecipients[1].emailAddress"),
        ({**SES_BOUNCE, "bounce": {**SES_BOUNCE["bounce"], "feedbackId": None}}, "bounce.feedbackId"),
        ({**SES_BOUNCE, "bounce": {**SES_BOUNCE["bounce"], "bounceType": 3}}, "bounce.bounceType"),
        ({**SES_COMPLAINT, "complaint": {"feedbackId": "x"}}, "complaint.complainedRecipients"),
    ]
    for message, field in cases:
        with pytest.raises(BounceFormatError) as caught:
            parse_ses(message)
        assert caught.value.field == field


# --- SNS signatures ---------------------------------------------------------------------------------------------------


def _certificate(key: rsa.RSAPrivateKey, *, days: int = 30, start: int = -1) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=start))
        .not_valid_after(now + timedelta(days=start + days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
CERT = _certificate(KEY)


def _signed(envelope: dict, key: rsa.RSAPrivateKey = KEY, version: str = "1") -> dict:
    envelope = {**envelope, "SignatureVersion": version, "SigningCertURL": envelope.get("SigningCertURL", CERT_URL)}
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(string_to_sign(envelope).encode(), padding.PKCS1v15(), algorithm)
    return {**envelope, "Signature": base64.b64encode(signature).decode()}


def _notification(message: dict, topic: str = TOPIC, **extra) -> dict:
    return _signed(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": topic,
            "Message": json.dumps(message),
            "Timestamp": "2024-05-02T10:15:31.000Z",
            **extra,
        }
    )


def test_string_to_sign_follows_the_documented_field_order():
    notification = {"Type": "Notification", "MessageId": "m1", "TopicArn": "arn:t", "Message": "hi",
                    "Timestamp": "2024-01-01T00:00:00Z", "Signature": "x", "UnsubscribeURL": "x"}  # fmt: skip
    expected = "Message\nhi\nMessageId\nm1\nTimestamp\n2024-01-01T00:00:00Z\nTopicArn\narn:t\nType\nNotification\n"
    assert string_to_sign(notification) == expected
    with_subject = string_to_sign({**notification, "Subject": "S"})
    assert with_subject == expected.replace("MessageId\nm1\n", "MessageId\nm1\nSubject\nS\n")
    confirmation = {"Type": "SubscriptionConfirmation", "MessageId": "m2", "Token": "tok", "TopicArn": "arn:t",
                    "Message": "confirm", "SubscribeURL": "https://sns.example/sub", "Timestamp": "t"}  # fmt: skip
    assert string_to_sign(confirmation) == (
        "Message\nconfirm\nMessageId\nm2\nSubscribeURL\nhttps://sns.example/sub\nTimestamp\nt\nToken\ntok\n"
        "TopicArn\narn:t\nType\nSubscriptionConfirmation\n"
    )
    with pytest.raises(SnsSignatureError):
        string_to_sign({**confirmation, "Token": None})


def test_sns_signatures_v1_and_v2_verify_and_tampering_does_not():
    for version in ("1", "2"):
        envelope = _notification(SES_BOUNCE) if version == "1" else _signed({**_notification(SES_BOUNCE)}, KEY, "2")
        verify_sns_signature(envelope, CERT)
        for field, value in (("Message", "{}"), ("TopicArn", "arn:other"), ("Subject", "added")):
            with pytest.raises(SnsSignatureError):
                verify_sns_signature({**envelope, field: value}, CERT)
        with pytest.raises(SnsSignatureError):
            verify_sns_signature(envelope, _certificate(OTHER_KEY))
    with pytest.raises(SnsSignatureError) as caught:
        verify_sns_signature({**_notification(SES_BOUNCE), "SignatureVersion": "3"}, CERT)
    assert caught.value.field == "SignatureVersion"
    with pytest.raises(SnsSignatureError) as caught:
        verify_sns_signature(_notification(SES_BOUNCE), _certificate(KEY, start=-40))  # expired
    assert caught.value.field == "SigningCertURL"


def test_only_aws_sns_certificate_urls_are_accepted():
    assert is_sns_certificate_url(CERT_URL)
    assert is_sns_certificate_url("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem")
    for bad in (
        "http://sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com:8443/x.pem",
        "https://user@sns.eu-west-1.amazonaws.com/x.pem",
        "https://sns.eu-west-1.amazonaws.com/x.txt",
        "https://sns.eu-west-1.amazonaws.com/x.pem?y=1",
        "https://s3.amazonaws.com/x.pem",
        "https://sns.amazonaws.com/x.pem",
        "",
    ):
        assert not is_sns_certificate_url(bad), bad


# --- The webhooks -----------------------------------------------------------------------------------------------------


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://herald.test")


async def _post_generic(app, events: list[dict], secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with _client(app) as client:
        return await client.post(GENERIC, json={"events": events}, headers=headers)


async def _lead(db, lead_id: int) -> dict:
    async with db() as session:
        row = (
            await session.execute(
                text(
                    "SELECT l.email, l.suppressed_email, l.consent_email, "
                    "(SELECT reason FROM suppressions s WHERE s.workspace_id = l.workspace_id AND s.channel = 'email' "
                    " AND s.address_hash = :hash) AS remembered, "
                    "(SELECT count(*) FROM lead_events e WHERE e.lead_id = l.id "
                    " AND e.type IN ('bounced', 'complained')) AS notes FROM leads l WHERE l.id = :id"
                ),
                {"id": lead_id, "hash": await _hash_of(db, lead_id)},
            )
        ).one()
        return dict(row._mapping)


async def _hash_of(db, lead_id: int) -> str:
    async with db() as session:
        email = (await session.execute(text("SELECT email FROM leads WHERE id = :id"), {"id": lead_id})).scalar_one()
    return hashlib.sha256(email.encode()).hexdigest()


async def _events(db, lead_id: int) -> list[dict]:
    async with db() as session:
        rows = await session.execute(
            text(
                "SELECT workspace_id, delivery_id, lead_id, campaign_id, run_id, step, variant, channel, type, "
                "machine, metadata, dedupe_key FROM events WHERE lead_id = :id ORDER BY id"
            ),
            {"id": lead_id},
        )
        return [dict(row._mapping) for row in rows]


async def _delivery(db, lead_id: int, *, step: int = 1, fallback: bool = False) -> dict:
    """A sent email delivery of a new run to the lead."""
    campaign_id = await make_campaign(db, [lead_id])
    async with db() as session:
        run_id = (
            await session.execute(
                text(
                    "INSERT INTO campaign_runs (workspace_id, campaign_id, number, workflow_id, status, total, sent, "
                    "failed, skipped) SELECT workspace_id, id, 1, :w, 'completed', 1, 1, 0, 0 FROM campaigns "
                    "WHERE id = :c RETURNING id"
                ),
                {"c": campaign_id, "w": f"bounces-{uuid.uuid4().hex[:8]}"},
            )
        ).scalar_one()
        delivery_id = (
            await session.execute(
                text(
                    "INSERT INTO deliveries (workspace_id, run_id, step, lead_id, fallback, channel, status, variant, "
                    "attempts, sent_at) SELECT workspace_id, :r, :step, :l, :f, 'email', 'sent', 'b', 1, now() "
                    "FROM leads WHERE id = :l RETURNING id"
                ),
                {"r": run_id, "step": step, "l": lead_id, "f": fallback},
            )
        ).scalar_one()
        await session.commit()
    suffix = "-f" if fallback else ""
    message_id = f"<herald-r{run_id}-s{step}-l{lead_id}{suffix}@herald.localhost>"
    return {"id": delivery_id, "campaign_id": campaign_id, "run_id": run_id, "step": step, "message_id": message_id}


async def test_generic_webhook_needs_its_setting_and_secret(app, db, tenant, settings):
    (lead,) = await make_leads(db, 1, prefix="secret")
    event = {"type": "bounce", "bounce_type": "hard", "email": "secret0@example.com", "id": "s1"}
    for wrong in (None, "", "not-the-secret", SECRET + "x"):
        answer = await _post_generic(app, [event], secret=wrong)
        assert answer.status_code == 403 and answer.json()["field"] == SECRET_HEADER
    assert (await _lead(db, lead))["suppressed_email"] is None

    app.state.settings = settings.model_copy(update={"bounce_webhook_secret": None, "ses_topic_arns": None})
    answer = await _post_generic(app, [event])
    assert answer.status_code == 404 and "BOUNCE_WEBHOOK_SECRET" in answer.json()["message"]
    answer = await _post_ses(app, _notification(_ses_bounce_for("secret0@example.com")))
    assert answer.status_code == 404 and "SES_TOPIC_ARNS" in answer.json()["message"]  # any topic would do otherwise
    assert await _events(db, lead) == []


async def test_generic_webhook_refuses_bad_payloads_naming_the_field(app, db, tenant):
    answer = await _post_generic(app, [{"type": "complaint", "email": "nobody", "id": "x"}])
    assert answer.status_code == 422 and answer.json()["field"] == "events[0].email"
    async with _client(app) as client:
        answer = await client.post(GENERIC, content=b"{not json", headers={SECRET_HEADER: SECRET})
        assert answer.status_code == 422 and answer.json()["field"] == "body"
        huge = json.dumps({"events": [], "pad": "x" * (1 << 20)}).encode()  # above the 1 MiB limit
        answer = await client.post(GENERIC, content=huge, headers={SECRET_HEADER: SECRET})
    assert (answer.status_code, answer.json()["field"], answer.json()["code"]) == (413, "body", "too_large")


async def test_hard_bounce_suppresses_remembers_records_and_notes_once(app, db, tenant):
    other = await make_tenant(db, "Umbrella", "admin@umbrella.test")
    (ours,) = await make_leads(db, 1, prefix="hard")
    (theirs,) = await make_leads(db, 1, prefix="hard", workspace_id=other.workspace_id)
    (bystander,) = await make_leads(db, 1, prefix="fine")
    event = {"type": "bounce", "bounce_type": "hard", "email": "hard0@EXAMPLE.com", "id": "evt-1", "reason": "5.1.1"}

    answer = await _post_generic(app, [event])
    assert answer.status_code == 200
    assert answer.json() == {"received": 1, "recorded": 2, "duplicates": 0, "unmatched": 0, "message": None}
    for lead in (ours, theirs):  # every workspace holding the address
        state = await _lead(db, lead)
        assert state["suppressed_email"] == "bounced" and state["consent_email"] == "granted"
        assert state["remembered"] == "bounced" and state["notes"] == 1
        (recorded,) = await _events(db, lead)
        assert recorded["type"] == "bounce" and recorded["machine"] is False and recorded["channel"] == "email"
        assert recorded["delivery_id"] is None and recorded["run_id"] is None
        assert recorded["dedupe_key"] == "generic:evt-1:hard0@example.com"
        assert recorded["metadata"] == {"provider": "generic", "permanent": True, "diagnostic": "5.1.1",
                                        "provider_event_id": "evt-1"}  # fmt: skip
    assert (await _lead(db, bystander))["suppressed_email"] is None

    # The provider posts the same report again: counted once.
    answer = await _post_generic(app, [event])
    assert answer.json() == {"received": 1, "recorded": 0, "duplicates": 2, "unmatched": 0, "message": None}
    for lead in (ours, theirs):
        assert len(await _events(db, lead)) == 1
        assert (await _lead(db, lead))["notes"] == 1

    # Nobody holds this address: nothing recorded.
    answer = await _post_generic(app, [{**event, "email": "ghost@example.com", "id": "evt-2"}])
    assert answer.json()["unmatched"] == 1 and answer.json()["recorded"] == 0


async def test_hard_bounce_keeps_an_earlier_suppression_reason(app, db, tenant):
    (lead,) = await make_leads(db, 1, prefix="unsub", suppressed_email="unsubscribed")
    event = {"type": "bounce", "bounce_type": "hard", "email": "unsub0@example.com", "id": "k1"}
    assert (await _post_generic(app, [event])).json()["recorded"] == 1
    state = await _lead(db, lead)
    assert state["suppressed_email"] == "unsubscribed" and state["notes"] == 1


async def test_soft_bounce_is_recorded_and_changes_nothing_else(app, db, tenant):
    (lead,) = await make_leads(db, 1, prefix="soft")
    event = {"type": "bounce", "bounce_type": "soft", "email": "soft0@example.com", "id": "soft-1", "reason": "full"}
    assert (await _post_generic(app, [event])).json()["recorded"] == 1
    state = await _lead(db, lead)
    assert (state["suppressed_email"], state["consent_email"], state["remembered"], state["notes"]) == (
        None, "granted", None, 0
    )  # fmt: skip
    (recorded,) = await _events(db, lead)
    assert recorded["type"] == "bounce" and recorded["metadata"]["permanent"] is False


async def test_complaint_suppresses_and_denies_consent(app, db, tenant):
    (lead,) = await make_leads(db, 1, prefix="angry", suppressed_email="unsubscribed")
    event = {"type": "complaint", "email": "angry0@example.com", "id": "fbl-9", "occurred_at": "2024-05-02T10:00:00Z"}
    answer = await _post_generic(app, [event, event])  # twice in one request: one event
    assert answer.json() == {"received": 2, "recorded": 1, "duplicates": 1, "unmatched": 0, "message": None}
    state = await _lead(db, lead)
    assert (state["suppressed_email"], state["consent_email"], state["notes"]) == ("complained", "denied", 1)
    assert state["remembered"] == "complained"
    (recorded,) = await _events(db, lead)
    assert recorded["type"] == "complaint" and recorded["metadata"]["reported_at"] == "2024-05-02T10:00:00+00:00"


async def test_our_message_id_attaches_the_event_to_the_delivery(app, db, tenant):
    other = await make_tenant(db, "Umbrella", "admin@umbrella.test")
    (lead,) = await make_leads(db, 1, prefix="dlv")
    (same_address,) = await make_leads(db, 1, prefix="dlv", workspace_id=other.workspace_id)
    delivery = await _delivery(db, lead, step=2, fallback=True)
    event = {"type": "bounce", "bounce_type": "hard", "email": "dlv0@example.com", "id": "m1",
             "message_id": delivery["message_id"]}  # fmt: skip
    assert (await _post_generic(app, [event])).json()["recorded"] == 1  # the delivery's lead only
    (recorded,) = await _events(db, lead)
    assert (recorded["delivery_id"], recorded["campaign_id"], recorded["run_id"], recorded["step"]) == (
        delivery["id"], delivery["campaign_id"], delivery["run_id"], 2
    )  # fmt: skip
    assert (recorded["variant"], recorded["channel"]) == ("b", "email")
    assert (await _lead(db, lead))["suppressed_email"] == "bounced"
    assert await _events(db, same_address) == [] and (await _lead(db, same_address))["suppressed_email"] is None
    async with db() as session:
        status = await session.execute(text("SELECT status FROM deliveries WHERE id = :id"), {"id": delivery["id"]})
        assert status.scalar_one() == "sent"  # the provider accepted it: the delivery is not rewritten

    # A Message-ID of ours naming no delivery (deleted since, or another install's): matched by address instead.
    stray = {**event, "id": "m2", "message_id": "<herald-r999999-s0-l1@herald.localhost>"}
    assert (await _post_generic(app, [stray])).json()["recorded"] == 2


async def test_a_lead_who_changed_address_is_recorded_but_not_suppressed(app, db, tenant):
    (lead,) = await make_leads(db, 1, prefix="moved")
    delivery = await _delivery(db, lead)
    async with db() as session:
        await session.execute(text("UPDATE leads SET email = 'new@example.com' WHERE id = :id"), {"id": lead})
        await session.commit()
    event = {"type": "complaint", "email": "moved0@example.com", "id": "c1", "message_id": delivery["message_id"]}
    assert (await _post_generic(app, [event])).json()["recorded"] == 1
    (recorded,) = await _events(db, lead)
    assert recorded["run_id"] == delivery["run_id"] and recorded["metadata"]["lead_address_changed"] is True
    state = await _lead(db, lead)
    assert (state["suppressed_email"], state["consent_email"], state["notes"]) == (None, "granted", 0)


# --- SES through SNS --------------------------------------------------------------------------------------------------


class FakeCertificates:
    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.urls: list[str] = []

    async def get(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


@pytest.fixture
def certificates(app) -> FakeCertificates:
    fake = FakeCertificates(CERT)
    app.dependency_overrides[sns_certificate_fetcher] = lambda: fake
    yield fake
    app.dependency_overrides.clear()


async def _post_ses(app, envelope: dict) -> httpx.Response:
    async with _client(app) as client:
        # SNS posts its JSON as text/plain, with the message type in a header.
        headers = {"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": envelope.get("Type", "")}
        return await client.post(SES, content=json.dumps(envelope).encode(), headers=headers)


def _ses_bounce_for(email: str, message_id: str | None = None, feedback: str = "fb-1") -> dict:
    message = copy.deepcopy(SES_BOUNCE)
    message["bounce"]["bouncedRecipients"] = [{"emailAddress": email, "status": "5.1.1"}]
    message["bounce"]["feedbackId"] = feedback
    message["mail"]["headers"] = [{"name": "Message-ID", "value": message_id}] if message_id else []
    del message["mail"]["commonHeaders"]
    return message


async def test_ses_signed_notifications_are_processed_once(app, db, tenant, certificates):
    (bounced, complained) = await make_leads(db, 2, prefix="ses")
    delivery = await _delivery(db, bounced, step=0)
    envelope = _notification(_ses_bounce_for("ses0@example.com", delivery["message_id"]))
    answer = await _post_ses(app, envelope)
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] == 1 and certificates.urls == [CERT_URL]
    (recorded,) = await _events(db, bounced)
    assert recorded["run_id"] == delivery["run_id"] and recorded["dedupe_key"] == "ses:fb-1:ses0@example.com"
    assert recorded["metadata"]["provider"] == "ses" and recorded["metadata"]["provider_message_id"]
    assert (await _lead(db, bounced))["suppressed_email"] == "bounced"

    # SNS delivers the same notification again (at-least-once): nothing more.
    answer = await _post_ses(app, envelope)
    assert answer.json()["duplicates"] == 1 and len(await _events(db, bounced)) == 1

    complaint = copy.deepcopy(SES_COMPLAINT)
    complaint["complaint"]["complainedRecipients"] = [{"emailAddress": "ses1@example.com"}]
    assert (await _post_ses(app, _signed({**_notification(complaint)}, KEY, "2"))).json()["recorded"] == 1
    state = await _lead(db, complained)
    assert (state["suppressed_email"], state["consent_email"], state["remembered"]) == (
        "complained", "denied", "complained"
    )  # fmt: skip

    # Delivery notifications are acknowledged and ignored.
    delivered = _notification({"notificationType": "Delivery", "mail": {}, "delivery": {}})
    assert (await _post_ses(app, delivered)).json()["received"] == 0


async def test_ses_refuses_what_sns_did_not_sign(app, db, tenant, settings, certificates):
    (lead,) = await make_leads(db, 1, prefix="forged")
    envelope = _notification(_ses_bounce_for("forged0@example.com"))

    tampered = {**envelope, "Message": json.dumps(_ses_bounce_for("forged0@example.com", feedback="other"))}
    answer = await _post_ses(app, tampered)
    assert answer.status_code == 403 and answer.json()["field"] == "Signature"

    elsewhere = _signed({**envelope, "SigningCertURL": "https://sns.eu-west-1.amazonaws.com.evil.example/c.pem"})
    answer = await _post_ses(app, elsewhere)
    assert answer.status_code == 403 and answer.json()["field"] == "SigningCertURL"
    assert certificates.urls == [CERT_URL]  # never fetched from the wrong host

    certificates.pem = _certificate(OTHER_KEY)  # the right host, but not the key that signed
    assert (await _post_ses(app, envelope)).status_code == 403
    certificates.pem = CERT

    app.state.settings = settings.model_copy(update={"ses_topic_arns": f"arn:aws:sns:eu-west-1:1:a, {TOPIC}"})
    other_topic = _notification(_ses_bounce_for("forged0@example.com"), topic="arn:aws:sns:eu-west-1:666:evil")
    answer = await _post_ses(app, other_topic)
    assert answer.status_code == 403 and answer.json()["field"] == "TopicArn"
    assert await _events(db, lead) == [] and (await _lead(db, lead))["suppressed_email"] is None

    assert (await _post_ses(app, envelope)).status_code == 200  # one of the configured topics

    answer = await _post_ses(app, _notification({"notificationType": "Bounce", "mail": {}}))
    assert answer.status_code == 422 and answer.json()["field"] == "Message.bounce"


async def test_ses_subscription_confirmation_is_not_confirmed(app, db, tenant, certificates, monkeypatch):
    def no_outbound_calls(*args, **kwargs):
        raise AssertionError("the API must not call SubscribeURL")

    monkeypatch.setattr(httpx.AsyncClient, "get", no_outbound_calls)
    confirmation = _signed(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": str(uuid.uuid4()),
            "Token": "2336412f37fb687f5d51e6e2425c464de12884f",
            "TopicArn": TOPIC,
            "Message": f"You have chosen to subscribe to the topic {TOPIC}. To confirm, visit the SubscribeURL.",
            "SubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=x",
            "Timestamp": "2024-05-02T10:00:00.000Z",
        }
    )
    answer = await _post_ses(app, confirmation)
    assert answer.status_code == 200
    body = answer.json()
    assert body["received"] == 0 and "SubscribeURL" in body["message"]
    answer = await _post_ses(app, {**confirmation, "Token": "forged"})
    assert answer.status_code == 403
