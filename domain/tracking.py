"""Email tracking rules (pure): which links are rewritten, UTM parameters, the open pixel, and machine detection.

Links. `track_links` passes the `href` of every `<a>` through `click_url_for` when it is an absolute http(s) URL.
Left alone: other schemes (`mailto:`, `tel:`, `sms:`...), anchors (`#top`) and relative links, the URLs in `skip`
(the unsubscribe link: a scanner following a tracked copy of it would count as a click, and RFC 8058 clients must see
the link itself), and links marked `<a data-no-track ...>`. `track_text_links` does the same for the URLs of a
plain-text part. `add_utm` adds utm_source/utm_medium/utm_campaign to a URL, keeping its query as it is and never
replacing a utm_* parameter the link already has (each one is checked on its own).

Machine detection. An open or a click is flagged `machine` (recorded, but it never sets `opened_at`/`clicked_at`, so
branches, A/B winners and filters see people only) when:

1. there is no User-Agent: every mail client and browser sends one;
2. the User-Agent is exactly `Mozilla/5.0`: Apple Mail Privacy Protection fetches every image of a message through
   Apple's proxies with that bare agent, whether or not the recipient opens it (for a click, no browser sends it);
3. the User-Agent names a link scanner or security gateway (Barracuda, Proofpoint, Mimecast, Microsoft SafeLinks and
   Defender, Google-Safety, Symantec/MessageLabs, Forcepoint, Trend Micro, Sophos, Fortinet, Zscaler, IronPort,
   Avanan, Cloudmark, SpamTitan) or an automated client (python-requests, urllib, httpx, aiohttp, curl, Wget,
   Go-http-client, Java, okhttp, Apache-HttpClient, libwww-perl, node-fetch, axios, Scrapy, HeadlessChrome, PhantomJS,
   link previewers such as facebookexternalhit, and anything calling itself a bot, crawler or spider);
4. it comes sooner after the send than a person could react: within OPEN_WINDOW_SECONDS of the message leaving (opens)
   or CLICK_WINDOW_SECONDS (clicks). Gateways fetch and follow while the message is delivered. A delivery without
   `sent_at` yet counts as just sent (its 'sent' mark is written in groups, a moment after the message left).
   The same rule in PostgreSQL (`timing_reason_sql`) serves the statement that records the events of many requests
   at once (api/tracking_recorder.py): the User-Agent rules 1 to 3 stay here (`open_agent_reason`,
   `click_agent_reason`; remembered per agent).

Limits. Many gateways (Microsoft Defender's detonation, Proofpoint's sandbox...) browse with an ordinary browser's
User-Agent from their own addresses, sometimes minutes later: only rule 4 catches them, and only when they are quick.
Addresses are not used (no IP ranges kept), so Apple's proxies are recognised by their agent alone; Apple Mail also
loads images through the same proxies with a fuller agent when the person really opens, which counts as human. Image
proxies that fetch when a person opens (Gmail's GoogleImageProxy, Yahoo's) count as human, but they cache: a second
open of the same message may never reach us. A phone or browser whose agent happens to contain "bot" (the CUBOT brand
is excepted) would be flagged. Open tracking needs images: a client that blocks them never reports an open, and a
click then sets `opened_at` too.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Iterator
from functools import lru_cache
from urllib.parse import parse_qsl, quote, urlencode

OPEN_WINDOW_SECONDS = 3.0
CLICK_WINDOW_SECONDS = 10.0
TOO_SOON = "too_soon"
NO_TRACK_ATTRIBUTE = "data-no-track"
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")

_HTTP_URL = re.compile(r"^https?://[^/?#\s\\]+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
# An <a> start tag; quoted values may contain '>'.
_A_TAG = re.compile(r"""<a(?=[\s>/])(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""(\s+)([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_TEXT_URL = re.compile(r"""https?://[^\s<>"]+""", re.IGNORECASE)
_TRAILING = ".,;:!?'"
_NO_TRACK = re.compile(re.escape(NO_TRACK_ATTRIBUTE), re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
PIXEL_TAG = (
    '<img src="{src}" width="1" height="1" alt="" border="0" '
    'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0;overflow:hidden">'
)

_SCANNERS = (
    "barracuda",
    "proofpoint",
    "mimecast",
    "safelinks",
    "microsoft defender",
    "google-safety",
    "symantec",
    "messagelabs",
    "forcepoint",
    "trendmicro",
    "trend micro",
    "sophos",
    "fortinet",
    "fortiguard",
    "zscaler",
    "ironport",
    "avanan",
    "cloudmark",
    "spamtitan",
)
_AUTOMATION = re.compile(
    r"python-requests|python-urllib|python-httpx|aiohttp|\bcurl/|\bwget/|go-http-client|\bjava/\d|okhttp"
    r"|apache-httpclient|libwww-perl|node-fetch|\baxios/|scrapy|headlesschrome|phantomjs|facebookexternalhit"
    r"|skypeuripreview|(?<!cu)bot\b|crawler|spider",
    re.IGNORECASE,
)
BARE_AGENT = "Mozilla/5.0"


# --- Links ------------------------------------------------------------------------------------------------------------


def is_trackable_url(url: str) -> bool:
    """An absolute http(s) URL with a host, without white space or control characters."""
    return bool(_HTTP_URL.match(url)) and not _CONTROL.search(url)


def _links(document: str) -> Iterator[tuple[re.Match[str], re.Match[str] | None, bool]]:
    """Each `<a>` tag: (the tag, its href attribute or None, whether it is marked data-no-track)."""
    for tag in _A_TAG.finditer(document):
        text = tag.group(0)
        href = None
        no_track = False
        for attribute in _ATTRIBUTE.finditer(text, 2, len(text) - 1):
            name = attribute.group(2).lower()
            if name == NO_TRACK_ATTRIBUTE:
                no_track = True
            elif name == "href" and href is None and any(value is not None for value in attribute.groups()[2:]):
                href = attribute
        yield tag, href, no_track


def _href_value(href: re.Match[str]) -> str:
    raw = next((group for group in href.groups()[2:] if group is not None), "")
    return html.unescape(raw).strip()


def track_links(document: str, click_url_for: Callable[[str], str], *, skip: Collection[str] = ()) -> str:
    """The HTML with each trackable `<a href>` replaced by `click_url_for(url)` (see the module docstring)."""
    pieces: list[str] = []
    last = 0
    for tag, href, no_track in _links(document):
        if href is None or no_track:
            continue
        url = _href_value(href)
        if url in skip or not is_trackable_url(url):
            continue
        new = click_url_for(url)
        if new == url:
            continue
        text = tag.group(0)
        attribute = f'{href.group(1)}{href.group(2)}="{html.escape(new, quote=True)}"'
        pieces += [document[last : tag.start()], text[: href.start()], attribute, text[href.end() :]]
        last = tag.end()
    if not pieces:
        return document
    pieces.append(document[last:])
    return "".join(pieces)


def untracked_urls(document: str) -> set[str]:
    """The URLs of links marked data-no-track (so that the plain-text part leaves them alone too)."""
    if not _NO_TRACK.search(document):
        return set()
    return {_href_value(href) for _tag, href, no_track in _links(document) if no_track and href is not None}


def track_text_links(text: str, click_url_for: Callable[[str], str], *, skip: Collection[str] = ()) -> str:
    """The plain text with each http(s) URL replaced by `click_url_for(url)`. Punctuation ending a sentence, and a
    closing parenthesis the URL did not open (`Read more (https://x.example/a).`), stay outside the URL."""

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and (url[-1] in _TRAILING or (url[-1] in ")]" and _unbalanced(url))):
            url, tail = url[:-1], url[-1] + tail
        if url in skip or not is_trackable_url(url):
            return match.group(0)
        return click_url_for(url) + tail

    return _TEXT_URL.sub(replace, text)


def _unbalanced(url: str) -> bool:
    closing = url[-1]
    opening = "(" if closing == ")" else "["
    return url.count(closing) > url.count(opening)


@lru_cache(maxsize=4096)
def add_utm(url: str, source: str, medium: str, campaign: str) -> str:
    """`url` with the UTM parameters it does not have yet, appended to its query (which is kept byte for byte)."""
    before_fragment, hash_sign, fragment = url.partition("#")
    path, _, query = before_fragment.partition("?")
    present = {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}
    extra = [
        (key, value)
        for key, value in zip(UTM_KEYS, (source, medium, campaign), strict=True)
        if value and key not in present
    ]
    if not extra:
        return url
    added = urlencode(extra, quote_via=quote)
    query = f"{query}&{added}" if query and not query.endswith("&") else f"{query}{added}"
    return f"{path}?{query}{hash_sign}{fragment}"


def add_query_parameter(url: str, name: str, value: str) -> str:
    """`url` with `name=value` appended to its query (kept byte for byte) before its fragment; unchanged when the
    query already has `name` (never replaced)."""
    before_fragment, hash_sign, fragment = url.partition("#")
    path, _, query = before_fragment.partition("?")
    if any(key == name for key, _ in parse_qsl(query, keep_blank_values=True)):
        return url
    added = urlencode([(name, value)], quote_via=quote)
    query = f"{query}&{added}" if query and not query.endswith("&") else f"{query}{added}"
    return f"{path}?{query}{hash_sign}{fragment}"


def add_open_pixel(document: str, pixel_url: str) -> str:
    """The 1×1 image at the end of the body (before `</body>`, or at the very end of a fragment)."""
    tag = PIXEL_TAG.format(src=html.escape(pixel_url, quote=True))
    ends = list(_BODY_END.finditer(document))
    if not ends:
        return f"{document}\n{tag}"
    at = ends[-1].start()
    return f"{document[:at]}\n{tag}{document[at:]}"


# --- Machine opens and clicks -----------------------------------------------------------------------------------------


# Every open and click is classified, and agents repeat a lot: remembered, up to this length (an agent is a header,
# which may be long; the memory stays bounded).
_CACHED_AGENT_CHARS = 512


def _agent_reason(user_agent: str | None, bare: str) -> str | None:
    agent = (user_agent or "").strip()
    return _cached_agent_reason(agent, bare) if len(agent) <= _CACHED_AGENT_CHARS else _read_agent(agent, bare)


@lru_cache(maxsize=4096)
def _cached_agent_reason(agent: str, bare: str) -> str | None:
    return _read_agent(agent, bare)


def _read_agent(agent: str, bare: str) -> str | None:
    if not agent:
        return "no_user_agent"
    if agent == BARE_AGENT:
        return bare
    lowered = agent.lower()
    if any(name in lowered for name in _SCANNERS):
        return "scanner"
    if _AUTOMATION.search(agent):
        return "bot"
    return None


def _timing_reason(seconds_since_sent: float | None, window: float) -> str | None:
    if seconds_since_sent is None or seconds_since_sent < window:
        return TOO_SOON
    return None


def timing_reason_sql(seconds_since_sent: str, window: str) -> str:
    """The timing rule (4.) in PostgreSQL, for a statement that reads `sent_at` and writes the event at once: a CASE
    over SQL expressions (columns or parameters, never input text) giving 'too_soon' or NULL, like `_timing_reason`."""
    return f"CASE WHEN {seconds_since_sent} IS NULL OR {seconds_since_sent} < {window} THEN '{TOO_SOON}' END"


def open_agent_reason(user_agent: str | None) -> str | None:
    """The User-Agent rules (1. to 3.) of an open: no_user_agent, apple_mpp, scanner, bot, or None."""
    return _agent_reason(user_agent, "apple_mpp")


def click_agent_reason(user_agent: str | None) -> str | None:
    """The User-Agent rules (1. to 3.) of a click: no_user_agent, bare_user_agent, scanner, bot, or None."""
    return _agent_reason(user_agent, "bare_user_agent")


def open_machine_reason(user_agent: str | None, seconds_since_sent: float | None) -> str | None:
    """Why an open looks automated (no_user_agent, apple_mpp, scanner, bot, too_soon), None for a person."""
    return open_agent_reason(user_agent) or _timing_reason(seconds_since_sent, OPEN_WINDOW_SECONDS)


def click_machine_reason(user_agent: str | None, seconds_since_sent: float | None) -> str | None:
    """Why a click looks automated (no_user_agent, bare_user_agent, scanner, bot, too_soon), None for a person."""
    return click_agent_reason(user_agent) or _timing_reason(seconds_since_sent, CLICK_WINDOW_SECONDS)


def is_machine_open(user_agent: str | None, seconds_since_sent: float | None) -> bool:
    return open_machine_reason(user_agent, seconds_since_sent) is not None


def is_machine_click(user_agent: str | None, seconds_since_sent: float | None) -> bool:
    return click_machine_reason(user_agent, seconds_since_sent) is not None
