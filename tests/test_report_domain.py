"""Scheduled reports' pure rules: cadence → calendar, period windows across timezones and month ends, metric
validation, the CSV and the HTML summary."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.metrics import EventGroup, Funnel, add_events
from domain.report_charts import Series, bar_chart, line_chart
from domain.report_definition import ReportConfigError, validate_recipients, validate_selection
from domain.report_files import (
    CampaignFigures,
    DayFigures,
    ReportFigures,
    ReportHeading,
    report_csv,
    report_filename,
    report_html,
    report_totals,
    summary_text,
)
from domain.report_metrics import CATALOGUE, format_value, validate_metrics
from domain.report_schedule import CadenceSpec, calendar_fields, next_run_after, period_window

PARIS = "Europe/Paris"


# --- Cadence ------------------------------------------------------------------------------------------------------


def test_cadences_become_temporal_calendar_fields():
    assert calendar_fields(CadenceSpec("daily", 8, 30)).__dict__ == {
        "hour": 8, "minute": 30, "day_of_week": None, "day_of_month": None
    }  # fmt: skip
    monday = calendar_fields(CadenceSpec("weekly", 7, weekday="monday"))
    sunday = calendar_fields(CadenceSpec("weekly", 7, weekday="sunday"))
    assert (monday.day_of_week, sunday.day_of_week) == (1, 0)  # Temporal and cron count from Sunday = 0
    assert calendar_fields(CadenceSpec("monthly", 6, day_of_month=1)).day_of_month == 1


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (CadenceSpec("hourly", 8), "cadence"),
        (CadenceSpec("daily", 24), "hour"),
        (CadenceSpec("daily", 8, 60), "minute"),
        (CadenceSpec("weekly", 8), "weekday"),
        (CadenceSpec("daily", 8, weekday="monday"), "weekday"),
        (CadenceSpec("monthly", 8), "day_of_month"),
        (CadenceSpec("monthly", 8, day_of_month=31), "day_of_month"),
        (CadenceSpec("weekly", 8, weekday="monday", day_of_month=3), "day_of_month"),
    ],
)
def test_bad_cadences_name_the_field(spec, field):
    with pytest.raises(ReportConfigError) as err:
        spec.validate()
    assert err.value.field == field and err.value.message.startswith(f"{field}: ")


def test_next_run_is_the_local_time_in_the_workspace_timezone():
    after = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)  # a Wednesday
    daily = next_run_after(CadenceSpec("daily", 8), PARIS, after)
    assert daily == datetime(2026, 11, 5, 8, 0, tzinfo=ZoneInfo(PARIS)) and daily.utcoffset().seconds == 3600
    weekly = next_run_after(CadenceSpec("weekly", 8, weekday="monday"), PARIS, after)
    assert weekly.date() == date(2026, 11, 9)
    monthly = next_run_after(CadenceSpec("monthly", 6, day_of_month=1), "America/New_York", after)
    assert monthly == datetime(2026, 12, 1, 6, 0, tzinfo=ZoneInfo("America/New_York"))
    # Across the spring change: 08:00 local is still 08:00, the offset moves.
    summer = next_run_after(CadenceSpec("daily", 8), PARIS, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert summer.astimezone(UTC) == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


# --- Periods ------------------------------------------------------------------------------------------------------


def test_last_day_is_yesterday_in_the_workspace_timezone():
    # 23:30 UTC on the 4th is already the 5th in Tokyo: yesterday there is the 4th.
    run_at = datetime(2026, 11, 4, 23, 30, tzinfo=UTC)
    tokyo = period_window("last_day", run_at, "Asia/Tokyo")
    assert (tokyo.first_day, tokyo.last_day) == (date(2026, 11, 4), date(2026, 11, 4))
    assert tokyo.start == datetime(2026, 11, 3, 15, 0, tzinfo=UTC) and tokyo.end == datetime(
        2026, 11, 4, 15, 0, tzinfo=UTC
    )
    utc = period_window("last_day", run_at, "UTC")
    assert utc.first_day == date(2026, 11, 3)
    los_angeles = period_window("last_day", run_at, "America/Los_Angeles")  # still the 4th there, 15:30
    assert los_angeles.first_day == date(2026, 11, 3)


def test_previous_month_covers_the_calendar_month_before_across_year_and_leap_february():
    january = period_window("previous_month", datetime(2027, 1, 1, 7, 0, tzinfo=UTC), PARIS)
    assert (january.first_day, january.last_day) == (date(2026, 12, 1), date(2026, 12, 31))
    assert january.start == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # midnight in Paris (UTC+1)
    assert january.end == datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
    leap = period_window("previous_month", datetime(2028, 3, 15, tzinfo=UTC), "UTC")
    assert (leap.first_day, leap.last_day) == (date(2028, 2, 1), date(2028, 2, 29))
    # Run early on the 1st in UTC while it is still the last day of the month in New York: the month before that.
    new_york = period_window("previous_month", datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "America/New_York")
    assert (new_york.first_day, new_york.last_day) == (date(2026, 10, 1), date(2026, 10, 31))


def test_week_and_rolling_windows_and_a_daylight_saving_month():
    run_at = datetime(2026, 11, 4, 9, 0, tzinfo=UTC)  # Wednesday
    week = period_window("previous_week", run_at, "UTC")
    assert (week.first_day, week.last_day) == (date(2026, 10, 26), date(2026, 11, 1))
    seven = period_window("last_7_days", run_at, "UTC")
    assert (seven.first_day, seven.last_day, len(seven.days)) == (date(2026, 10, 28), date(2026, 11, 3), 7)
    assert len(period_window("last_30_days", run_at, "UTC").days) == 30
    # March 2026 in Paris has a 23-hour day: the window is local midnight to local midnight all the same.
    march = period_window("previous_month", datetime(2026, 4, 2, tzinfo=UTC), PARIS)
    assert march.start == datetime(2026, 2, 28, 23, 0, tzinfo=UTC) and march.end == datetime(
        2026, 3, 31, 22, 0, tzinfo=UTC
    )
    assert (march.end - march.start).total_seconds() == 31 * 86400 - 3600


def test_unknown_period_or_timezone_is_refused():
    with pytest.raises(ReportConfigError) as err:
        period_window("last_year", datetime.now(UTC), "UTC")
    assert err.value.field == "period"
    with pytest.raises(ReportConfigError) as err:
        period_window("last_day", datetime.now(UTC), "Mars/Olympus")
    assert err.value.field == "timezone"


# --- Definition checks and metrics ----------------------------------------------------------------------------


def test_selection_recipients_and_metrics_are_checked_with_the_field_named():
    assert validate_selection([3, 1, 3], None) == ([3, 1], None)
    assert validate_selection([], " spring ") == ([], "spring")
    for ids, tag, field in (([], None, "campaign_ids"), ([1], "x", "tag"), ([1, 0], None, "campaign_ids[1]")):
        with pytest.raises(ReportConfigError) as err:
            validate_selection(ids, tag)
        assert err.value.field == field
    assert validate_recipients(["Ann@Example.COM", "ann@example.com", "admin@localhost"]) == [
        "Ann@example.com",
        "admin@localhost",
    ]
    with pytest.raises(ReportConfigError) as err:
        validate_recipients(["ok@example.com", "not an address"])
    assert err.value.field == "recipients[1]"
    assert validate_metrics(["sent", "open_rate", "sent"]) == ["sent", "open_rate"]
    with pytest.raises(ReportConfigError) as err:
        validate_metrics(["sent", "opens_per_hour"])
    assert err.value.field == "metrics[1]" and "opens_per_hour" in err.value.message


def test_metric_catalogue_reads_the_funnel_arithmetic():
    funnel = Funnel(sent=10, hard_bounces=2, unique_opens=4, unique_clicks=1, revenue=12.5)
    add_events(funnel, EventGroup("open", False, 7, 7, 0, 0))
    add_events(funnel, EventGroup("open", True, 3, 3, 0, 0))
    add_events(funnel, EventGroup("click", True, 5, 5, 0, 0))  # machine clicks count nowhere
    add_events(funnel, EventGroup("conversion", False, 3, 2, 0, 40.0))  # one conversion credited twice: 2 conversions
    values = {key: metric.read(funnel) for key, metric in CATALOGUE.items()}
    assert values["delivered"] == 8 and values["opens"] == 7 and values["machine_opens"] == 3
    assert values["clicks"] == 0 and values["conversions"] == 2 and values["revenue"] == 52.5
    assert values["open_rate"] == pytest.approx(0.5) and values["click_to_open"] == pytest.approx(0.25)
    assert format_value("open_rate", 0.5) == "50.0%" and format_value("click_rate", None) == "–"
    assert format_value("sent", 12345) == "12,345" and format_value("revenue", 1234.5) == "1,234.50"


# --- Files --------------------------------------------------------------------------------------------------------


def _figures() -> ReportFigures:
    spring = Funnel(sent=100, unique_opens=40, unique_clicks=10, total_opens=55)
    evil = Funnel(sent=50, unique_opens=5, hard_bounces=0)
    total = Funnel()
    total.add(spring)
    total.add(evil)
    return ReportFigures(
        campaigns=[
            CampaignFigures(1, "Spring <sale> & more", spring),
            CampaignFigures(2, '=HYPERLINK("http://evil.example")', evil),
        ],
        total=total,
        days=[DayFigures(date(2026, 11, 2), 100, 30, 6), DayFigures(date(2026, 11, 3), 50, 30, 4)],
    )


def test_csv_has_one_row_per_campaign_and_the_total_with_formulas_neutralised():
    window = period_window("last_7_days", datetime(2026, 11, 9, 8, tzinfo=UTC), "UTC")
    content = report_csv(_figures(), ["sent", "unique_opens", "open_rate", "click_rate"], window)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Period start", "Period end", "Campaign ID", "Campaign", "Sent", "Unique opens",
                       "Open rate (%)", "Click rate (%)"]  # fmt: skip
    assert rows[1] == ["2026-11-02", "2026-11-08", "1", "Spring <sale> & more", "100", "40", "40.00", "10.00"]
    assert rows[2][3] == '\'=HYPERLINK("http://evil.example")' and rows[2][4:6] == ["50", "5"]
    assert rows[3] == ["2026-11-02", "2026-11-08", "", "All campaigns", "150", "45", "30.00", "6.67"]


def test_html_summary_is_self_contained_escaped_and_holds_the_figures():
    window = period_window("last_7_days", datetime(2026, 11, 9, 8, tzinfo=UTC), "UTC")
    heading = ReportHeading(
        name="Weekly <script>alert(1)</script>",
        period="last_7_days",
        window=window,
        timezone="UTC",
        selection="Tag: <b>spring</b>",
        generated_at=datetime(2026, 11, 9, 8, 0, 5, tzinfo=UTC),
    )
    html = report_html(heading, _figures(), ["sent", "open_rate", "unique_clicks"])
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Spring &lt;sale&gt; &amp; more" in html and "<b>spring</b>" not in html
    assert "Content-Security-Policy" in html
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html), "no external asset"
    assert html.count("<svg") == 4  # a bar chart per metric (3) and the daily lines
    assert ">150<" in html and ">30.0%<" in html  # the totals: sent, open rate (45 / 150)
    assert "2 Nov 2026 – 8 Nov 2026" in html


def test_charts_escape_labels_and_cope_with_no_data():
    svg = bar_chart("Sent per campaign", ["<i>x</i>"], [3], str)
    assert "&lt;i&gt;x&lt;/i&gt;" in svg and "<i>" not in svg
    assert "No data in this period" in bar_chart("Empty", [], [], str)
    flat = line_chart("Per day", ["1 Nov"], [Series("Sent", [0])])
    assert flat.startswith("<svg") and flat.endswith("</svg>")


def test_file_names_and_email_summary():
    window = period_window("previous_month", datetime(2026, 12, 1, 8, tzinfo=UTC), "UTC")
    assert report_filename("Monthly: Board / KPIs!", window, "csv") == "monthly-board-kpis-2026-11-01-to-2026-11-30.csv"
    day = period_window("last_day", datetime(2026, 12, 1, 8, tzinfo=UTC), "UTC")
    assert report_filename("***", day, "html") == "report-2026-11-30.html"
    totals = report_totals(_figures(), ["sent", "open_rate"])
    assert totals == {"sent": 150, "open_rate": pytest.approx(0.3)}
    text = summary_text("Monthly", "previous_month", window, "UTC", totals, 2)
    assert "Sent: 150" in text and "Open rate: 30.0%" in text and "Campaigns reported: 2" in text
