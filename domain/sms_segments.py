"""How many SMS segments a text costs: GSM-7 (160 / 153 per part) or UCS-2 (70 / 67 per part).

GSM 03.38: the basic table costs one septet per character, the extension table (`^ { } \\ [ ~ ] | €`) two, since
each is sent as ESC + character. Anything else (emoji, most accented letters, Cyrillic...) switches the whole
message to UCS-2, counted in UTF-16 code units. A multi-part message loses room to its concatenation header, and a
part never splits an ESC pair or a surrogate pair.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENDED = frozenset(GSM7_EXTENDED)
SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTI = {"GSM-7": 153, "UCS-2": 67}


@dataclass(frozen=True)
class SmsCount:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # as the person typing sees them (code points)
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # room in each part for this length (160/153 or 70/67)
    remaining: int  # units left in the last part
    non_gsm: tuple[str, ...]  # the characters that forced UCS-2, for the editor to point at


def count_sms(text: str) -> SmsCount:
    if all(ch in _BASIC or ch in _EXTENDED for ch in text):
        sizes = [2 if ch in _EXTENDED else 1 for ch in text]
        return _count("GSM-7", text, sizes, ())
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    offenders = tuple(dict.fromkeys(ch for ch in text if ch not in _BASIC and ch not in _EXTENDED))
    return _count("UCS-2", text, sizes, offenders)


def _count(encoding: str, text: str, sizes: list[int], offenders: tuple[str, ...]) -> SmsCount:
    units = sum(sizes)
    if units <= SINGLE[encoding]:
        segments = 1 if text else 0
        room = SINGLE[encoding]
        return SmsCount(encoding, len(text), units, segments, room, room - units, offenders)
    room = MULTI[encoding]
    segments, used = 1, 0
    for size in sizes:  # greedy: a 2-unit character that does not fit starts the next part
        if used + size > room:
            segments += 1
            used = 0
        used += size
    return SmsCount(encoding, len(text), units, segments, room, room - used, offenders)
