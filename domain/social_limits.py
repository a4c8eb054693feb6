"""Per-network length limits of a social post.

X counts like its twitter-text library: every link is 23 characters (t.co), code points from Latin, Greek, Cyrillic
and common punctuation count 1, everything else (CJK, emoji...) counts 2. LinkedIn and Facebook count characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SOCIAL_LIMITS = {"x": 280, "linkedin": 3000, "facebook": 63206}
X_LINK_LENGTH = 23
_X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_URL = re.compile(r"\bhttps?://[^\s<>\"']+|\bwww\.[^\s<>\"']+\.[^\s<>\"']+", re.IGNORECASE)


def x_length(text: str) -> int:
    """The length X counts for a post."""
    length = 0
    position = 0
    for match in _URL.finditer(text):
        length += _x_weight(text[position : match.start()]) + X_LINK_LENGTH
        position = match.end()
    return length + _x_weight(text[position:])


def _x_weight(text: str) -> int:
    return sum(1 if any(low <= ord(ch) <= high for low, high in _X_LIGHT_RANGES) else 2 for ch in text)


def post_length(text: str, network: str) -> int:
    return x_length(text) if network == "x" else len(text)


def social_lengths(text: str, networks: Iterable[str]) -> list[dict]:
    """`[{network, limit, length, over}]` for each known network, in the order given."""
    result = []
    for network in dict.fromkeys(networks):
        limit = SOCIAL_LIMITS.get(network)
        if limit is None:
            continue
        length = post_length(text, network)
        result.append({"network": network, "limit": limit, "length": length, "over": length > limit})
    return result
