"""Inline SVG charts for the report summary: no script, no external asset, every text escaped.

An emailed HTML file is opened by mail clients and browsers that fetch nothing and run nothing, so the charts are
plain shapes sized in the markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2")
FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\""
MAX_LABEL = 34


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float | None],
              formatter: Callable[[float | None], str], *, width: int = 640) -> str:  # fmt: skip
    """Horizontal bars, one per label (a value of None draws no bar and reads `–`)."""
    row, label_width, top = 26, 250, 34
    height = top + row * max(len(labels), 1) + 10
    bar_space = width - label_width - 90
    peak = max((v for v in values if v is not None), default=0) or 1
    parts = [_open(width, height, title), _text(0, 18, title, weight="600", size=14)]
    if not labels:
        parts.append(_text(0, top + 16, "No data in this period", fill="#6b7280"))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + index * row
        parts.append(_text(label_width - 8, y + 16, _short(label), anchor="end"))
        length = 0 if value is None else max(bar_space * (value / peak), 1 if value else 0)
        parts.append(
            f'<rect x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" rx="2" fill="{PALETTE[0]}"/>'
        )
        parts.append(_text(label_width + length + 6, y + 16, formatter(value)))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, x_labels: Sequence[str], series: Sequence[Series], *, width: int = 640,
               height: int = 260) -> str:  # fmt: skip
    """One line per series over the x labels (days), with a y axis from 0 and a legend."""
    left, right, top, bottom = 48, 16, 52, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_ceiling(max((max(s.values, default=0) for s in series), default=0))
    count = len(x_labels)
    parts = [_open(width, height, title), _text(0, 18, title, weight="600", size=14)]
    legend_x = 0
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{legend_x}" y="26" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(legend_x + 14, 35, item.name, size=11))
        legend_x += 24 + 7 * len(item.name)
    for step in range(5):
        value = peak * step / 4
        y = top + plot_h - plot_h * step / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        parts.append(_text(left - 6, y + 4, _compact(value), anchor="end", size=10, fill="#6b7280"))

    def x_of(index: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * index / (count - 1))

    label_every = max(1, math.ceil(count / 8))
    for index, label in enumerate(x_labels):
        last_far_enough = index == count - 1 and index % label_every >= label_every / 2
        if index % label_every == 0 or last_far_enough:
            parts.append(_text(x_of(index), height - bottom + 16, label, anchor="middle", size=10, fill="#6b7280"))
    for index, item in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = [(x_of(i), top + plot_h - plot_h * (v / peak if peak else 0)) for i, v in enumerate(item.values)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points if len(points) <= 31 else ():
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: int = 12, weight: str = "400",
          fill: str = "#111827") -> str:  # fmt: skip
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
        f'fill="{fill}" {FONT}>{escape(content)}</text>'
    )


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def _nice_ceiling(value: float) -> float:
    """A round axis top at or above `value`: 1, 2, 2.5 or 5 times a power of ten (0 stays 1)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _compact(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"
