"""Rendering a template version for one lead: every kind of token and fallback, the email document, other channels."""

from __future__ import annotations

import re
import time

import pytest

from domain.email_layout import html_to_text
from domain.rendering import (
    CompiledTemplate,
    MessageContent,
    RenderedMessage,
    TemplateError,
    message_context,
    render_string,
    sample_lead,
)

LEAD = {
    "id": 7,
    "first_name": "Zoë",
    "last_name": "Martin",
    "email": "zoe@example.com",
    "phone": "+33612345678",
    "company": "Globex",
    "job_title": "CTO",
    "status": "qualified",
    "country": "FR",
    "locale": "fr",
    "timezone": "Europe/Paris",
    "source": "webinar",
    "score": 87,
    "tags": ["vip", "webinar"],
    "custom_fields": {"plan": "pro", "seats": 12, "renewal": "2026-12-01", "beta": True},
}
WORKSPACE = {"name": "Acme Corp", "postal_address": "1 Harbour Street, Springfield"}
CAMPAIGN = {"id": 42, "name": "November news"}
CUSTOM_KEYS = ["plan", "seats", "renewal", "beta", "nickname"]


def context(lead: dict | None = None, **overrides) -> dict:
    options = {
        "custom_keys": CUSTOM_KEYS,
        "workspace": WORKSPACE,
        "campaign": CAMPAIGN,
        "unsubscribe_url": "https://herald.test/u/abc",
    } | overrides
    return message_context(LEAD if lead is None else lead, **options)


def text(source: str, lead: dict | None = None, **overrides) -> str:
    return render_string(source, context(lead, **overrides))


def email(body_html: str, *, subject: str = "Hi", preheader: str = "", body_text: str = "") -> CompiledTemplate:
    return CompiledTemplate(
        MessageContent(channel="email", subject=subject, preheader=preheader, body_html=body_html, body_text=body_text)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ lead.first_name }}", "Zoë"),
        ("{{ lead.last_name }}", "Martin"),
        ("{{ lead.full_name }}", "Zoë Martin"),
        ("{{ lead.email }}", "zoe@example.com"),
        ("{{ lead.phone }}", "+33612345678"),
        ("{{ lead.company }}", "Globex"),
        ("{{ lead.job_title }}", "CTO"),
        ("{{ lead.status }}", "qualified"),
        ("{{ lead.country }}", "FR"),
        ("{{ lead.locale }}", "fr"),
        ("{{ lead.timezone }}", "Europe/Paris"),
        ("{{ lead.source }}", "webinar"),
        ("{{ lead.score }}", "87"),
        ("{{ lead.tags | join(', ') }}", "vip, webinar"),
        ("{{ lead.custom.plan }}", "pro"),
        ("{{ lead.custom.seats * 2 }}", "24"),
        ("{{ lead.custom.renewal }}", "2026-12-01"),
        ("{{ lead.custom['plan'] }}", "pro"),
        ("{{ workspace.name }}", "Acme Corp"),
        ("{{ workspace.postal_address }}", "1 Harbour Street, Springfield"),
        ("{{ campaign.id }}", "42"),
        ("{{ campaign.name }}", "November news"),
        ("{{ unsubscribe_url }}", "https://herald.test/u/abc"),
    ],
)
def test_every_token_renders(source, expected):
    assert text(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('{{ lead.custom.nickname | default("friend") }}', "friend"),  # a custom field the lead has no value for
        ('{{ lead.custom.nickname | default("friend", true) }}', "friend"),
        ('{{ lead.custom.plan | default("free") }}', "pro"),
        ('{{ lead.custom.unknown | default("n/a") }}', "n/a"),  # undefined altogether
        ('{{ lead.custom.nickname or "friend" }}', "friend"),
        ('{% if lead.custom.plan == "pro" %}Pro{% else %}Free{% endif %}', "Pro"),
        ("{% if lead.custom.beta %}beta{% endif %}", "beta"),
        ("{% if lead.score >= 80 %}hot{% elif lead.score >= 50 %}warm{% else %}cold{% endif %}", "hot"),
        ('{% if "vip" in lead.tags %}VIP{% endif %}', "VIP"),
        ("{{ lead.custom.nickname }}", ""),
    ],
)
def test_fallbacks_and_conditionals(source, expected):
    assert text(source) == expected


