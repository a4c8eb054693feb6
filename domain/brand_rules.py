"""A workspace's brand guidelines and the validator that checks a template's content against them.

Errors (a campaign using the template cannot launch): banned phrases, links outside the allowed domains, an email
without its footer (unsubscribe link, postal address), images heavier than allowed. Warnings: colours and fonts off
the palette. Every problem names the content field and, when it points at text, its line and column.

The HTML is scanned with a small tag/attribute tokenizer rather than a DOM parser, because positions in the source
the person typed (jinja tokens included) are what the editor needs.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from domain.rendering import MessageContent
from domain.template_tokens import TemplateProblem


@dataclass(frozen=True)
class BrandGuidelines:
    colors: tuple[str, ...] = ()
    fonts: tuple[str, ...] = ()
    logo_media_id: int | None = None
    require_footer: bool = True
    postal_address: str = ""
    banned_phrases: tuple[str, ...] = ()
    link_domains: tuple[str, ...] = ()
    max_image_bytes: int | None = None


NAMED_COLORS = {
    "black": "#000000",
    "silver": "#c0c0c0",
    "gray": "#808080",
    "grey": "#808080",
    "white": "#ffffff",
    "maroon": "#800000",
    "red": "#ff0000",
    "purple": "#800080",
    "fuchsia": "#ff00ff",
    "magenta": "#ff00ff",
    "green": "#008000",
    "lime": "#00ff00",
    "olive": "#808000",
    "yellow": "#ffff00",
    "navy": "#000080",
    "blue": "#0000ff",
    "teal": "#008080",
    "aqua": "#00ffff",
    "cyan": "#00ffff",
    "orange": "#ffa500",
    "pink": "#ffc0cb",
    "brown": "#a52a2a",
    "gold": "#ffd700",
}
GENERIC_FONTS = frozenset(
    {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui", "inherit", "initial", "unset"}
)
# Where a template points at a media asset: the editor's in-app URL, the public signed URL, or media:<id>.
MEDIA_SRC = re.compile(r"(?:/api/media/|/public/media/|^media:)(\d+)")

_HEX = re.compile(r"#([0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})\b")
_RGB = re.compile(r"rgba?\(\s*(\d{1,3})(%?)\s*[, ]\s*(\d{1,3})(%?)\s*[, ]\s*(\d{1,3})(%?)[^)]*\)", re.IGNORECASE)
_COLOR_TOKEN = re.compile(r"#[0-9a-fA-F]{3,8}\b|rgba?\([^)]*\)|\b(?:" + "|".join(NAMED_COLORS) + r")\b", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ATTR = re.compile(r"([^\s\"'>/=]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
_DECLARATION = re.compile(r"([\w-]+)\s*:\s*([^;}]+)")
_URL = re.compile(r"\bhttps?://[^\s<>\"'()\[\]{}]+|\bwww\.[^\s<>\"'()\[\]{}]+\.[a-z]{2,}[^\s<>\"'()\[\]{}]*", re.I)
_UNSUBSCRIBE = re.compile(r"\{\{[^}]*\bunsubscribe_url\b")
_ADDRESS_TOKEN = re.compile(r"\{\{[^}]*\bworkspace\s*\.\s*postal_address\b")
_FIELD_ORDER = ("subject", "preheader", "body_html", "body_text", "media_ids")
_COLOR_PROPERTIES = frozenset({"color", "background-color", "background", "border-color"})


def normalise_color(value: str) -> str | None:
    """`#ABC`, `#aabbcc`, `rgb(170, 187, 204)` and named colours as `#aabbcc`; None when not a plain colour."""
    value = value.strip().lower()
    if value in NAMED_COLORS:
        return NAMED_COLORS[value]
    match = _HEX.fullmatch(value)
    if match:
        digits = match.group(1)
        if len(digits) in (3, 4):
            digits = "".join(ch * 2 for ch in digits[:3])
        return "#" + digits[:6]
    match = _RGB.fullmatch(value)
    if match:
        channels = []
        for number, percent in zip(match.group(1, 3, 5), match.group(2, 4, 6), strict=True):
            level = int(number) * 255 // 100 if percent else int(number)
            channels.append(min(level, 255))
        return "#" + "".join(f"{channel:02x}" for channel in channels)
    return None


def normalise_domain(value: str) -> str:
    value = value.strip().lower()
    value = re.sub(r"^[a-z]+://", "", value)
    return value.split("/")[0].split(":")[0].lstrip("*.").rstrip(".")


def domain_allowed(host: str, allowed: Mapping[str, None] | tuple[str, ...] | set[str]) -> bool:
    """The host is an allowed domain or one of its subdomains."""
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in allowed if domain)


class _Source:
    """Offsets to 1-based line and column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


@dataclass(frozen=True)
class _Attribute:
    tag: str
    name: str
    value: str
    offset: int  # of the value's first character in the source


