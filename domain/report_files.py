"""The files of a report run: a CSV of the chosen metrics per campaign (and in total), and a self-contained HTML
summary with the totals, charts and the same table.

The HTML holds no script and loads nothing (inline styles and SVG; a Content-Security-Policy that forbids the
rest), and every text that comes from the workspace (report and campaign names, the tag) is escaped, so the file is
safe to open from a mail attachment or the API. CSV cells a spreadsheet would evaluate get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape

from domain.metrics import Funnel
from domain.report_charts import Series, bar_chart, line_chart
from domain.report_metrics import CATALOGUE, csv_value, format_value, value_of
from domain.report_schedule import PERIOD_LABELS, Window
from domain.spreadsheet_safety import neutralise

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
TOTAL_LABEL = "All campaigns"
MAX_CHARTS = 3
MAX_BARS = 20
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass
class CampaignFigures:
    campaign_id: int
    name: str
    funnel: Funnel


@dataclass
class DayFigures:
    day: date
    sent: int = 0
    opens: int = 0  # by people
    clicks: int = 0


@dataclass
class ReportFigures:
    campaigns: list[CampaignFigures]
    total: Funnel
    days: list[DayFigures] = field(default_factory=list)


@dataclass(frozen=True)
class ReportHeading:
    name: str
    period: str
    window: Window
    timezone: str
    selection: str  # "Campaigns: A, B" or "Tag: spring"
    generated_at: datetime


def report_csv(figures: ReportFigures, metrics: list[str], window: Window) -> bytes:
    """UTF-8 with a BOM (spreadsheets then read it as UTF-8); one row per campaign, then the total."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Period start", "Period end", "Campaign ID", "Campaign", *(_csv_header(m) for m in metrics)])
    period = [window.first_day.isoformat(), window.last_day.isoformat()]
    for campaign in figures.campaigns:
        writer.writerow(
            [*period, campaign.campaign_id, neutralise(campaign.name), *_csv_values(campaign.funnel, metrics)]
        )
    writer.writerow([*period, "", TOTAL_LABEL, *_csv_values(figures.total, metrics)])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _csv_header(key: str) -> str:
    metric = CATALOGUE[key]
    return f"{metric.label} (%)" if metric.kind == "rate" else metric.label


def _csv_values(funnel: Funnel, metrics: list[str]) -> list[str]:
    return [csv_value(key, value_of(key, funnel)) for key in metrics]


def report_html(heading: ReportHeading, figures: ReportFigures, metrics: list[str]) -> str:
    title = f"{heading.name} · {heading.window.label()}"
    meta = " · ".join(
        (
            PERIOD_LABELS.get(heading.period, heading.period),
            heading.window.label(),
            f"times in {heading.timezone}",
            heading.selection,
            f"generated {heading.generated_at:%Y-%m-%d %H:%M} UTC",
        )
    )
    cards = "".join(
        f'<div class="card"><div class="label">{escape(CATALOGUE[key].label)}</div>'
        f'<div class="value">{escape(format_value(key, value_of(key, figures.total)))}</div></div>'
        for key in metrics
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>"
        f'<h1>{escape(heading.name)}</h1><p class="meta">{escape(meta)}</p>'
        f'<section class="cards">{cards}</section>'
        f'<section class="charts">{_bar_charts(figures, metrics)}{_daily_chart(figures)}</section>'
        f"<h2>Per campaign</h2>{_table(figures, metrics)}"
        '<p class="meta">Sent, delivered, failed and unique opens and clicks count the messages sent in the period; '
        "opens, clicks, unsubscribes, bounces, complaints and conversions are those that happened in the period. "
        "Rates are over delivered messages.</p>"
        "</main></body></html>"
    )


def _bar_charts(figures: ReportFigures, metrics: list[str]) -> str:
    ranked = sorted(figures.campaigns, key=lambda c: (-c.funnel.sent, c.campaign_id))[:MAX_BARS]
    charts = []
    for key in metrics[:MAX_CHARTS]:
        label = CATALOGUE[key].label
        values = [value_of(key, campaign.funnel) for campaign in ranked]
        charts.append(
            '<figure class="chart">'
            + bar_chart(
                f"{label} per campaign",
                [campaign.name for campaign in ranked],
                values,
                lambda value, key=key: format_value(key, value),
            )
            + "</figure>"
        )
    return "".join(charts)


def _daily_chart(figures: ReportFigures) -> str:
    if not figures.days:
        return ""
    labels = [f"{day.day.day} {day.day:%b}" for day in figures.days]
    series = [
        Series("Sent", [day.sent for day in figures.days]),
        Series("Opens", [day.opens for day in figures.days]),
        Series("Clicks", [day.clicks for day in figures.days]),
    ]
    return f'<figure class="chart">{line_chart("Per day", labels, series)}</figure>'


def _table(figures: ReportFigures, metrics: list[str]) -> str:
    head = "".join(f'<th scope="col" class="num">{escape(CATALOGUE[key].label)}</th>' for key in metrics)
    rows = [_row(campaign.name, campaign.funnel, metrics) for campaign in figures.campaigns]
    rows.append(_row(TOTAL_LABEL, figures.total, metrics, total=True))
    return f'<table><thead><tr><th scope="col">Campaign</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _row(name: str, funnel: Funnel, metrics: list[str], *, total: bool = False) -> str:
    cells = "".join(f'<td class="num">{escape(format_value(key, value_of(key, funnel)))}</td>' for key in metrics)
    opening = '<tr class="total">' if total else "<tr>"
    return f'{opening}<th scope="row">{escape(name)}</th>{cells}</tr>'


def report_filename(name: str, window: Window, extension: str) -> str:
    """`weekly-digest-2026-11-02.csv`, or with both days of a longer period: `...-2026-11-01-to-2026-11-30.html`."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60].strip("-") or "report"
    days = window.first_day.isoformat()
    if window.last_day != window.first_day:
        days += f"-to-{window.last_day.isoformat()}"
    return f"{slug}-{days}.{extension}"


def report_totals(figures: ReportFigures, metrics: list[str]) -> dict[str, float | None]:
    """The chosen metrics over all the campaigns, as kept on the run row (the email body and the run history)."""
    return {key: value_of(key, figures.total) for key in metrics}


def summary_text(name: str, period: str, window: Window, timezone: str, totals: dict[str, float | None],
                 campaigns: int) -> str:  # fmt: skip
    """The plain-text body of the report email: the totals, one per line."""
    lines = [
        f"{name}",
        f"{PERIOD_LABELS.get(period, period)}: {window.label()} ({timezone})",
        "",
        *(f"{CATALOGUE[key].label}: {format_value(key, value)}" for key, value in totals.items() if key in CATALOGUE),
        "",
        f"Campaigns reported: {campaigns}. The CSV and the HTML summary with charts are attached.",
    ]
    return "\n".join(lines) + "\n"


STYLE = (
    "body{margin:0;background:#f9fafb;color:#111827;font:14px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif}"
    "main{max-width:980px;margin:0 auto;padding:24px}h1{margin:0 0 4px;font-size:22px}"
    "h2{font-size:16px;margin:24px 0 8px}"
    ".meta{color:#6b7280;margin:0 0 16px}.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}"
    ".card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:120px}"
    ".card .label{color:#6b7280;font-size:12px}.card .value{font-size:20px;font-weight:600}"
    ".chart{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px;margin:0 0 12px;overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e5e7eb}"
    "th,td{padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:left}.num{text-align:right}"
    "tr.total th,tr.total td{font-weight:600;background:#f3f4f6}"
)
