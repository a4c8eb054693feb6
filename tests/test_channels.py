"""Channels behind one interface: email through the embedded SMTP sink (DKIM-verifiable), SMS and WhatsApp through
an in-process fake Twilio and the local outbox, the signed webhook, and how provider errors are classified."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from email import message_from_bytes, message_from_string, policy
from urllib.parse import parse_qsl

import aiosmtplib
import dkim
import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import text

from activities.channels import (
    ChannelConfigError,
    Channels,
    ChannelUnavailable,
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
    channels_from_settings,
)
from activities.channels.email import classify_smtp_error
from activities.channels.webhook import SIGNATURE_HEADER, sign_webhook, verify_webhook_signature
from activities.smtp_pool import SmtpConfig, SmtpPool
from core.settings import Settings
from domain.rendering import RenderedMessage
from tests.conftest import free_port

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "twilio-secret-token"
UNSUBSCRIBE = "http://herald.test/u/abc.def"


def message(channel: str, to: str, workspace_id: int, n: int = 0, **overrides) -> OutgoingMessage:
    fields = {
        "channel": channel,
        "to": to,
        "to_name": "Ada Lovelace",
        "rendered": RenderedMessage(
            subject="Spring sale for Ada — 20% off",
            preheader="",
            html="<html><body><p>Hi Ada, 20% off — today only.</p></body></html>",
            text="Hi Ada, 20% off — today only.",
        ),
        "message_id": f"<herald-r1-s0-l{n}@herald.localhost>",
        "delivery_key": f"1:0:{n}",
        "workspace_id": workspace_id,
        "unsubscribe_url": UNSUBSCRIBE,
    }
    return OutgoingMessage(**(fields | overrides))


@asynccontextmanager
async def built(settings: Settings, sessions, transport=None, pool: SmtpPool | None = None) -> AsyncIterator[Channels]:
    pool = pool or SmtpPool(SmtpConfig(host=settings.smtp_target_host, port=settings.smtp_port, pool_size=2))
    channels = channels_from_settings(settings, pool, sessions, transport=transport)
    try:
        yield channels
    finally:
        await channels.aclose()
        await pool.close()


async def outbox(db, **where) -> list:
    clause = " AND ".join(f"{column} = :{column}" for column in where) or "true"
    async with db() as session:
        return list(
            await session.execute(
                text(
                    f"SELECT channel, rcpt_to, subject, message_id, body_text, raw FROM outbox_messages WHERE {clause}"
                ),
                where,
            )
        )


# ---- email -------------------------------------------------------------------------------------------------------


async def test_email_goes_through_the_pool_with_unsubscribe_headers_and_the_message_id(settings, db, tenant):
    async with built(settings, db) as channels:
        sent = message("email", "ada@example.com", tenant.workspace_id)
        receipt = await channels.get("email").send(sent)
    assert receipt.provider_message_id == sent.message_id
    [row] = await outbox(db, channel="email", message_id=sent.message_id)
    assert row.rcpt_to == ["ada@example.com"]
    email = message_from_string(row.raw, policy=policy.default)
    assert email["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Message-ID"] == sent.message_id and email["X-Herald-Delivery"] == "1:0:0"
    assert email["Subject"] == "Spring sale for Ada — 20% off" and "DKIM-Signature" not in email
    assert "X-Herald-Test" not in email


class Capture:
    """An SMTP server's handler keeping what it received: envelope, MAIL options and the bytes of DATA."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options), raw))
        return "250 OK"


@asynccontextmanager
async def capturing_smtp(**options) -> AsyncIterator[tuple[int, Capture]]:
    """aiosmtpd with `options` (decode_data=True: no 8BITMIME; enable_SMTPUTF8=True: SMTPUTF8)."""
    port, capture = free_port(), Capture()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(capture, hostname="capture", **options), "127.0.0.1", port)
    try:
        yield port, capture
    finally:
        server.close()


async def test_non_ascii_text_goes_8bit_once_the_server_offers_8bitmime_and_quoted_printable_before(settings, db):
    async with capturing_smtp() as (port, capture):
        pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=port, pool_size=1))
        async with built(settings, db, pool=pool) as channels:
            for n in range(2):
                await channels.get("email").send(message("email", "ada@example.com", 1, n=n))
    (_, _, first_options, first), (_, _, second_options, second) = capture.received
    assert b"quoted-printable" in first and "BODY=8BITMIME" not in first_options  # before the first greeting
    assert b"Content-Transfer-Encoding: 8bit" in second and "BODY=8BITMIME" in second_options
    for raw in (first, second):
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed.get_body(("plain",)).get_content().strip() == "Hi Ada, 20% off — today only."


