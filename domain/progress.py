"""Progress arithmetic shared by the workflow query and the API."""

from __future__ import annotations


def percent_done(total: int, sent: int, failed: int, skipped: int) -> float:
    if total <= 0:
        return 0.0
    return round(min(100.0, 100.0 * (sent + failed + skipped) / total), 1)
