"""Save-time checks: syntax, unknown and unsafe tokens with line and column, channel rules; the token catalogue."""

from __future__ import annotations

import pytest

from domain.rendering import MessageContent
from domain.social_limits import SOCIAL_LIMITS, social_lengths, x_length
from domain.template_tokens import TemplateProblem, Token, check_template, token_catalogue

CUSTOM = [("plan", "Plan", "choice", ["free", "pro"]), ("seats", "Seats", "number"), ("items", "Items", "text")]
CATALOGUE = token_catalogue(CUSTOM)


def html_problems(body: str) -> list[TemplateProblem]:
    return check_template(MessageContent(channel="email", subject="Hi", body_html=body), CATALOGUE)


def found(problems: list[TemplateProblem]) -> list[tuple[str, str, int | None, int | None]]:
    return [(p.rule, p.field, p.line, p.column) for p in problems]


def test_the_catalogue_lists_every_token_group():
    groups = {token.group for token in CATALOGUE}
    assert groups == {"Lead", "Custom fields", "Workspace", "Campaign", "Links"}
    tokens = {token.token: token for token in CATALOGUE}
    assert tokens["{{ lead.first_name }}"] == Token("{{ lead.first_name }}", "First name", "Lead", "Alex")
    assert tokens["{{ lead.custom.plan }}"].example == "free" and tokens["{{ lead.custom.plan }}"].label == "Plan"
    assert tokens["{{ lead.custom.seats }}"].example == "42"
    for token in ("{{ workspace.postal_address }}", "{{ campaign.name }}", "{{ unsubscribe_url }}"):
        assert token in tokens
    named = token_catalogue([], workspace={"name": "Acme"})
    assert next(t for t in named if t.token == "{{ workspace.name }}").example == "Acme"


def test_every_catalogue_token_passes_the_checks():
    body = "\n".join(f"<p>{token.token}</p>" for token in CATALOGUE)
    assert html_problems(body) == []


def test_a_clean_template_with_logic_has_no_problems():
    body = """<p>Hi {{ lead.first_name | default("there", true) }}</p>
{% if lead.custom.plan == "pro" %}<p>Pro</p>{% else %}<p>{{ lead.custom.seats }} seats</p>{% endif %}
{% for tag in lead.tags %}{{ tag | upper }}{{ loop.index }}{{ loop.cycle("a", "b") }}{% endfor %}
{% set greeting = "Hello" %}{{ greeting }} {{ lead.first_name.upper() }} {{ lead.custom.items }}
{% macro badge(label) %}<b>{{ label }}</b>{% endmacro %}{{ badge(lead.status) }}
{% set ns = namespace(total=0) %}{% for n in range(3) %}{% set ns.total = ns.total + n %}{% endfor %}{{ ns.total }}
{{ lead.custom["plan"] }} {{ lead.custom.get("plan") }} <a href="{{ unsubscribe_url }}">Unsubscribe</a>"""
    assert html_problems(body) == []


@pytest.mark.parametrize(
    ("body", "rule", "line", "column"),
    [
        ("<p>{{ lead.nope }}</p>", "unknown_token", 1, 7),
        ("<p>\n  {{ lead.custom.nope }}</p>", "unknown_token", 2, 6),
        ("{{ lead['nope'] }}", "unknown_token", 1, 4),
        ("<p>{{ config }}</p>", "unknown_token", 1, 7),
        ("{{ first_name }}", "unknown_token", 1, 4),  # the old flat context
        ("{{ workspace.secret }}", "unknown_token", 1, 4),
        ("x {{ request.args }}", "unknown_token", 1, 6),
        ("{{ lipsum(3) }}", "unknown_token", 1, 4),
        ("{{ cycler('a', 'b') }}", "unknown_token", 1, 4),
        ("{{ joiner() }}", "unknown_token", 1, 4),
        ("{{ self }}", "unsafe", 1, 4),
        ("{{ ''.__class__.__mro__ }}", "unsafe", 1, 6),
        ("{{ lead.first_name.__class__ }}", "unsafe", 1, 19),
        ("{{ lead['__class__'] }}", "unsafe", 1, 8),
        ("<p>\n{{ lead.first_name|attr('format') }}</p>", "unsafe", 2, 19),
        ("{{ '{0}'.format_map({}) }}", "unsafe", 1, 9),
        ("{{ '{0}'.format(1) }}", "unsafe", 1, 9),
        ("{{ lead.first_name.encode() }}", "unsafe", 1, 19),
        ("{% for i in range(10**9) %}{% endfor %}", "unsafe", 1, 13),
        ("{% for i in range(1000 * 1000) %}{% endfor %}", "unsafe", 1, 13),
        ("{% include 'footer.html' %}", "unsupported", 1, 1),
        ("a\n{% extends 'base.html' %}", "unsupported", 2, 1),
        ("{% import 'm.html' as m %}", "unsupported", 1, 1),
        ("{{ lead.first_name | nope }}", "syntax", 1, 20),
        ('{% if lead.custom.plan == "pro" %}{{ lead.first_name|nope }}{% endif %}', "syntax", 1, 53),
        ("{% if lead.score is nope %}x{% endif %}", "syntax", 1, 18),
        ("<p>\n\n  {% if %}</p>", "syntax", 3, 3),
        ("{{ lead.first_name }", "syntax", 1, 20),
        ("{% for x in lead.tags %}", "syntax", 1, 4),
        ("{% frobnicate %}", "syntax", 1, 4),
    ],
)
def test_problems_point_at_line_and_column(body, rule, line, column):
    problems = [p for p in html_problems(body) if p.severity == "error"]
    assert (rule, "body_html", line, column) in found(problems), problems


