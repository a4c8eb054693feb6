"""Herald's MIME composer: what it writes parses back, with the stdlib's parser, to exactly what went in."""

from __future__ import annotations

from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage

import pytest

from activities.email_message import build_email
from domain.email_layout import email_document, html_to_text
from domain.rendering import RenderedMessage

HTML = "<html><body><p>Hi Zoë, 20% off = a deal</p><p><a href='https://x.test/o?a=1&b=2'>Offer</a></p></body></html>"


def compose(**overrides):
    fields = {
        "mail_from": "Herald News <news@herald.test>",
        "to_email": "ada@example.com",
        "to_name": "Ada Lovelace",
        "rendered": RenderedMessage(subject="Spring sale", preheader="", html=HTML, text="Hi Ada,\nspring sale."),
        "message_id": "<herald-r1-s0-l7@herald.test>",
        "delivery_key": "1:0:7",
        "workspace_id": 3,
        "unsubscribe_url": "https://herald.test/u/abc.def",
    }
    return build_email(**(fields | overrides))


def parsed(email) -> EmailMessage:
    return message_from_bytes(email.data, policy=policy.default)  # type: ignore[return-value]


def content(part) -> str:
    """A text part's content with the wire's CRLF line ends read as newlines."""
    return part.get_content().replace("\r\n", "\n")


def test_headers_and_both_parts_parse_back_to_the_input():
    email = compose()
    message = parsed(email)

    assert (email.sender, email.recipients, email.smtputf8) == ("news@herald.test", ("ada@example.com",), False)
    assert message["From"].addresses[0].display_name == "Herald News"
    assert message["From"].addresses[0].addr_spec == "news@herald.test"
    assert message["To"].addresses[0].display_name == "Ada Lovelace"
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    assert message["Subject"] == "Spring sale"
    assert message["Message-ID"] == "<herald-r1-s0-l7@herald.test>"
    assert message["X-Herald-Delivery"] == "1:0:7" and message["X-Herald-Workspace"] == "3"
    assert message["List-Unsubscribe"] == "<https://herald.test/u/abc.def>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"].datetime is not None and message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "multipart/alternative"
    assert content(message.get_body(("plain",))) == "Hi Ada,\nspring sale.\n"
    assert content(message.get_body(("html",))) == HTML + "\n"
    assert email.header("Message-ID") == "<herald-r1-s0-l7@herald.test>"
    assert b"\r\n" in email.data and b"\n" not in email.data.replace(b"\r\n", b"")  # CRLF line ends only


def test_non_ascii_names_and_long_subjects_are_encoded_and_folded():
    subject = "Offre d'automne pour Zoë — 20 % de remise sur toute la collection, jusqu'à dimanche soir"
    email = compose(
        to_name='Zoë "Zo" Ångström, PhD',
        rendered=RenderedMessage(subject=subject, preheader="", html="", text="Bonjour Zoë"),
    )
    message = parsed(email)
    head = email.data.split(b"\r\n\r\n", 1)[0]

    assert head.isascii()
    assert all(len(line) <= 78 for line in head.split(b"\r\n") if line.startswith((b"Subject", b" ", b"\t")))
    assert message["Subject"] == subject
    assert message["To"].addresses[0].display_name == 'Zoë "Zo" Ångström, PhD'
    assert message["To"].addresses[0].addr_spec == "ada@example.com"
    assert message.get_content_type() == "text/plain"  # no HTML: one part
    assert content(message) == "Bonjour Zoë\n"


def test_a_long_ascii_subject_is_folded_not_encoded():
    subject = "A rather long subject line " * 6
    message = parsed(compose(rendered=RenderedMessage(subject=subject, preheader="", html="", text="x")))
    assert message["Subject"] == subject.strip()


