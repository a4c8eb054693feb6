"""Pure rules: sandboxed rendering, send eligibility, progress arithmetic, dev-server flags."""

from __future__ import annotations

import pytest

from core.settings import Settings
from core.temporal import dynamic_config_args, search_attribute_args
from domain.eligibility import SKIP_CONSENT_DENIED, SKIP_NO_EMAIL, SKIP_UNSUBSCRIBED, email_skip_reason
from domain.progress import percent_done
from domain.rendering import CompiledTemplate, MessageContent, TemplateError, message_context


def _context(lead: dict) -> dict:
    return message_context(lead, custom_keys=["company"], workspace={}, campaign=None, unsubscribe_url="")


def _email(subject: str, body_html: str, body_text: str = "") -> CompiledTemplate:
    return CompiledTemplate(MessageContent(channel="email", subject=subject, body_html=body_html, body_text=body_text))


def test_renders_lead_fields_and_custom_fields():
    template = _email("Hi {{ lead.first_name }}", "<p>{{ lead.full_name }} at {{ lead.custom.company }}</p>")
    lead = {"first_name": "Ada", "last_name": "Lovelace", "custom_fields": {"company": "Acme"}}
    rendered = template.render(_context(lead))
    assert rendered.subject == "Hi Ada"
    assert rendered.body_html == "<p>Ada Lovelace at Acme</p>"
    assert rendered.text == "Ada Lovelace at Acme"


def test_html_is_escaped_but_text_is_not():
    template = _email("{{ lead.first_name }}", "<b>{{ lead.first_name }}</b>", "{{ lead.first_name }}")
    rendered = template.render(_context({"first_name": "<script>x</script>"}))
    assert rendered.body_html == "<b>&lt;script&gt;x&lt;/script&gt;</b>"
    assert "<script>" not in rendered.html
    assert rendered.text == "<script>x</script>"


def test_subject_newlines_are_folded_so_headers_cannot_be_injected():
    template = _email("Hello {{ lead.first_name }}", "", "x")
    rendered = template.render(_context({"first_name": "Eve\r\nBcc: victim@example.com"}))
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


def test_sandbox_blocks_python_internals():
    template = _email("{{ lead.first_name.__class__.__mro__ }}", "", "x")
    with pytest.raises(TemplateError) as err:
        template.render(_context({"first_name": "x"}))
    assert err.value.part == "subject"


def test_syntax_error_names_the_part_and_line():
    with pytest.raises(TemplateError) as err:
        _email("ok", "<p>\n{% if %}</p>")
    assert err.value.part == "html" and err.value.line == 2 and "line 2" in str(err.value)


@pytest.mark.parametrize(
    ("lead", "reason"),
    [
        ({"email": "a@example.com", "consent_email": "granted", "status": "new"}, None),
        ({"email": "a@example.com", "consent_email": "unknown", "status": "new"}, None),
        ({"email": None, "consent_email": "granted"}, SKIP_NO_EMAIL),
        ({"email": "a@example.com", "consent_email": "denied"}, SKIP_CONSENT_DENIED),
        ({"email": "a@example.com", "consent_email": "granted", "status": "unsubscribed"}, SKIP_UNSUBSCRIBED),
    ],
)
def test_email_skip_reason(lead, reason):
    assert email_skip_reason(lead) == reason


def test_percent_done():
    assert percent_done(0, 0, 0, 0) == 0.0
    assert percent_done(3, 1, 0, 0) == 33.3
    assert percent_done(200, 150, 30, 20) == 100.0


def test_dev_server_flags_come_from_the_shared_dynamic_config():
    args = dynamic_config_args()
    assert "--dynamic-config-value" in args
    assert "frontend.enableUpdateWorkflowExecution=true" in args
    assert search_attribute_args() == ["--search-attribute", "CampaignId=Int"]


def test_empty_environment_values_mean_not_configured(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "")
    monkeypatch.setenv("DATABASE_URL", "")
    settings = Settings()
    assert settings.smtp_host is None and settings.database_url is None
    assert settings.smtp_target_host == "127.0.0.1"