async def test_a_server_without_8bitmime_gets_7bit_clean_messages(settings, db):
    async with capturing_smtp(decode_data=True) as (port, capture):
        pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=port, pool_size=1))
        async with built(settings, db, pool=pool) as channels:
            for n in range(2):
                await channels.get("email").send(message("email", "ada@example.com", 1, n=n))
    assert len(capture.received) == 2 and not pool.eight_bit
    assert all("BODY=8BITMIME" not in options for _, _, options, _ in capture.received)
    assert all(raw and raw.isascii() for _, _, _, raw in capture.received)  # 7-bit clean on the wire


async def test_a_non_ascii_address_goes_with_smtputf8_or_fails_for_good(settings, db):
    async with capturing_smtp(enable_SMTPUTF8=True) as (port, capture):
        pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=port, pool_size=1))
        async with built(settings, db, pool=pool) as channels:
            await channels.get("email").send(message("email", "zoë@exämple.fr", 1))
    [(sender, rcpt, options, _)] = capture.received
    assert (rcpt == ["zoë@exämple.fr"] and "SMTPUTF8" in options and sender == "herald@herald.localhost") or sender

    async with capturing_smtp() as (port, capture):  # no SMTPUTF8
        pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=port, pool_size=1))
        async with built(settings, db, pool=pool) as channels:
            with pytest.raises(PermanentSendError):
                await channels.get("email").send(message("email", "zoë@exämple.fr", 1))
    assert capture.received == []


