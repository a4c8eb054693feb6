"""The brand validator: banned phrases, link domains, footer, image weight (errors); colours and fonts (warnings)."""

from __future__ import annotations

import pytest

from domain.brand_rules import (
    BrandGuidelines,
    check_brand,
    domain_allowed,
    embedded_media_ids,
    normalise_color,
    normalise_domain,
)
from domain.rendering import MessageContent

FOOTER = '<p>{{ workspace.postal_address }} · <a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
NO_FOOTER = BrandGuidelines(require_footer=False)


def email(body_html: str, *, subject: str = "Hello", preheader: str = "", body_text: str = "") -> MessageContent:
    return MessageContent(
        channel="email", subject=subject, preheader=preheader, body_html=body_html, body_text=body_text
    )


def problems(content: MessageContent, guidelines: BrandGuidelines, image_bytes: dict | None = None) -> list[tuple]:
    return [
        (p.severity, p.rule, p.field, p.line, p.column)
        for p in check_brand(content, guidelines, image_bytes=image_bytes or {})
    ]


def at(body: str, line: int, needle: str) -> tuple[int, int]:
    """(line, column) of `needle` on a 1-based line of `body`."""
    return line, body.split("\n")[line - 1].index(needle) + 1


def test_a_compliant_email_has_no_problems():
    guidelines = BrandGuidelines(
        colors=("#4F46E5", "#111"),
        fonts=("Inter",),
        postal_address="1 Harbour Street",
        banned_phrases=("free money",),
        link_domains=("example.com",),
        max_image_bytes=500_000,
    )
    body = (
        '<p style="color: #4f46e5; font-family: Inter, Arial, sans-serif">Hi {{ lead.first_name }}, '
        '<a href="https://www.example.com/offer">see the offer</a> or write to <a href="mailto:a@b.test">us</a>.</p>'
        '<p><img src="/api/media/3/file/web" alt=""><span style="color: #111111">x</span></p>' + FOOTER
    )
    assert problems(email(body), guidelines, {3: 200_000}) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (email("<p>Get FREE\n  money today</p>", subject="x"), [("body_html", 1, 8)]),
        (email("<p>ok</p>", subject="Free money inside"), [("subject", 1, 1)]),
        (email("<p>ok</p>", preheader="so, free money!"), [("preheader", 1, 5)]),
        (email("<p>ok</p>", body_text="line\nfree money"), [("body_text", 2, 1)]),
        (MessageContent(channel="sms", body_text="Claim your free money"), [("body_text", 1, 12)]),
        (MessageContent(channel="social", body_text="FREE MONEY", social_networks=("x",)), [("body_text", 1, 1)]),
        (email("<p>freemoney and free moneys</p>"), []),  # whole words only
        (email('<p><a href="https://x.test/free-money">ok</a></p><!-- free money -->'), []),  # not in text
    ],
)
def test_banned_phrases_are_errors_anywhere(content, expected):
    guidelines = BrandGuidelines(require_footer=False, banned_phrases=("free money", "  "))
    found = problems(content, guidelines)
    assert found == [("error", "banned_phrase", field, line, column) for field, line, column in expected]


def test_links_must_stay_on_allowed_domains_and_their_subdomains():
    guidelines = BrandGuidelines(require_footer=False, link_domains=("https://Example.com/", "partner.org"))
    body = """<p><a href="https://example.com">a</a> <a href='http://news.example.com/x'>b</a>
<a href="https://evil.com/?u=example.com">c</a> <a href="https://notexample.com">d</a>
<a href="{{ unsubscribe_url }}">u</a> <a href="mailto:x@evil.com">m</a> <a href="#top">t</a> <a href="/rel">r</a>
Visit https://shop.partner.org/sale or https://spam.test/x and www.other.net today.</p>"""
    found = problems(email(body), guidelines)
    assert found == [
        ("error", "link_domain", "body_html", *at(body, 2, "https://evil.com")),
        ("error", "link_domain", "body_html", *at(body, 2, "https://notexample.com")),
        ("error", "link_domain", "body_html", *at(body, 4, "https://spam.test")),
        ("error", "link_domain", "body_html", *at(body, 4, "www.other.net")),
    ]
    text = MessageContent(channel="sms", body_text="Go to https://bad.test now or https://example.com")
    assert problems(text, guidelines) == [("error", "link_domain", "body_text", 1, 7)]
    assert problems(text, BrandGuidelines()) == []  # no allow-list: any domain


def test_domain_helpers():
    assert normalise_domain(" HTTPS://www.Example.com/path ") == "www.example.com"
    assert normalise_domain("*.example.com") == "example.com"
    assert domain_allowed("a.b.example.com", ("example.com",))
    assert not domain_allowed("example.com.evil.test", ("example.com",))


