"""Opt-out keywords of inbound SMS replies.

Carriers and providers (CTIA guidelines; Twilio's default opt-out handling) treat a reply that is one of these words,
alone, case-insensitive and with surrounding spaces or punctuation ignored, as an opt-out from the sender: Herald
suppresses SMS to that number. "stop please" or "don't stop" are not opt-outs.
"""

from __future__ import annotations

import re

OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")


def is_opt_out(body: str | None) -> bool:
    word = _EDGES.sub("", body or "").upper()
    return word in OPT_OUT_KEYWORDS