def rsa_key() -> tuple[bytes, bytes]:
    """A fresh RSA key: the PEM private key and the DKIM DNS TXT record of its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def dns_for(record: bytes, lookups: list) -> Callable:
    def dnsfunc(name, timeout=5):
        lookups.append(name)
        return record

    return dnsfunc


async def test_dkim_signs_the_wire_bytes_and_the_signature_verifies_against_the_public_key(settings, db, tenant):
    pem, record = rsa_key()
    # As an env var would carry it: one line with "\n" escapes.
    signed = settings.model_copy(
        update={
            "dkim_selector": "herald",
            "dkim_domain": "herald.localhost",
            "dkim_private_key": pem.decode().replace("\n", "\\n"),
        }
    )
    async with built(signed, db) as channels:
        plain = message("email", "ada@example.com", tenant.workspace_id, 1)
        test = message("email", "qa@example.com", tenant.workspace_id, 2, test=True, unsubscribe_url=None)
        await channels.get("email").send(plain)
        await channels.get("email").send(test)
    [row] = await outbox(db, channel="email", message_id=plain.message_id)
    raw = row.raw.encode()
    email = message_from_string(row.raw, policy=policy.default)
    tags = dict(part.strip().split("=", 1) for part in "".join(str(email["DKIM-Signature"]).split()).split(";") if part)
    assert (tags["d"], tags["s"], tags["a"], tags["c"]) == (
        "herald.localhost",
        "herald",
        "rsa-sha256",
        "relaxed/relaxed",
    )
    signed_headers = set(tags["h"].lower().split(":"))
    assert {"from", "to", "subject", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= signed_headers

    lookups: list = []
    assert dkim.verify(raw, dnsfunc=dns_for(record, lookups))
    assert lookups and b"herald._domainkey.herald.localhost" in bytes(lookups[0])
    # Any change to a signed header breaks it: nobody can swap the unsubscribe link or the recipient.
    tampered = raw.replace(UNSUBSCRIBE.encode(), b"http://evil.test/u")
    assert tampered != raw and not dkim.verify(tampered, dnsfunc=dns_for(record, []))
    assert not dkim.verify(raw.replace(b"ada@example.com", b"eve@example.com"), dnsfunc=dns_for(record, []))
    _other_pem, other_record = rsa_key()
    assert not dkim.verify(raw, dnsfunc=dns_for(other_record, []))

    # The test send's "[Test] " subject and X-Herald-Test header are in place before signing.
    [test_row] = await outbox(db, channel="email", message_id=test.message_id)
    test_email = message_from_string(test_row.raw, policy=policy.default)
    assert test_email["Subject"].startswith("[Test] ") and test_email["X-Herald-Test"] == "1"
    assert "List-Unsubscribe" not in test_email
    assert dkim.verify(test_row.raw.encode(), dnsfunc=dns_for(record, []))


async def test_dkim_settings_are_checked_when_the_channels_are_built(settings, db, tmp_path):
    pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=1))
    pem, _record = rsa_key()
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(pem)
    from_file = settings.model_copy(
        update={"dkim_selector": "s1", "dkim_domain": "example.com", "dkim_private_key_file": key_file}
    )
    assert channels_from_settings(from_file, pool, db).get("email").dkim.selector == "s1"
    for update, complaint in [
        ({"dkim_selector": "s1"}, "DKIM_DOMAIN"),
        ({"dkim_selector": "s1", "dkim_domain": "example.com"}, "a key"),
        ({"dkim_selector": "s1", "dkim_domain": "example.com", "dkim_private_key": "not a key"}, "cannot sign"),
        ({"dkim_private_key_file": tmp_path / "missing.pem"}, "DKIM_PRIVATE_KEY_FILE"),
    ]:
        with pytest.raises(ChannelConfigError, match=complaint):
            channels_from_settings(settings.model_copy(update=update), pool, db)


class RefusingHandler:
    """An SMTP server that answers like real mail servers do when something is wrong."""

    RCPT = {
        "busy@example.com": "450 4.2.1 Mailbox busy, try again later",
        "nobody@example.com": "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown",
        "olduser@example.com": "550 No such user here",
        "blocked@example.com": "550 5.7.1 Message rejected as spam",
        "full@example.com": "552 5.2.2 Mailbox full",
        "greylist@example.com": "421 4.7.0 Try again later, closing connection",
    }

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, options) -> str:
        if address in self.RCPT:
            return self.RCPT[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if b"Subject: reject me" in (envelope.original_content or b""):
            return "554 5.6.0 Message content rejected"
        if b"Subject: later" in (envelope.original_content or b""):
            return "451 4.3.0 Local error in processing"
        return "250 Message accepted for delivery"


@pytest.fixture
async def refusing_smtp() -> AsyncIterator[int]:
    port = free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(RefusingHandler(), hostname="refuser"), "127.0.0.1", port)
    yield port
    server.close()


@pytest.mark.parametrize(
    ("to", "subject", "outcome", "suppress"),
    [
        ("busy@example.com", "hello", TransientSendError, None),
        ("greylist@example.com", "hello", TransientSendError, None),
        ("ok@example.com", "later", TransientSendError, None),
        ("nobody@example.com", "hello", PermanentSendError, "bounced"),
        ("olduser@example.com", "hello", PermanentSendError, "bounced"),
        ("blocked@example.com", "hello", PermanentSendError, None),
        ("full@example.com", "hello", PermanentSendError, None),
        ("ok@example.com", "reject me", PermanentSendError, None),
    ],
)
async def test_smtp_refusals_are_classified(refusing_smtp, settings, db, to, subject, outcome, suppress):
    pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=refusing_smtp, pool_size=1))
    async with built(settings, db, pool=pool) as channels:
        email = message("email", to, 1, rendered=RenderedMessage(subject, "", "", "Hi"))
        with pytest.raises(outcome) as raised:
            await channels.get("email").send(email)
        assert getattr(raised.value, "suppress", None) == suppress
        assert raised.value.reason.startswith("SMTP ")
        # The pool recovers: the next message on it goes through.
        fine = message("email", "ok@example.com", 1, 9)
        assert (await channels.get("email").send(fine)).provider_message_id == fine.message_id


async def test_unreachable_smtp_and_session_refusals_are_transient(settings, db):
    pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=free_port(), pool_size=1, timeout=2))
    async with built(settings, db, pool=pool) as channels:
        with pytest.raises(TransientSendError, match="SMTPConnect"):
            await channels.get("email").send(message("email", "ada@example.com", 1))
    assert isinstance(classify_smtp_error(aiosmtplib.SMTPAuthenticationError(535, "5.7.8 bad")), TransientSendError)
    assert isinstance(classify_smtp_error(aiosmtplib.SMTPReadTimeoutError("timed out")), TransientSendError)
    assert isinstance(classify_smtp_error(aiosmtplib.SMTPServerDisconnected("gone")), TransientSendError)
    sender = classify_smtp_error(aiosmtplib.SMTPSenderRefused(550, "5.1.0 sender rejected", "x@herald"))
    assert isinstance(sender, PermanentSendError) and sender.suppress is None
    unknown_at_data = classify_smtp_error(aiosmtplib.SMTPDataError(550, "5.1.1 user unknown"))
    assert isinstance(unknown_at_data, PermanentSendError) and unknown_at_data.suppress == "bounced"


async def test_a_malformed_address_fails_permanently(settings, db):
    async with built(settings, db) as channels:
        with pytest.raises(PermanentSendError):
            await channels.get("email").send(message("email", "not an address@@", 1))


# ---- SMS and WhatsApp ----------------------------------------------------------------------------------------------


class FakeTwilio:
    """Twilio's Messages API in-process: records each request, answers from `replies` (by To) or with a new SID."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.replies: dict[str, Callable[[], httpx.Response]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        form = parse_qsl(request.content.decode())
        to = dict(form)["To"]
        if to in self.replies:
            return self.replies[to]()
        return httpx.Response(201, json={"sid": f"SM{len(self.requests):032d}", "status": "queued", "to": to})

    def form(self, index: int = -1) -> list[tuple[str, str]]:
        return parse_qsl(self.requests[index].content.decode())


