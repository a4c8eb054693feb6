"""When a scheduled report runs and which period it covers, in the workspace's timezone.

A cadence is daily, weekly (on a weekday) or monthly (on a day of the month, 1-28 so that every month has it), at
an hour and minute of local time; core/report_schedules.py turns `calendar_fields` into a Temporal
ScheduleCalendarSpec with the timezone set on the ScheduleSpec, so Temporal itself follows daylight-saving changes.

A period is cut in whole local days before the run: `last_day` is yesterday, `last_7_days` / `last_30_days` the
7 / 30 days before today, `previous_week` the Monday-to-Sunday week before this one, `previous_month` the calendar
month before this one. The window is [start, end): local midnights as aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.report_definition import ReportConfigError

Cadence = Literal["daily", "weekly", "monthly"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Period = Literal["last_day", "last_7_days", "last_30_days", "previous_week", "previous_month"]
CADENCES: tuple[str, ...] = get_args(Cadence)
WEEKDAYS: tuple[str, ...] = get_args(Weekday)
PERIODS: tuple[str, ...] = get_args(Period)
PERIOD_LABELS = {
    "last_day": "Yesterday",
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "previous_week": "Previous week (Monday to Sunday)",
    "previous_month": "Previous month",
}
MAX_DAY_OF_MONTH = 28


@dataclass(frozen=True)
class CadenceSpec:
    cadence: str
    hour: int
    minute: int = 0
    weekday: str | None = None  # weekly only
    day_of_month: int | None = None  # monthly only

    def validate(self) -> CadenceSpec:
        if self.cadence not in CADENCES:
            raise ReportConfigError("cadence", f"choose one of {', '.join(CADENCES)}")
        if not 0 <= self.hour <= 23:
            raise ReportConfigError("hour", "an hour from 0 to 23")
        if not 0 <= self.minute <= 59:
            raise ReportConfigError("minute", "a minute from 0 to 59")
        if self.cadence == "weekly":
            if self.weekday not in WEEKDAYS:
                raise ReportConfigError("weekday", f"a weekly report needs a weekday ({', '.join(WEEKDAYS)})")
        elif self.weekday is not None:
            raise ReportConfigError("weekday", "only weekly reports have a weekday")
        if self.cadence == "monthly":
            if self.day_of_month is None or not 1 <= self.day_of_month <= MAX_DAY_OF_MONTH:
                raise ReportConfigError(
                    "day_of_month", f"a monthly report needs a day of the month from 1 to {MAX_DAY_OF_MONTH}"
                )
        elif self.day_of_month is not None:
            raise ReportConfigError("day_of_month", "only monthly reports have a day of the month")
        return self


@dataclass(frozen=True)
class CalendarFields:
    """One calendar entry, each field a single value or None for "every"; `day_of_week` counts from Sunday = 0,
    as Temporal (and cron) do."""

    hour: int
    minute: int
    day_of_week: int | None = None
    day_of_month: int | None = None


def calendar_fields(spec: CadenceSpec) -> CalendarFields:
    spec.validate()
    day_of_week = (WEEKDAYS.index(spec.weekday) + 1) % 7 if spec.cadence == "weekly" and spec.weekday else None
    day_of_month = spec.day_of_month if spec.cadence == "monthly" else None
    return CalendarFields(hour=spec.hour, minute=spec.minute, day_of_week=day_of_week, day_of_month=day_of_month)


def zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ReportConfigError("timezone", f"unknown timezone {timezone!r}") from exc


def next_run_after(spec: CadenceSpec, timezone: str, after: datetime) -> datetime:
    """The first local time matching the cadence strictly after `after` (for display; the schedule decides)."""
    spec.validate()
    tz = zone(timezone)
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(370):
        if _matches(spec, day):
            candidate = _local(day, time(spec.hour, spec.minute), tz)
            if candidate > after:
                return candidate
        day += timedelta(days=1)
    raise AssertionError("no run within a year")  # unreachable: every cadence matches at least monthly


def _matches(spec: CadenceSpec, day: date) -> bool:
    if spec.cadence == "weekly":
        return WEEKDAYS[day.weekday()] == spec.weekday
    if spec.cadence == "monthly":
        return day.day == spec.day_of_month
    return True


@dataclass(frozen=True)
class Window:
    start: datetime  # local midnight of the first day (inclusive), in UTC
    end: datetime  # local midnight after the last day (exclusive), in UTC
    first_day: date
    last_day: date

    @property
    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range((self.last_day - self.first_day).days + 1)]

    def label(self) -> str:
        """`5 Nov 2026` or `1 Nov 2026 – 30 Nov 2026`."""
        first, last = _day_label(self.first_day), _day_label(self.last_day)
        return first if first == last else f"{first} – {last}"


def period_window(period: str, run_at: datetime, timezone: str) -> Window:
    """The whole local days `period` covers for a report running at `run_at` (an aware datetime)."""
    if period not in PERIODS:
        raise ReportConfigError("period", f"choose one of {', '.join(PERIODS)}")
    if run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    tz = zone(timezone)
    today = run_at.astimezone(tz).date()
    if period == "last_day":
        first, last = today - timedelta(days=1), today - timedelta(days=1)
    elif period == "last_7_days":
        first, last = today - timedelta(days=7), today - timedelta(days=1)
    elif period == "last_30_days":
        first, last = today - timedelta(days=30), today - timedelta(days=1)
    elif period == "previous_week":
        this_monday = today - timedelta(days=today.weekday())
        first, last = this_monday - timedelta(days=7), this_monday - timedelta(days=1)
    else:  # previous_month
        last = today.replace(day=1) - timedelta(days=1)
        first = last.replace(day=1)
    return Window(
        start=_local(first, time(0), tz).astimezone(UTC),  # in UTC: arithmetic on them is then real elapsed time
        end=_local(last + timedelta(days=1), time(0), tz).astimezone(UTC),
        first_day=first,
        last_day=last,
    )


def _local(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at `at` in `tz`, normalised: a wall time skipped by a daylight-saving jump becomes the same distance
    past the jump (02:30 on a 02:00→03:00 night is 03:30); an ambiguous one is its first occurrence."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
