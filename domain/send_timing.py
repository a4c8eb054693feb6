"""When a message may go out: local send times, quiet hours, sending weekdays, timezone buckets, waits.

All functions are pure: `now` and instants come in as aware datetimes, results are aware UTC datetimes.

Local times that do not exist or exist twice (daylight saving changes) follow one rule: a wall-clock time means the
first instant at which the local clock shows that time or later.
- In a gap (clocks jump forward, e.g. 02:30 on the last Sunday of March in Paris), that is the instant of the jump:
  02:30 → 03:00 CEST, which is 01:00 UTC.
- In an overlap (clocks go back, e.g. 01:30 on the first Sunday of November in New York), that is the first
  occurrence: 01:30 EDT, 05:30 UTC.

"Allowed" instants are those whose local weekday is in the schedule's weekdays and whose local time is outside the
quiet hours [start, end) (start > end crosses midnight). `next_allowed_instant` returns the earliest allowed instant
at or after the given one: a deferred send goes out as soon as the window opens (Monday 00:00 for a Saturday send with
Monday-Friday and no quiet hours; Monday 08:00 when quiet hours are 22:00-08:00).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.payloads.campaign_flow import ALL_WEEKDAYS, CampaignSchedule, WaitStep, parse_hhmm

SEARCH_DAYS = 10  # a week of weekdays plus the longest quiet hours fit in it
OFFSET_PROBE = timedelta(hours=1)  # no zone changes its offset twice within an hour

Zone = ZoneInfo | str
LocalTime = time | str


class TimezoneBucket(NamedTuple):
    fire_at: datetime  # UTC
    zones: list[str]  # the timezone names as given (unknown names included, under the workspace's zone)
    leads: int


def zone(name: Zone, fallback: Zone | None = None) -> ZoneInfo:
    """The named zone; an empty, unknown or malformed name gives the fallback, or ValueError without one."""
    if isinstance(name, ZoneInfo):
        return name
    try:
        if not name:
            raise ValueError("no timezone name")
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        if fallback is None:
            raise ValueError(f"unknown timezone {name!r}") from error
        return zone(fallback)


def _time(value: LocalTime) -> time:
    return parse_hhmm(value) if isinstance(value, str) else value


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")
    return instant.astimezone(UTC)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _occurrences(wall: datetime, tz: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the local clock shows `wall`: none in a gap, two in an overlap."""
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
        if _wall(instant, tz) == wall and instant not in found:
            found.append(instant)
    return sorted(found)


def _offset(instant: datetime, tz: ZoneInfo) -> timedelta | None:
    return instant.astimezone(tz).utcoffset()