def _scan_html(source: str) -> tuple[list[_Attribute], list[tuple[int, str]], list[tuple[int, str]]]:
    """The attributes of every start tag, the text between tags, and the contents of <style> elements."""
    masked = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), source)
    attributes: list[_Attribute] = []
    texts: list[tuple[int, str]] = []
    styles: list[tuple[int, str]] = []
    position = 0
    raw: str | None = None  # inside <style> or <script>
    for tag in _TAG.finditer(masked):
        closing, name = tag.group(1), tag.group(2).lower()
        if raw is not None and not (closing and name == raw):
            continue  # a "<" inside CSS or a script
        if tag.start() > position:
            segment = (position, masked[position : tag.start()])
            if raw == "style":
                styles.append(segment)
            elif raw is None:
                texts.append(segment)
        if name in ("style", "script"):
            raw = None if closing else name
        if not closing:
            base = tag.start(3)
            for attr in _ATTR.finditer(tag.group(3)):
                for group in (2, 3, 4):
                    if attr.group(group) is not None:
                        value_offset = base + attr.start(group)
                        attributes.append(_Attribute(name, attr.group(1).lower(), attr.group(group), value_offset))
                        break
        position = tag.end()
    if position < len(masked):
        texts.append((position, masked[position:]))
    return attributes, texts, styles


def check_brand(
    content: MessageContent, guidelines: BrandGuidelines, *, image_bytes: Mapping[int, int]
) -> list[TemplateProblem]:
    """Every brand rule the content breaks; each problem names the field and, when it can, the line and column."""
    checker = _BrandChecker(content, guidelines, image_bytes)
    return checker.run()