def twilio_settings(settings: Settings, **extra) -> Settings:
    return settings.model_copy(
        update={
            "sms_provider": "twilio",
            "twilio_base_url": "https://twilio.fake/",
            "twilio_account_sid": SID,
            "twilio_auth_token": TOKEN,
            "twilio_from": "+15005550006",
            "twilio_whatsapp_from": "+14155238886",
            **extra,
        }
    )


async def test_sms_and_whatsapp_post_the_twilio_form_with_basic_auth(settings, db):
    fake = FakeTwilio()
    async with built(twilio_settings(settings), db, transport=httpx.MockTransport(fake)) as channels:
        sms = await channels.get("sms").send(message("sms", "+14155550100", 1))
        whatsapp = await channels.get("whatsapp").send(
            message(
                "whatsapp",
                "+447700900123",
                1,
                media_urls=("http://herald.test/m/1.jpg", "http://herald.test/m/2.jpg"),
                whatsapp_template="spring_sale",
            )
        )
    assert (sms.provider_message_id, whatsapp.provider_message_id) == (f"SM{1:032d}", f"SM{2:032d}")
    first, second = fake.requests
    assert str(first.url) == f"https://twilio.fake/2010-04-01/Accounts/{SID}/Messages.json"
    assert first.method == "POST" and first.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert fake.form(0) == [("To", "+14155550100"), ("From", "+15005550006"), ("Body", "Hi Ada, 20% off — today only.")]
    assert fake.form(1) == [
        ("To", "whatsapp:+447700900123"),
        ("From", "whatsapp:+14155238886"),
        ("Body", "Hi Ada, 20% off — today only."),
        ("MediaUrl", "http://herald.test/m/1.jpg"),
        ("MediaUrl", "http://herald.test/m/2.jpg"),
    ]
    assert str(second.url) == str(first.url)


async def test_a_messaging_service_sid_and_whatsapp_left_on_the_outbox(settings, db, tenant):
    fake = FakeTwilio()
    configured = twilio_settings(settings, twilio_from="MG" + "0" * 32, whatsapp_provider="outbox")
    async with built(configured, db, transport=httpx.MockTransport(fake)) as channels:
        await channels.get("sms").send(message("sms", "+14155550100", tenant.workspace_id))
        await channels.get("whatsapp").send(message("whatsapp", "+14155550101", tenant.workspace_id))
    assert dict(fake.form())["MessagingServiceSid"] == "MG" + "0" * 32 and "From" not in dict(fake.form())
    assert len(fake.requests) == 1
    [row] = await outbox(db, channel="whatsapp")
    assert row.rcpt_to == ["+14155550101"]


def twilio_error(status: int, code: int | None = None, headers: dict | None = None) -> Callable[[], httpx.Response]:
    body = {"status": status, "message": "refused", "more_info": "https://www.twilio.com/docs/errors"}
    if code is not None:
        body["code"] = code
    return lambda: httpx.Response(status, json=body, headers=headers)


def raises(exc: Exception) -> Callable[[], httpx.Response]:
    def reply() -> httpx.Response:
        raise exc

    return reply