def _transition(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first instant in (before, after] with after's UTC offset (offsets differ at the two ends)."""
    target = _offset(after, tz)
    low, high = before, after  # offset(low) != target, offset(high) == target
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if _offset(middle, tz) == target:
            high = middle
        else:
            low = middle
    # Offsets change on whole seconds: the second after `low` when the ends were not whole seconds themselves.
    rounded = low.replace(microsecond=0) + timedelta(seconds=1)
    return rounded if rounded < high and _offset(rounded, tz) == target else high


def _transitions(tz: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in (start, end] at which the zone's UTC offset changes."""
    found = []
    probe = start
    while probe < end:
        following = min(probe + OFFSET_PROBE, end)
        if _offset(probe, tz) != _offset(following, tz):
            found.append(_transition(tz, probe, following))
        probe = following
    return found


def local_send_instant(day: date, local_time: LocalTime, tz: Zone) -> datetime:
    """The UTC instant of `local_time` on `day` in the zone (gap: the jump; overlap: the first occurrence)."""
    tz = zone(tz)
    wall = datetime.combine(day, _time(local_time))
    occurrences = _occurrences(wall, tz)
    if occurrences:
        return occurrences[0]
    # In a gap: fold=1 reads the wall time with the offset after the jump (an instant before it), fold=0 with the
    # offset before (an instant after it); the jump lies between.
    early = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    late = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    return _transition(tz, min(early, late), max(early, late))


def next_allowed_date(day: date, weekdays: Iterable[int]) -> date:
    """`day` or the first later date whose weekday (Monday = 0) is allowed."""
    allowed = set(weekdays)
    if not allowed:
        raise ValueError("at least one weekday must be allowed")
    while day.weekday() not in allowed:
        day += timedelta(days=1)
    return day


def _in_quiet_hours(moment: time, quiet: tuple[time, time] | None) -> bool:
    if quiet is None:
        return False
    start, end = quiet
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # crosses midnight (start == end is no quiet hours at all)


def _allowed(instant: datetime, tz: ZoneInfo, weekdays: set[int], quiet: tuple[time, time] | None) -> bool:
    local = _wall(instant, tz)
    return local.weekday() in weekdays and not _in_quiet_hours(local.time(), quiet)


def earliest_allowed(
    instant: datetime,
    tz: Zone,
    *,
    weekdays: Iterable[int] = ALL_WEEKDAYS,
    quiet: tuple[LocalTime, LocalTime] | None = None,
) -> datetime:
    """The earliest instant at or after `instant` outside the quiet hours and on an allowed weekday.

    Allowed-ness only changes when the local clock passes midnight or the quiet hours' end, or jumps (a daylight
    saving change), so the answer is `instant` itself or the first allowed one of those moments.
    """
    tz = zone(tz)
    instant = _aware(instant)
    allowed_days = set(weekdays)
    if not allowed_days:
        raise ValueError("at least one weekday must be allowed")
    window = None if quiet is None else (_time(quiet[0]), _time(quiet[1]))
    if window is not None and window[0] == window[1]:
        window = None
    if _allowed(instant, tz, allowed_days, window):
        return instant
    horizon = instant + timedelta(days=SEARCH_DAYS)
    candidates = set(_transitions(tz, instant, horizon))
    first_day = _wall(instant, tz).date()
    for offset in range(-1, SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        for moment in (time(0, 0), *(() if window is None else (window[1],))):
            candidates.update(_occurrences(datetime.combine(day, moment), tz))
    for candidate in sorted(c for c in candidates if instant < c <= horizon):
        if _allowed(candidate, tz, allowed_days, window):
            return candidate
    raise ValueError("no allowed sending time within the next days: check the quiet hours and weekdays")


def defer_for_quiet_hours(instant: datetime, tz: Zone, quiet_start: LocalTime, quiet_end: LocalTime) -> datetime:
    """`instant`, or the end of the quiet hours it falls in (in the zone's local time)."""
    return earliest_allowed(instant, tz, quiet=(quiet_start, quiet_end))


def defer_to_weekday(instant: datetime, tz: Zone, weekdays: Iterable[int]) -> datetime:
    """`instant`, or the start (local 00:00) of the next allowed weekday."""
    return earliest_allowed(instant, tz, weekdays=weekdays, quiet=None)


def next_allowed_instant(instant: datetime, tz: Zone, schedule: CampaignSchedule) -> datetime:
    """The earliest instant at or after `instant` that the schedule's quiet hours and weekdays allow."""
    quiet = None if schedule.quiet_hours is None else (schedule.quiet_hours.start, schedule.quiet_hours.end)
    return earliest_allowed(instant, tz, weekdays=schedule.weekdays, quiet=quiet)


def allowed_until(instant: datetime, tz: Zone, schedule: CampaignSchedule) -> datetime | None:
    """When the sending window open at `instant` closes in the zone: the first later instant that quiet hours or
    an excluded weekday forbid. None when the schedule has no window, or `instant` itself is not allowed.

    A send step that takes a while (throttled, or large) checks this between batches, so it stops at the quiet
    hours instead of sending through them.
    """
    quiet = None if schedule.quiet_hours is None else (schedule.quiet_hours.start, schedule.quiet_hours.end)
    window = None if quiet is None else (_time(quiet[0]), _time(quiet[1]))
    if window is not None and window[0] == window[1]:
        window = None
    allowed_days = set(schedule.weekdays)
    if window is None and len(allowed_days) == 7:
        return None
    tz = zone(tz)
    instant = _aware(instant)
    if not _allowed(instant, tz, allowed_days, window):
        return None
    horizon = instant + timedelta(days=SEARCH_DAYS)
    candidates = set(_transitions(tz, instant, horizon))
    first_day = _wall(instant, tz).date()
    for offset in range(0, SEARCH_DAYS + 1):
        day = first_day + timedelta(days=offset)
        for moment in (time(0, 0), *(() if window is None else (window[0],))):
            candidates.update(_occurrences(datetime.combine(day, moment), tz))
    for candidate in sorted(c for c in candidates if instant < c <= horizon):
        if not _allowed(candidate, tz, allowed_days, window):
            return candidate
    return None


def timezone_buckets(
    lead_timezones: Mapping[str, int],
    day: date,
    local_time: LocalTime,
    workspace_tz: Zone,
    schedule: CampaignSchedule | None = None,
) -> list[TimezoneBucket]:
    """The send times of a local-time campaign: leads grouped by the UTC instant at which it is `local_time` on `day`
    in their timezone, earliest first. Unknown timezone names use the workspace's zone; with a schedule, each zone's
    instant is then moved out of the quiet hours and onto an allowed weekday."""
    fallback = zone(workspace_tz)
    groups: dict[datetime, tuple[list[str], int]] = {}
    for name, leads in lead_timezones.items():
        if leads <= 0:
            continue
        tz = zone(name, fallback)
        fire_at = local_send_instant(day, local_time, tz)
        if schedule is not None:
            fire_at = next_allowed_instant(fire_at, tz, schedule)
        names, total = groups.get(fire_at, ([], 0))
        groups[fire_at] = ([*names, name], total + leads)
    return [TimezoneBucket(at, sorted(names), total) for at, (names, total) in sorted(groups.items())]


def wait_duration(step: WaitStep) -> timedelta:
    """The length of a duration wait (days of 24 hours)."""
    if step.duration is None:
        raise ValueError(f"wait '{step.id}' waits until a date, not for a duration")
    return step.duration.as_timedelta()


def wait_until_instant(step: WaitStep, now: datetime, tz: Zone) -> datetime:
    """When an until-wait ends for a lead in `tz` (the workspace's or the lead's zone, per the step's timezone_mode):
    the local date and time, or `now` when that is already past."""
    if step.until is None:
        raise ValueError(f"wait '{step.id}' waits for a duration, not until a date")
    target = local_send_instant(step.until.local_date(), step.until.local_time(), tz)
    return max(target, _aware(now))


def wait_end(step: WaitStep, started: datetime, now: datetime, tz: Zone, schedule: CampaignSchedule) -> datetime:
    """When a lead that started the wait at `started` moves on; with respect_quiet_hours, the end is moved to the
    schedule's next allowed sending time (quiet hours and weekdays) so the next send is not deferred lead by lead."""
    if step.until is not None:
        end = wait_until_instant(step, now, tz)
    else:
        end = max(_aware(started) + wait_duration(step), _aware(now))
    return next_allowed_instant(end, tz, schedule) if step.respect_quiet_hours else end
