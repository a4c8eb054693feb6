"""Which kind of device an open or a click came from, by its User-Agent: mobile, tablet, desktop or other.

A rough split for the report's breakdown, not a device database: tablets first (iPad, Android without "Mobile",
"Tablet"), then phones ("Mobile", iPhone, Android), then desktops (Windows, Macintosh, X11/Linux, CrOS); anything
else (mail proxies such as GoogleImageProxy, empty agents) is "other". The same rules in Python (`device_of`) and in
PostgreSQL (`device_sql`), so that a report over millions of events classifies them in the database.
"""

from __future__ import annotations

import re

# (device, PostgreSQL case-insensitive regex), first match wins.
RULES: tuple[tuple[str, str], ...] = (
    ("tablet", r"ipad|tablet|android(?!.*mobile)"),
    ("mobile", r"mobile|iphone|ipod|android"),
    ("desktop", r"windows|macintosh|x11|linux|cros"),
)
DEVICES = ("mobile", "tablet", "desktop", "other")


def device_of(user_agent: str | None) -> str:
    agent = user_agent or ""
    for device, pattern in RULES:
        if re.search(pattern, agent, re.IGNORECASE):
            return device
    return "other"


def device_sql(expression: str) -> str:
    """A CASE over `expression` (SQL text of a user agent) giving the device; patterns are constants, not input."""
    cases = " ".join(f"WHEN {expression} ~* '{pattern}' THEN '{device}'" for device, pattern in RULES)
    return f"CASE {cases} ELSE 'other' END"