@pytest.mark.parametrize(
    ("reply", "outcome", "suppress"),
    [
        (twilio_error(400, 21211), PermanentSendError, "bounced"),  # invalid 'To' number
        (twilio_error(400, 21614), PermanentSendError, "bounced"),  # not a mobile number
        (twilio_error(400, 21610), PermanentSendError, "unsubscribed"),  # replied STOP
        (twilio_error(400, 21606), PermanentSendError, None),  # our 'From' cannot send: not the recipient's fault
        (twilio_error(401, 20003), PermanentSendError, None),  # bad credentials
        (twilio_error(404), PermanentSendError, None),
        (twilio_error(429, 20429, {"Retry-After": "7"}), TransientSendError, None),
        (twilio_error(500), TransientSendError, None),
        (twilio_error(503), TransientSendError, None),
        (lambda: httpx.Response(502, text="<html>bad gateway</html>"), TransientSendError, None),
        (raises(httpx.ConnectError("connection refused")), TransientSendError, None),
        (raises(httpx.ReadTimeout("timed out")), TransientSendError, None),
    ],
)
async def test_twilio_errors_are_classified(settings, db, reply, outcome, suppress):
    fake = FakeTwilio()
    fake.replies["+14155550100"] = fake.replies["whatsapp:+14155550100"] = reply
    async with built(twilio_settings(settings), db, transport=httpx.MockTransport(fake)) as channels:
        for channel in ("sms", "whatsapp"):
            with pytest.raises(outcome) as raised:
                await channels.get(channel).send(message(channel, "+14155550100", 1))
            assert getattr(raised.value, "suppress", None) == suppress


async def test_twilio_429_carries_retry_after(settings, db):
    fake = FakeTwilio()
    fake.replies["+14155550100"] = twilio_error(429, 20429, {"Retry-After": "7"})
    async with built(twilio_settings(settings), db, transport=httpx.MockTransport(fake)) as channels:
        with pytest.raises(TransientSendError) as raised:
            await channels.get("sms").send(message("sms", "+14155550100", 1))
    assert raised.value.retry_after == 7 and "HTTP 429" in raised.value.reason


async def test_a_chosen_provider_without_its_settings_refuses_to_start(settings, db):
    pool = SmtpPool(SmtpConfig(host="127.0.0.1", port=1))
    with pytest.raises(ChannelConfigError, match="TWILIO_AUTH_TOKEN"):
        channels_from_settings(twilio_settings(settings, twilio_auth_token=None), pool, db)
    with pytest.raises(ChannelConfigError, match="TWILIO_WHATSAPP_FROM"):
        channels_from_settings(twilio_settings(settings, twilio_whatsapp_from=None), pool, db)
    sms_only = channels_from_settings(
        twilio_settings(settings, twilio_whatsapp_from=None, whatsapp_provider="outbox"), pool, db
    )
    assert type(sms_only.get("sms")).__name__ == "TwilioChannel"
    assert type(sms_only.get("whatsapp")).__name__ == "OutboxChannel"
    await sms_only.aclose()


async def test_the_default_outbox_stores_sms_and_whatsapp_once_per_message_id(settings, db, tenant):
    async with built(settings, db) as channels:
        sms = message("sms", "+14155550100", tenant.workspace_id, 1)
        whatsapp = message(
            "whatsapp",
            "+447700900123",
            tenant.workspace_id,
            2,
            media_urls=("http://herald.test/m/1.jpg",),
            whatsapp_template="spring_sale",
        )
        assert (await channels.get("sms").send(sms)).provider_message_id == sms.message_id
        await channels.get("sms").send(sms)  # a retried attempt of the same delivery
        await channels.get("whatsapp").send(whatsapp)
        test = message("sms", "+14155550102", tenant.workspace_id, 3, test=True)
        await channels.get("sms").send(test)
    rows = sorted(await outbox(db), key=lambda row: row.message_id)
    assert [(row.channel, row.rcpt_to, row.body_text) for row in rows] == [
        ("sms", ["+14155550100"], "Hi Ada, 20% off — today only."),
        ("whatsapp", ["+447700900123"], "Hi Ada, 20% off — today only."),
        ("sms", ["+14155550102"], "Hi Ada, 20% off — today only."),
    ]
    raw = json.loads(rows[1].raw)
    assert raw["media_urls"] == ["http://herald.test/m/1.jpg"] and raw["whatsapp_template"] == "spring_sale"
    assert raw["delivery_key"] == "1:0:2" and raw["test"] is False
    assert rows[2].subject.startswith("[Test] ") and json.loads(rows[2].raw)["test"] is True


# ---- webhook -------------------------------------------------------------------------------------------------------


def webhook_settings(settings: Settings, url: str = "https://hooks.example.com/herald", **extra) -> Settings:
    return settings.model_copy(update={"webhook_url": url, "webhook_secret": "whsec-test", **extra})