def test_fallbacks_cover_empty_and_missing_lead_fields():
    blank = {"first_name": "", "last_name": None, "custom_fields": {}}
    assert text('{{ lead.first_name | default("there") }}', blank) == "there"
    assert text('{{ lead.first_name | default("there", true) }}', blank) == "there"
    assert text('{{ lead.first_name | d("there") }}', {"first_name": "   "}) == "there"
    assert text("[{{ lead.last_name }}][{{ lead.full_name }}][{{ lead.timezone }}]", blank) == "[][][UTC]"
    assert text("{% if not lead.custom.plan %}no plan{% endif %}", blank) == "no plan"
    assert text("{{ lead.score | default(0, true) }}", {"score": 0}) == "0"


def test_previews_without_a_campaign_see_empty_campaign_fields():
    assert text("[{{ campaign.id }}][{{ campaign.name }}]", campaign=None) == "[][]"


def test_context_carries_every_documented_field():
    values = context()
    assert set(values) == {"lead", "workspace", "campaign", "unsubscribe_url"}
    assert {
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "company",
        "job_title",
        "status",
        "country",
        "locale",
        "timezone",
        "source",
        "score",
        "tags",
        "custom",
    } <= set(values["lead"])
    assert values["lead"]["custom"]["nickname"] == "" and values["lead"]["custom"]["seats"] == 12
    assert values["workspace"] == WORKSPACE


def test_a_custom_field_named_like_a_dict_method_is_the_field():
    lead = {"custom_fields": {"items": "three", "keys": "k"}}
    assert text("{{ lead.custom.items }} {{ lead.custom.keys }}", lead, custom_keys=["items", "keys"]) == "three k"


def test_sample_lead_fills_every_field_and_custom_field():
    lead = sample_lead([("plan", "choice", ["free", "pro"]), ("seats", "number", []), ("since", "date", [])])
    values = message_context(
        lead, custom_keys=["plan", "seats", "since"], workspace={}, campaign=None, unsubscribe_url=""
    )
    assert values["lead"]["first_name"] and values["lead"]["email"]
    assert values["lead"]["custom"] == {"plan": "free", "seats": 42, "since": "2026-01-15"}


BODY = """<h1>Hello {{ lead.first_name | default("there") }},</h1>
<p>News for {{ lead.company }}: <a href="https://example.com/news?a=1&amp;b=2">read more</a>.</p>
<p><img src="/api/media/12/file/web" alt="Hero" style="width: 320px"><img src="media:13" alt=""></p>
<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>"""


def public(url: str) -> str:
    match = re.match(r"^(?:/api/media/|media:)(\d+)", url)
    return f"https://cdn.test/public/media/{match.group(1)}/web?sig=x&y=1" if match else url


def test_email_is_a_complete_responsive_document_with_inlined_css():
    message = email(BODY, subject="Hi {{ lead.first_name }}", preheader="Inside: {{ lead.company }}").render(
        context(), rewrite_url=public
    )
    assert isinstance(message, RenderedMessage)
    assert (message.subject, message.preheader) == ("Hi Zoë", "Inside: Globex")
    document = message.html
    assert document.startswith("<!DOCTYPE html>")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in document
    assert "max-width: 600px" in document and 'role="presentation"' in document
    assert re.search(r'<span class="herald-preheader" style="display:none[^"]*">Inside: Globex', document)
    assert "@media only screen and (max-width: 620px)" in document  # media queries stay in a style sheet
    assert re.search(r'<p style="margin: 0 0 16px 0;?">News for Globex', document)
    assert re.search(r'<a href="https://example.com/news\?a=1&amp;b=2" style="color: #2563eb;', document)
    # Images are capped at the column's width while keeping their own styles.
    assert re.search(
        r'<img src="https://cdn.test/public/media/12/web\?sig=x&amp;y=1" alt="Hero" style="[^"]*'
        r'max-width: 100%;[^"]*width: 320px',
        document,
    )
    assert 'src="https://cdn.test/public/media/13/web?sig=x&amp;y=1"' in document
    assert "/api/media/12" not in document and "media:13" not in document


def test_without_a_rewriter_image_sources_are_left_alone():
    message = email(BODY).render(context())
    assert 'src="/api/media/12/file/web"' in message.html


