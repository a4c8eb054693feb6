"""The email document around a rendered body: responsive layout, inlined CSS, rewritten image URLs, plain text.

Email clients ignore most `<style>` sheets, so the layout's rules are inlined into each element by css-inline (the
only rules left in a `<style>` tag are the media queries, which cannot be inlined). The plain-text part comes from
the same HTML through inscriptis. Both are pure: css-inline never loads a remote stylesheet here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import css_inline
from inscriptis import get_text
from inscriptis.model.config import ParserConfig

MAX_WIDTH = 600

LAYOUT_CSS = """
body { margin: 0; padding: 0; width: 100%; background-color: #f4f4f5; }
.herald-outer { background-color: #f4f4f5; }
.herald-container { width: 100%; max-width: 600px; background-color: #ffffff; }
.herald-content {
  padding: 32px; color: #111827; font-size: 16px; line-height: 1.5;
  font-family: -apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif;
}
p { margin: 0 0 16px 0; }
h1 { margin: 0 0 16px 0; font-size: 28px; line-height: 1.25; }
h2 { margin: 0 0 14px 0; font-size: 22px; line-height: 1.3; }
h3 { margin: 0 0 12px 0; font-size: 18px; line-height: 1.35; }
a { color: #2563eb; text-decoration: underline; }
img { max-width: 100%; height: auto; border: 0; outline: none; text-decoration: none; }
ul, ol { margin: 0 0 16px 0; padding-left: 24px; }
li { margin: 0 0 4px 0; }
blockquote { margin: 0 0 16px 0; padding-left: 16px; border-left: 4px solid #e5e7eb; color: #4b5563; }
hr { border: 0; border-top: 1px solid #e5e7eb; margin: 24px 0; }
pre, code { font-family: Menlo, Consolas, 'Courier New', monospace; font-size: 14px; }
@media only screen and (max-width: 620px) {
  .herald-container { width: 100% !important; }
  .herald-content { padding: 16px !important; }
}
"""

# Keeps clients from padding the inbox preview with the start of the body after a short preheader.
_PREHEADER_FILLER = "&#847;&zwnj;&nbsp;" * 40
_PREHEADER_STYLE = (
    "display:none !important;visibility:hidden;mso-hide:all;font-size:1px;line-height:1px;"
    "max-height:0;max-width:0;opacity:0;overflow:hidden;color:transparent"
)

_inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True, extra_css=LAYOUT_CSS)
_text_config = ParserConfig(display_links=True, display_images=True)

_IMG_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_MD_LINK = re.compile(r"\[([^\[\]\n]*)\]\(([^()\s]*)\)")
_BLANK_LINES = re.compile(r"\n{3,}")
# Closing block tags (not table cells or divs, which may be laid out inline-block) and the head's elements.
_BLOCK_END = re.compile(
    r"(</(?:p|h[1-6]|li|ul|ol|blockquote|head|title|style)>|<(?:meta|br|hr)\b[^<>]*>)(?=<)", re.IGNORECASE
)


def rewrite_image_sources(body: str, rewrite_url: Callable[[str], str]) -> str:
    """Passes every `<img src>` through `rewrite_url` (which returns URLs it does not handle unchanged)."""

    def replace(match: re.Match[str]) -> str:
        raw = next(group for group in match.groups()[1:] if group is not None)
        url = rewrite_url(html.unescape(raw))
        return f'{match.group(1)}"{html.escape(url, quote=True)}"'

    return _IMG_SRC.sub(replace, body)


def email_document(body: str, *, subject: str, preheader: str) -> str:
    """The responsive document (600 px column, full width on phones) with the layout's CSS inlined."""
    hidden = ""
    if preheader:
        hidden = (
            f'<span class="herald-preheader" style="{_PREHEADER_STYLE}">'
            f"{html.escape(preheader)}{_PREHEADER_FILLER}</span>"
        )
    head, middle, before_body, tail = _SKELETON
    # Only the body changes from one message to the next, so only the body is inlined per message (a third of the
    # cost of inlining the whole document); the rest was inlined once, below.
    content = _inliner.inline_fragment(body, LAYOUT_CSS)
    return _break_lines(f"{head}{html.escape(subject)}{middle}{hidden}{before_body}{content}{tail}")


def _inlined_skeleton() -> tuple[str, str, str, str]:
    """The document around the title, the preheader and the body, CSS inlined: (head up to the title, from the
    title to the preheader, from the preheader to the body, the rest)."""
    slots = ("herald-slot-title", "herald-slot-preheader", "herald-slot-body")
    document = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="X-UA-Compatible" content="IE=edge">'
        '<meta name="x-apple-disable-message-reformatting">'
        f"<title>{slots[0]}</title></head>"
        f'<body class="herald-body">\n{slots[1]}\n'  # line breaks where white space does not render (_break_lines)
        '<table role="presentation" class="herald-outer" width="100%" cellpadding="0" cellspacing="0" border="0">'
        '<tr><td align="center">\n'
        f'<table role="presentation" class="herald-container" width="{MAX_WIDTH}" cellpadding="0" cellspacing="0" '
        'border="0" align="center">'
        f'<tr><td class="herald-content">{slots[2]}</td></tr>'
        "</table></td></tr></table></body></html>"
    )
    inlined = _inliner.inline(document)
    head, rest = inlined.split(slots[0])
    middle, rest = rest.split(slots[1])
    before_body, tail = rest.split(slots[2])
    return head, middle, before_body, tail


_SKELETON = _inlined_skeleton()


def _break_lines(document: str) -> str:
    """A line break after each closing block tag (and head element) that another tag follows.

    The serialised document is one line; SMTP caps lines at 998 octets, so a single line would go quoted-printable,
    folded every 76 characters. White space between block boxes does not render, so breaking there changes nothing
    on screen and keeps the lines short enough to send as they are. Never inside `<pre>`, where it would show.
    """
    if "<pre" in document.lower():
        return document
    return _BLOCK_END.sub("\\1\n", document)


def html_to_text(body: str) -> str:
    """Readable plain text of an HTML body: paragraphs and lists kept, links as `text (url)`."""
    if not body.strip():
        return ""
    text = get_text(body, _text_config)
    text = _MD_LINK.sub(_link_text, text)
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _link_text(match: re.Match[str]) -> str:
    label, url = match.group(1).strip(), match.group(2)
    if not url or url == label:
        return label or url
    if not label:
        return url
    return f"{label} ({url})"