def test_an_email_needs_its_footer():
    guidelines = BrandGuidelines(postal_address="1 Harbour Street,  Springfield")
    missing = problems(email("<p>Hi</p>"), guidelines)
    assert [rule for _, rule, *_ in missing] == ["footer_unsubscribe", "footer_address"]
    assert all(severity == "error" and field == "body_html" for severity, _, field, *_ in missing)
    typed_address = '<p>1 Harbour <b>Street</b>, Springfield · <a href="{{unsubscribe_url}}">Stop</a></p>'
    assert problems(email(typed_address), guidelines) == []
    assert problems(email(FOOTER), BrandGuidelines()) == []
    no_address = problems(email('<a href="{{ unsubscribe_url }}">x</a>'), BrandGuidelines())
    assert [rule for _, rule, *_ in no_address] == ["footer_address"]
    text_only = email("", body_text="Hi\n{{ workspace.postal_address }}\n{{ unsubscribe_url }}")
    assert problems(text_only, BrandGuidelines()) == []
    assert problems(email("<p>Hi</p>"), NO_FOOTER) == []
    assert problems(MessageContent(channel="sms", body_text="Hi"), BrandGuidelines()) == []  # email only


def test_total_image_weight_is_capped():
    guidelines = BrandGuidelines(require_footer=False, max_image_bytes=1_000_000)
    body = """<p><img src="/api/media/1/file/web"></p>
<p><img src="/api/media/1/file/web"><img alt="x" src="https://cdn.test/public/media/2/web?sig=a"></p>
<p><img src="media:3"></p>"""
    sizes = {1: 600_000, 2: 300_000, 3: 200_000}
    found = check_brand(email(body), guidelines, image_bytes=sizes)
    assert [(p.rule, p.line, p.column) for p in found] == [("image_weight", *at(body, 3, "media:3"))]
    assert "1.1 MB" in found[0].message and "1.0 MB" in found[0].message
    assert problems(email(body), guidelines, {1: 600_000, 2: 300_000, 3: 100_000}) == []
    assert embedded_media_ids(body) == [1, 2, 3]
    whatsapp = MessageContent(channel="whatsapp", body_text="x", media_ids=(5,))
    assert problems(whatsapp, guidelines, {5: 2_000_000}) == [("error", "image_weight", "media_ids", None, None)]


def test_colours_off_the_palette_are_warnings():
    guidelines = BrandGuidelines(require_footer=False, colors=("#ABC", "rgb(255, 255, 255)", "Black"))
    body = """<p style="color:#aabbcc;background-color: #FFF">a</p>
<td bgcolor="#ff0000"><font color="black">b</font></td>
<span style="background: url(x.png) #123456 no-repeat; border-color: rgb(0, 0, 0)">c</span>
<mark data-color="#00ff00" style="background-color: rgba(1, 2, 3, 0.5); color: inherit">d</mark>
<style>h1 { color: red; }</style>"""
    found = problems(email(body), guidelines)
    assert found == [
        ("warning", "color", "body_html", *at(body, 2, "#ff0000")),
        ("warning", "color", "body_html", *at(body, 3, "#123456")),
        ("warning", "color", "body_html", *at(body, 4, "rgba(1, 2, 3")),
        ("warning", "color", "body_html", *at(body, 5, "red")),
    ]
    assert problems(email(body), NO_FOOTER) == []  # no palette: anything goes


def test_colour_normalisation():
    assert normalise_color("#ABC") == normalise_color("#aabbcc") == "#aabbcc"
    assert normalise_color("rgb(170, 187, 204)") == "#aabbcc"
    assert normalise_color("RGBA(100%, 0%, 0%, .5)") == "#ff0000"
    assert normalise_color("#aabbcc80") == "#aabbcc"
    assert normalise_color("White") == "#ffffff"
    assert normalise_color("inherit") is None and normalise_color("#ab") is None


def test_fonts_off_the_list_are_warnings():
    guidelines = BrandGuidelines(require_footer=False, fonts=("Inter", "'Helvetica Neue'"))
    body = """<p style="font-family: Inter, Arial">a</p><p style='font-family: "Helvetica Neue", sans-serif'>b</p>
<p style="font-family: 'Comic Sans MS', Inter">c</p><font face="Papyrus">d</font>
<p style="font-family: sans-serif">e</p>"""
    found = check_brand(email(body), guidelines, image_bytes={})
    assert [(p.severity, p.rule, p.line, p.column) for p in found] == [
        ("warning", "font", *at(body, 2, "'Comic Sans MS'")),
        ("warning", "font", *at(body, 2, "Papyrus")),
    ]
    assert "'Comic Sans MS'" in found[0].message


def test_problems_come_in_field_then_position_order():
    guidelines = BrandGuidelines(banned_phrases=("spam",), colors=("#000",))
    content = email('<p style="color: red">spam</p>', subject="spam", body_text="spam")
    assert [(p.field, p.rule) for p in check_brand(content, guidelines, image_bytes={})] == [
        ("subject", "banned_phrase"),
        ("body_html", "color"),
        ("body_html", "banned_phrase"),
        ("body_html", "footer_unsubscribe"),
        ("body_html", "footer_address"),
        ("body_text", "banned_phrase"),
    ]