def test_plain_text_is_generated_from_the_html_when_empty():
    message = email(BODY, preheader="Hidden preview").render(context(), rewrite_url=public)
    assert message.text.startswith("Hello Zoë,\n\nNews for Globex: read more (https://example.com/news?a=1&b=2).")
    assert "Unsubscribe (https://herald.test/u/abc)" in message.text
    assert "Hidden preview" not in message.text and "<" not in message.text


def test_an_explicit_plain_text_part_wins():
    message = email(BODY, body_text="Hi {{ lead.first_name }}\n{{ unsubscribe_url }}").render(context())
    assert message.text == "Hi Zoë\nhttps://herald.test/u/abc"


def test_html_to_text_keeps_structure():
    body = "<p>One <b>bold</b></p><ul><li>a</li><li>b</li></ul><p><a href='https://x.test'>https://x.test</a></p>"
    assert html_to_text(body) == "One bold\n\n  * a\n  * b\n\nhttps://x.test"
    assert html_to_text("  ") == ""


def test_subject_and_preheader_are_single_lines_and_the_title_is_escaped():
    message = email("<p>x</p>", subject="A\n{{ lead.first_name }}", preheader="B\r\nC").render(
        context({"first_name": "<i>Eve</i>"})
    )
    assert (message.subject, message.preheader) == ("A <i>Eve</i>", "B C")
    assert "<title>A &lt;i&gt;Eve&lt;/i&gt;</title>" in message.html


def test_an_email_without_html_has_only_its_text():
    message = email("", body_text="Plain {{ lead.first_name }}").render(context())
    assert (message.html, message.text) == ("", "Plain Zoë")


@pytest.mark.parametrize("channel", ["sms", "whatsapp", "social"])
def test_other_channels_render_their_text_only(channel):
    content = MessageContent(
        channel=channel,
        subject="ignored {{",  # not compiled for these channels
        body_html="<p>ignored</p>",
        body_text="\nHi {{ lead.first_name | default('there') }}, {{ workspace.name }} <3\n",
    )
    message = CompiledTemplate(content).render(context())
    assert message == RenderedMessage(subject="", preheader="", html="", text="Hi Zoë, Acme Corp <3")


def test_a_rewriter_that_fails_is_a_template_error():
    def broken(url: str) -> str:
        raise RuntimeError("signing key missing")

    with pytest.raises(TemplateError, match="signing key missing") as err:
        email(BODY).render(context(), rewrite_url=broken)
    assert err.value.part == "html"


@pytest.mark.parametrize(
    ("field", "source", "part", "line", "column"),
    [
        ("subject", "Hi {{ lead.first_name }", "subject", 1, 23),
        ("preheader", "{% if %}", "preheader", 1, 1),
        ("body_html", "<p>\n  <b>{{ lead.first_name | nope }}</b>", "html", 2, 27),
        ("body_html", "<p>\n\n{% frobnicate %}</p>", "html", 3, 4),
        ("body_text", "one\n{{ x y }}", "text", 2, 6),
    ],
)
def test_syntax_errors_carry_part_line_and_column(field, source, part, line, column):
    content = {"subject": "ok", "body_html": "<p>ok</p>", field: source}
    with pytest.raises(TemplateError) as err:
        CompiledTemplate(MessageContent(channel="email", **content))
    assert (err.value.part, err.value.line, err.value.column) == (part, line, column)
    assert f"line {line}, column {column}" in str(err.value)


def test_unknown_channels_are_refused():
    with pytest.raises(TemplateError, match="unknown channel"):
        CompiledTemplate(MessageContent(channel="fax", body_text="x"))


def test_a_typical_email_renders_in_well_under_five_milliseconds():
    body = "\n".join([BODY] * 3 + ['{% if lead.custom.plan == "pro" %}<p>Pro perks</p>{% endif %}'])
    template = email(body, subject="{{ lead.first_name }}, news", preheader="For {{ lead.company }}")
    values = context()
    template.render(values, rewrite_url=public)
    rounds = 100
    started = time.perf_counter()
    for _ in range(rounds):
        template.render(values, rewrite_url=public)
    assert (time.perf_counter() - started) / rounds < 0.005


def test_a_template_error_survives_pickling_with_its_location():
    import pickle

    error = pickle.loads(pickle.dumps(TemplateError("html", "boom", line=2, column=3)))
    assert (error.part, error.message, error.line, error.column, str(error)) == (
        "html",
        "boom",
        2,
        3,
        "html, line 2, column 3: boom",
    )