def test_line_breaks_in_lead_data_cannot_inject_headers():
    email = compose(
        to_name="Ada\r\nBcc: victim@example.com",
        rendered=RenderedMessage(subject="Hi\r\nBcc: victim@example.com", preheader="", html="", text="x"),
    )
    message = parsed(email)
    assert message["Bcc"] is None
    assert message["Subject"] == "Hi Bcc: victim@example.com"
    assert message["To"].addresses[0].addr_spec == "ada@example.com"


@pytest.mark.parametrize(
    "address", ["nobody", "a b@example.com", "ada@example.com>\r\nBcc: x@y.z", "<ada@example.com>", "a@b@c", ""]
)
def test_an_address_that_cannot_be_sent_to_is_refused(address):
    with pytest.raises(ValueError):
        compose(to_email=address)


def test_a_non_ascii_address_needs_smtputf8():
    email = compose(to_email="zoë@exämple.fr")
    assert email.smtputf8 and email.recipients == ("zoë@exämple.fr",)
    message = message_from_string(email.data.decode("utf-8"), policy=policy.SMTPUTF8)
    assert message["To"].addresses[0].addr_spec == "zoë@exämple.fr"


def test_awkward_bodies_survive_the_transfer_encoding():
    text = (
        ".starts with a dot\n"
        "trailing spaces   \n"
        "tab\tand = signs =3D\r\n"
        "Ünïcödé ✓ and emoji 🎉\n"
        + "x" * 1200  # longer than SMTP's 998-octet line limit
        + "\nFrom the start of a line\n--not-a-boundary"
    )
    email = compose(rendered=RenderedMessage(subject="s", preheader="", html="<p>" + "y" * 1500 + "</p>", text=text))
    message = parsed(email)

    assert all(len(line) <= 998 for line in email.data.split(b"\r\n"))
    assert email.data.isascii()
    assert content(message.get_body(("plain",))) == text.replace("\r\n", "\n") + "\n"
    assert content(message.get_body(("html",))) == "<p>" + "y" * 1500 + "</p>\n"


def test_a_test_send_is_marked_in_the_subject_and_a_header():
    message = parsed(compose(test=True))
    assert message["Subject"] == "[Test] Spring sale" and message["X-Herald-Test"] == "1"
    assert parsed(compose())["X-Herald-Test"] is None


def test_the_boundary_is_never_found_in_a_part():
    message = parsed(compose())
    boundary = message.get_boundary()
    assert boundary and boundary.encode() not in content(message.get_body(("html",))).encode()
    assert len(message.get_payload()) == 2


def test_a_rendered_document_goes_as_it_is_in_short_lines_not_quoted_printable():
    body = "".join(f"<p>Paragraph {n} for Zoë, with a <a href='https://x.test/{n}'>link</a>.</p>" for n in range(40))
    html = email_document(body, subject="News", preheader="Autumn news")
    email = compose(rendered=RenderedMessage(subject="News", preheader="", html=html, text="Zoë"), eight_bit=True)
    part = parsed(email).get_body(("html",))

    assert email.eight_bit and part["Content-Transfer-Encoding"] == "8bit"
    assert all(len(line) <= 998 for line in email.data.split(b"\r\n"))
    assert content(part) == html + "\n"
    assert html.count("\n") > 40  # a line per paragraph
    # The breaks fall only between block boxes: the text a reader sees is unchanged.
    assert html_to_text(html) == html_to_text(html.replace("\n", ""))


def test_without_8bitmime_non_ascii_text_goes_quoted_printable():
    email = compose(rendered=RenderedMessage(subject="s", preheader="", html="<p>Zoë</p>", text="Zoë"))
    assert not email.eight_bit and email.data.isascii()
    assert content(parsed(email).get_body(("html",))) == "<p>Zoë</p>\n"


def test_preformatted_text_keeps_its_lines():
    html = email_document("<pre>line one</pre><p>a</p><p>b</p>", subject="s", preheader="")
    assert '<p style="margin: 0 0 16px 0;">a</p><p' in html  # no break added where a <pre> is