class _BrandChecker:
    def __init__(self, content: MessageContent, guidelines: BrandGuidelines, image_bytes: Mapping[int, int]) -> None:
        self.content = content
        self.guidelines = guidelines
        self.image_bytes = image_bytes
        self.problems: list[TemplateProblem] = []
        self.domains = tuple(dict.fromkeys(normalise_domain(d) for d in guidelines.link_domains if d.strip()))
        self.colors = {c for c in (normalise_color(v) for v in guidelines.colors) if c}
        self.fonts = {_font_name(f) for f in guidelines.fonts if f.strip()}
        self.phrases = [_phrase_pattern(p) for p in guidelines.banned_phrases if p.strip()]

    def add(self, severity: str, rule: str, message: str, field: str, source: _Source | None, offset: int | None):
        line = column = None
        if source is not None and offset is not None:
            line, column = source.position(offset)
        self.problems.append(TemplateProblem(severity, rule, message, field, line, column))

    def run(self) -> list[TemplateProblem]:
        content = self.content
        if content.channel == "email":
            self.text_field("subject", content.subject)
            self.text_field("preheader", content.preheader)
            self.html_field("body_html", content.body_html)
            self.text_field("body_text", content.body_text)
            if self.guidelines.require_footer:
                self.footer()
        else:
            self.text_field("body_text", content.body_text)
            self.attached_media()
        order = {field: n for n, field in enumerate(_FIELD_ORDER)}
        return sorted(self.problems, key=lambda p: (order.get(p.field, 9), p.line is None, p.line or 0, p.column or 0))

    def text_field(self, field: str, text: str) -> None:
        if not text:
            return
        source = _Source(text)
        self.banned(field, source, [(0, text)])
        self.bare_links(field, source, [(0, text)])

    def html_field(self, field: str, body: str) -> None:
        if not body:
            return
        source = _Source(body)
        attributes, texts, styles = _scan_html(body)
        self.banned(field, source, texts)
        self.bare_links(field, source, texts)
        weight = 0
        counted: set[int] = set()
        for attr in attributes:
            if attr.name == "href" and attr.tag in ("a", "area"):
                self.link(field, source, attr.value, attr.offset)
            elif attr.name == "src" and attr.tag == "img":
                weight = self.image(field, source, attr, weight, counted)
            elif attr.name == "style":
                self.declarations(field, source, attr.value, attr.offset)
            elif attr.name in ("bgcolor", "color"):
                self.color(field, source, attr.value, attr.offset)
            elif attr.name == "face" and attr.tag == "font":
                self.font(field, source, attr.value, attr.offset)
        for offset, css in styles:
            self.declarations(field, source, css, offset)

    def banned(self, field: str, source: _Source, segments: list[tuple[int, str]]) -> None:
        for phrase, pattern in self.phrases:
            for offset, text in segments:
                for match in pattern.finditer(text):
                    message = f"banned phrase {phrase!r}"
                    self.add("error", "banned_phrase", message, field, source, offset + match.start())

    def bare_links(self, field: str, source: _Source, segments: list[tuple[int, str]]) -> None:
        if not self.domains:
            return
        for offset, text in segments:
            for match in _URL.finditer(text):
                self.link(field, source, match.group(0), offset + match.start())

    def link(self, field: str, source: _Source, url: str, offset: int) -> None:
        if not self.domains:
            return
        url = html.unescape(url.strip())
        if "{{" in url or "{%" in url:
            return  # a token (the unsubscribe link, a campaign URL) is checked where it is defined
        if url.lower().startswith("www."):
            url = "http://" + url
        try:
            parts = urlsplit(url)
        except ValueError:
            return
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return  # mailto:, tel:, #anchors and relative links stay on known ground
        if not domain_allowed(parts.hostname, self.domains):
            message = f"link to {parts.hostname}, which is not an allowed domain ({', '.join(self.domains)})"
            self.add("error", "link_domain", message, field, source, offset)

    def image(self, field: str, source: _Source, attr: _Attribute, weight: int, counted: set[int]) -> int:
        limit = self.guidelines.max_image_bytes
        match = MEDIA_SRC.search(html.unescape(attr.value))
        if limit is None or not match or int(match.group(1)) in counted:
            return weight
        media_id = int(match.group(1))
        counted.add(media_id)
        before, weight = weight, weight + self.image_bytes.get(media_id, 0)
        if weight > limit >= before:
            message = f"images weigh {_size(weight)} so far, over the {_size(limit)} allowed"
            self.add("error", "image_weight", message, field, source, attr.offset)
        return weight

    def attached_media(self) -> None:
        limit = self.guidelines.max_image_bytes
        if limit is None:
            return
        total = sum(self.image_bytes.get(media_id, 0) for media_id in dict.fromkeys(self.content.media_ids))
        if total > limit:
            message = f"media weigh {_size(total)}, over the {_size(limit)} allowed"
            self.add("error", "image_weight", message, "media_ids", None, None)

    def declarations(self, field: str, source: _Source, css: str, offset: int) -> None:
        if "{{" in css:
            css = re.sub(r"\{\{.*?\}\}", lambda m: " " * len(m.group(0)), css)
        for declaration in _DECLARATION.finditer(css):
            prop = declaration.group(1).lower()
            value_offset = offset + declaration.start(2)
            if prop in _COLOR_PROPERTIES:
                self.color(field, source, declaration.group(2), value_offset)
            elif prop == "font-family":
                self.font(field, source, declaration.group(2), value_offset)

    def color(self, field: str, source: _Source, value: str, offset: int) -> None:
        if not self.colors:
            return
        for token in _COLOR_TOKEN.finditer(value):
            color = normalise_color(token.group(0))
            if color and color not in self.colors:
                message = f"colour {token.group(0).strip()} is not in the brand palette"
                self.add("warning", "color", message, field, source, offset + token.start())

    def font(self, field: str, source: _Source, value: str, offset: int) -> None:
        if not self.fonts:
            return
        first = value.split(",")[0]
        name = _font_name(first)
        if name and name not in GENERIC_FONTS and name not in self.fonts:
            lead = len(first) - len(first.lstrip())
            message = f"font {first.strip()} is not a brand font"
            self.add("warning", "font", message, field, source, offset + lead)

    def footer(self) -> None:
        content = self.content
        field, body = "body_html", content.body_html
        if not body.strip():
            field, body = "body_text", content.body_text
        if not _UNSUBSCRIBE.search(body):
            message = "the email needs an unsubscribe link: add {{ unsubscribe_url }} to its footer"
            self.add("error", "footer_unsubscribe", message, field, None, None)
        if _ADDRESS_TOKEN.search(body):
            return
        address = "".join(self.guidelines.postal_address.split()).lower()  # compared without any whitespace
        text = body
        if field == "body_html":
            text = html.unescape(re.sub(r"<[^>]*>", "", _COMMENT.sub("", body)))
        if not address or address not in "".join(text.split()).lower():
            message = "the email needs the postal address in its footer: add {{ workspace.postal_address }}"
            self.add("error", "footer_address", message, field, None, None)


def _font_name(value: str) -> str:
    return value.strip().strip("'\"").strip().lower()


def _phrase_pattern(phrase: str) -> tuple[str, re.Pattern[str]]:
    words = phrase.split()
    body = r"\s+".join(re.escape(word) for word in words)
    return " ".join(words), re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _size(size: int) -> str:
    for unit, scale in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _iter_images(body: str) -> Iterator[int]:
    """Media ids of the images an email body embeds, in order, each once (for image weights)."""
    seen: set[int] = set()
    for attr in _scan_html(body)[0]:
        if attr.tag == "img" and attr.name == "src":
            match = MEDIA_SRC.search(html.unescape(attr.value))
            if match and int(match.group(1)) not in seen:
                seen.add(int(match.group(1)))
                yield int(match.group(1))


def embedded_media_ids(body_html: str) -> list[int]:
    """The media ids an email body's images point at (the caller loads their sizes for `image_bytes`)."""
    return list(_iter_images(body_html))