def test_unsafe_output_switches_are_warnings():
    problems = html_problems("{{ lead.first_name | safe }}{% autoescape false %}{{ lead.company }}{% endautoescape %}")
    assert [(p.severity, p.rule, p.column) for p in problems] == [("warning", "unsafe", 20), ("warning", "unsafe", 32)]
    text_only = check_template(MessageContent(channel="sms", body_text="{{ lead.first_name | safe }}"), CATALOGUE)
    assert text_only == []


def test_problems_name_each_field():
    content = MessageContent(
        channel="email",
        subject="Hi {{ lead.nope }}",
        preheader="{{ config }}",
        body_html="<p>{{ lead.first_name }</p>",
        body_text="{{ self }}",
    )
    assert found(check_template(content, CATALOGUE)) == [
        ("unknown_token", "subject", 1, 7),
        ("unknown_token", "preheader", 1, 4),
        ("syntax", "body_html", 1, 23),
        ("unsafe", "body_text", 1, 4),
    ]


def test_a_custom_field_that_no_longer_exists_is_unknown():
    problems = check_template(MessageContent(channel="sms", body_text="{{ lead.custom.plan }}"), token_catalogue([]))
    assert found(problems) == [("unknown_token", "body_text", 1, 4)]
    assert problems[0].message == "unknown token 'lead.custom.plan'"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (MessageContent(channel="email", body_html="<p>x</p>"), [("required", "subject")]),
        (MessageContent(channel="email", subject="s"), [("required", "body_html")]),
        (MessageContent(channel="email", subject="s" * 999, body_html="x"), [("too_long", "subject")]),
        (MessageContent(channel="email", subject="s", preheader="p" * 251, body_html="x"), [("too_long", "preheader")]),
        (MessageContent(channel="email", subject="s", body_html="x", media_ids=(1,)), [("not_allowed", "media_ids")]),
        (MessageContent(channel="sms", body_text="  "), [("required", "body_text")]),
        (MessageContent(channel="sms", body_text="a" * 1601), [("too_long", "body_text")]),
        (MessageContent(channel="sms", body_text="a", media_ids=(1,)), [("not_allowed", "media_ids")]),
        (MessageContent(channel="whatsapp", body_text="a", media_ids=(1, 2)), [("too_many", "media_ids")]),
        (
            MessageContent(channel="whatsapp", body_text="a", whatsapp_template="Promo-1"),
            [("invalid", "whatsapp_template")],
        ),
        (MessageContent(channel="whatsapp", body_text="a" * 4097), [("too_long", "body_text")]),
        (
            MessageContent(channel="sms", body_text="a", whatsapp_template="promo"),
            [("not_allowed", "whatsapp_template")],
        ),
        (MessageContent(channel="social", body_text="a"), [("required", "social_networks")]),
        (
            MessageContent(channel="social", body_text="a", social_networks=("myspace",)),
            [("invalid", "social_networks")],
        ),
        (
            MessageContent(channel="social", body_text="a" * 281, social_networks=("x", "linkedin")),
            [("too_long", "body_text")],
        ),
        (
            MessageContent(channel="social", body_text="a", social_networks=["x"], media_ids=[1, 2, 3, 4, 5]),
            [("too_many", "media_ids")],
        ),
        (
            MessageContent(channel="email", body_text="a", social_networks=("x",), subject="s", body_html="x"),
            [("not_allowed", "social_networks")],
        ),
        (MessageContent(channel="fax", body_text="a"), [("invalid", "channel")]),
    ],
)
def test_channel_field_rules(content, expected):
    assert [(p.rule, p.field) for p in check_template(content, CATALOGUE)] == expected


@pytest.mark.parametrize(
    "content",
    [
        MessageContent(
            channel="email", subject="Hello {{ lead.first_name }}", preheader="p" * 250, body_html="<p>x</p>"
        ),
        MessageContent(channel="sms", body_text="Hi {{ lead.first_name }}"),
        MessageContent(channel="whatsapp", body_text="Hi", media_ids=[3], whatsapp_template="order_update_2"),
        MessageContent(
            channel="social", body_text="a" * 280, social_networks=["x", "linkedin", "facebook"], media_ids=[1, 2, 3, 4]
        ),
    ],
)
def test_valid_content_of_each_channel_passes(content):
    assert check_template(content, CATALOGUE) == []


def test_social_lengths_per_network():
    rows = social_lengths("a" * 300, ["x", "linkedin", "x", "nope"])
    assert rows == [
        {"network": "x", "limit": 280, "length": 300, "over": True},
        {"network": "linkedin", "limit": 3000, "length": 300, "over": False},
    ]
    assert SOCIAL_LIMITS == {"x": 280, "linkedin": 3000, "facebook": 63206}
    assert social_lengths("é" * 63207, ["facebook"])[0]["over"] is True


def test_x_counts_links_as_23_and_wide_characters_as_2():
    assert x_length("see https://example.com/a/very/long/path/that/goes/on?and=on") == 4 + 23
    assert x_length("日本") == 4 and x_length("😀") == 2 and x_length("café") == 4