async def test_the_webhook_posts_signed_json(settings, db):
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"id": "evt_42"})

    async with built(webhook_settings(settings), db, transport=httpx.MockTransport(receiver)) as channels:
        sent = message("webhook", "lead-7", 3, 7)
        receipt = await channels.get("webhook").send(sent)
    assert receipt.provider_message_id == "evt_42"
    [request] = seen
    assert str(request.url) == "https://hooks.example.com/herald" and request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Herald-Message-Id"] == sent.message_id
    body = json.loads(request.content)
    assert body["id"] == sent.message_id and body["to"] == "lead-7" and body["workspace_id"] == 3
    assert body["text"] == "Hi Ada, 20% off — today only." and body["unsubscribe_url"] == UNSUBSCRIBE
    signature = request.headers[SIGNATURE_HEADER]
    assert verify_webhook_signature("whsec-test", request.content, signature)
    assert not verify_webhook_signature("other-secret", request.content, signature)
    assert not verify_webhook_signature("whsec-test", request.content.replace(b"lead-7", b"lead-8"), signature)
    assert not verify_webhook_signature("whsec-test", request.content, signature, now=1e12)  # stale
    assert not verify_webhook_signature("whsec-test", request.content, "garbage")
    timestamp = int(signature.split(",")[0].removeprefix("t="))
    assert sign_webhook("whsec-test", request.content, timestamp) == signature


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(500, TransientSendError), (503, TransientSendError), (429, TransientSendError), (408, TransientSendError),
     (400, PermanentSendError), (404, PermanentSendError), (410, PermanentSendError)],
)  # fmt: skip
async def test_webhook_answers_are_classified(settings, db, status, outcome):
    transport = httpx.MockTransport(lambda request: httpx.Response(status, text="nope"))
    async with built(webhook_settings(settings), db, transport=transport) as channels:
        with pytest.raises(outcome, match=f"HTTP {status}") as raised:
            await channels.get("webhook").send(message("webhook", "lead-1", 1))
    assert getattr(raised.value, "suppress", None) is None


async def test_a_webhook_receiver_that_hangs_times_out_as_transient(settings, db):
    hold = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        await hold.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    configured = webhook_settings(settings, f"http://127.0.0.1:{port}/hook", webhook_timeout_seconds=0.3)
    try:
        async with built(configured, db) as channels:
            with pytest.raises(TransientSendError, match="timed out"):
                await channels.get("webhook").send(message("webhook", "lead-1", 1))
            refused = webhook_settings(settings, f"http://127.0.0.1:{free_port()}/hook")
            async with built(refused, db) as other:
                with pytest.raises(TransientSendError, match="unreachable"):
                    await other.get("webhook").send(message("webhook", "lead-1", 1))
    finally:
        hold.set()
        server.close()


# ---- the registry --------------------------------------------------------------------------------------------------


async def test_unconfigured_and_unknown_channels_are_permanent_failures(settings, db):
    async with built(settings, db) as channels:
        assert channels.available("email") and channels.available("sms") and not channels.available("webhook")
        with pytest.raises(ChannelUnavailable, match="WEBHOOK_URL") as raised:
            channels.get("webhook")
        assert isinstance(raised.value, PermanentSendError) and raised.value.suppress is None
        with pytest.raises(ChannelUnavailable, match="unknown channel"):
            channels.get("pigeon")
        assert channels.concurrency("email") == 2 and channels.concurrency("pigeon") == 1
    with pytest.raises(ChannelConfigError, match="WEBHOOK_SECRET"):
        channels_from_settings(
            settings.model_copy(update={"webhook_url": "https://x.test"}), SmtpPool(SmtpConfig("h", 1)), db
        )


def test_provider_secrets_stay_out_of_reprs_and_dumps(monkeypatch):
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "tw-secret")
    monkeypatch.setenv("WEBHOOK_SECRET", "wh-secret")
    monkeypatch.setenv("DKIM_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----")
    monkeypatch.setenv("SMS_PROVIDER", "twilio")
    monkeypatch.setenv("WHATSAPP_PROVIDER", "")
    loaded = Settings()
    assert loaded.twilio_auth_token == "tw-secret" and loaded.webhook_secret == "wh-secret"
    assert loaded.sms_provider == "twilio" and loaded.whatsapp_provider is None
    for shown in (repr(loaded), json.dumps(loaded.model_dump(mode="json")), loaded.model_dump_json()):
        assert "tw-secret" not in shown and "wh-secret" not in shown and "PRIVATE KEY" not in shown
