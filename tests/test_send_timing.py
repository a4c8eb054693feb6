"""Send timing: local times across daylight-saving changes, quiet hours, weekdays, timezone buckets and waits."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.send_timing import (
    allowed_until,
    defer_for_quiet_hours,
    defer_to_weekday,
    earliest_allowed,
    local_send_instant,
    next_allowed_date,
    next_allowed_instant,
    timezone_buckets,
    wait_duration,
    wait_end,
    wait_until_instant,
    zone,
)
from models.payloads.campaign_flow import CampaignSchedule, WaitStep

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
MON_FRI = [0, 1, 2, 3, 4]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz), fold=fold)


def wall(instant: datetime, tz: str) -> datetime:
    return instant.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


# --- Local send instants -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        (date(2026, 1, 15), "09:00", "Europe/Paris", utc(2026, 1, 15, 8, 0)),
        (date(2026, 7, 15), "09:00", "Europe/Paris", utc(2026, 7, 15, 7, 0)),
        # Spring forward in Paris: 02:00 CET -> 03:00 CEST at 01:00 UTC; 02:00-02:59 do not exist.
        (date(2026, 3, 29), "01:59", "Europe/Paris", utc(2026, 3, 29, 0, 59)),
        (date(2026, 3, 29), "02:00", "Europe/Paris", utc(2026, 3, 29, 1, 0)),
        (date(2026, 3, 29), "02:30", "Europe/Paris", utc(2026, 3, 29, 1, 0)),
        (date(2026, 3, 29), "03:00", "Europe/Paris", utc(2026, 3, 29, 1, 0)),
        (date(2026, 3, 29), "03:01", "Europe/Paris", utc(2026, 3, 29, 1, 1)),
        # Fall back in Paris: 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:00-02:59 happen twice, the first one counts.
        (date(2026, 10, 25), "02:30", "Europe/Paris", utc(2026, 10, 25, 0, 30)),
        (date(2026, 10, 25), "03:00", "Europe/Paris", utc(2026, 10, 25, 2, 0)),
        # New York: 02:00 EST -> 03:00 EDT at 07:00 UTC, then 02:00 EDT -> 01:00 EST at 06:00 UTC.
        (date(2026, 3, 8), "02:30", "America/New_York", utc(2026, 3, 8, 7, 0)),
        (date(2026, 3, 8), "09:00", "America/New_York", utc(2026, 3, 8, 13, 0)),
        (date(2026, 3, 7), "09:00", "America/New_York", utc(2026, 3, 7, 14, 0)),
        (date(2026, 11, 1), "01:30", "America/New_York", utc(2026, 11, 1, 5, 30)),
        (date(2026, 11, 1), "02:00", "America/New_York", utc(2026, 11, 1, 7, 0)),
        # Half-hour and extreme offsets.
        (date(2026, 6, 1), "09:00", "Asia/Kolkata", utc(2026, 6, 1, 3, 30)),
        (date(2026, 6, 1), "09:00", "Asia/Kathmandu", utc(2026, 6, 1, 3, 15)),
        (date(2026, 6, 1), "09:00", "Pacific/Kiritimati", utc(2026, 5, 31, 19, 0)),
        (date(2026, 6, 1), "09:00", "Pacific/Pago_Pago", utc(2026, 6, 1, 20, 0)),
        # Lord Howe moves its clocks by 30 minutes: 02:00 +10:30 -> 02:30 +11:00 at 15:30 UTC the day before.
        (date(2026, 10, 4), "02:15", "Australia/Lord_Howe", utc(2026, 10, 3, 15, 30)),
    ],
)
def test_local_send_instant(day, at, tz, expected):
    result = local_send_instant(day, at, tz)
    assert result == expected
    assert result.tzinfo is UTC


def test_local_send_instant_takes_time_objects_and_zones():
    assert local_send_instant(date(2026, 7, 15), time(9, 0), PARIS) == utc(2026, 7, 15, 7, 0)
    with pytest.raises(ValueError):
        local_send_instant(date(2026, 7, 15), "09:00", "Mars/Olympus_Mons")


@pytest.mark.parametrize(
    "tz", ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"]
)
def test_local_send_instant_is_the_first_instant_showing_that_time_or_later(tz):
    """The documented rule, checked on every day of 2026 at the times daylight saving changes touch."""
    times = [time(0, 0), time(0, 30), time(1, 30), time(2, 0), time(2, 15), time(2, 30), time(3, 0), time(23, 59)]
    day = date(2026, 1, 1)
    while day.year == 2026:
        for moment in times:
            target = datetime.combine(day, moment)
            result = local_send_instant(day, moment, tz)
            assert wall(result, tz) >= target, (day, moment)
            assert wall(result - timedelta(seconds=1), tz) < target, (day, moment)
            assert result - timedelta(hours=1) < datetime.combine(day, moment, ZoneInfo(tz))
        day += timedelta(days=1)


@pytest.mark.parametrize("name", ["", "Nope/Zone", "Europe", "../../etc/passwd", "/", "a" * 300, "UTC\x00"])
def test_unknown_zone_names(name):
    assert zone(name, "Europe/Paris") == PARIS
    with pytest.raises(ValueError):
        zone(name)


# --- Quiet hours and weekdays --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local("Europe/Paris", 2026, 6, 1, 23, 0), local("Europe/Paris", 2026, 6, 2, 8, 0)),  # crosses midnight
        (local("Europe/Paris", 2026, 6, 2, 0, 0), local("Europe/Paris", 2026, 6, 2, 8, 0)),
        (local("Europe/Paris", 2026, 6, 2, 7, 59), local("Europe/Paris", 2026, 6, 2, 8, 0)),
        (local("Europe/Paris", 2026, 6, 2, 22, 0), local("Europe/Paris", 2026, 6, 3, 8, 0)),  # start is quiet
        (local("Europe/Paris", 2026, 6, 2, 8, 0), local("Europe/Paris", 2026, 6, 2, 8, 0)),  # end is not
        (local("Europe/Paris", 2026, 6, 2, 21, 59), local("Europe/Paris", 2026, 6, 2, 21, 59)),
        (local("Europe/Paris", 2026, 6, 2, 12, 0), local("Europe/Paris", 2026, 6, 2, 12, 0)),
    ],
)
def test_quiet_hours_crossing_midnight(at, expected):
    assert defer_for_quiet_hours(at, PARIS, "22:00", "08:00") == expected


def test_quiet_hours_within_a_day():
    tz = "Asia/Kolkata"
    assert defer_for_quiet_hours(local(tz, 2026, 6, 1, 12, 30), tz, "12:00", "14:00") == local(tz, 2026, 6, 1, 14, 0)
    assert defer_for_quiet_hours(local(tz, 2026, 6, 1, 11, 59), tz, "12:00", "14:00") == local(tz, 2026, 6, 1, 11, 59)
    assert defer_for_quiet_hours(local(tz, 2026, 6, 1, 23, 0), tz, "12:00", "14:00") == local(tz, 2026, 6, 1, 23, 0)
    assert defer_for_quiet_hours(local(tz, 2026, 6, 1, 13, 0), tz, time(12), time(14)) == utc(2026, 6, 1, 8, 30)


def test_quiet_hours_are_read_in_the_given_zone_whatever_the_instants_zone():
    at = utc(2026, 6, 1, 21, 30)  # 23:30 in Paris, 17:30 in New York
    assert defer_for_quiet_hours(at, "Europe/Paris", "22:00", "08:00") == utc(2026, 6, 2, 6, 0)
    assert defer_for_quiet_hours(at, "America/New_York", "22:00", "08:00") == at
    assert defer_for_quiet_hours(at.astimezone(NEW_YORK), PARIS, "22:00", "08:00") == utc(2026, 6, 2, 6, 0)


def test_quiet_hours_ending_in_a_daylight_saving_gap_end_at_the_jump():
    # 22:00-02:30 on the night Paris skips 02:00-03:00: quiet until the clocks show 03:00 (01:00 UTC).
    at = local("Europe/Paris", 2026, 3, 28, 23, 0)
    assert defer_for_quiet_hours(at, PARIS, "22:00", "02:30") == utc(2026, 3, 29, 1, 0)


def test_quiet_hours_on_the_repeated_hour():
    # New York, 2026-11-01: 01:00-01:59 EDT, then 01:00-01:59 EST. Quiet 22:00-01:30.
    first_pass = local("America/New_York", 2026, 11, 1, 1, 15)
    assert defer_for_quiet_hours(first_pass, NEW_YORK, "22:00", "01:30") == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    second_pass = local("America/New_York", 2026, 11, 1, 1, 15, fold=1)
    assert defer_for_quiet_hours(second_pass, NEW_YORK, "22:00", "01:30") == utc(2026, 11, 1, 6, 30)  # 01:30 EST


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        defer_for_quiet_hours(datetime(2026, 6, 1, 23, 0), PARIS, "22:00", "08:00")


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # 2026-06-05 is a Friday.
        (local("Europe/Paris", 2026, 6, 5, 15, 0), local("Europe/Paris", 2026, 6, 5, 15, 0)),
        (local("Europe/Paris", 2026, 6, 6, 15, 0), local("Europe/Paris", 2026, 6, 8, 0, 0)),  # Saturday -> Monday
        (local("Europe/Paris", 2026, 6, 7, 23, 59), local("Europe/Paris", 2026, 6, 8, 0, 0)),  # Sunday -> Monday
        (local("Europe/Paris", 2026, 6, 8, 0, 0), local("Europe/Paris", 2026, 6, 8, 0, 0)),
    ],
)
def test_weekends_are_skipped(at, expected):
    assert defer_to_weekday(at, PARIS, MON_FRI) == expected


def test_weekdays_are_the_leads_local_weekdays():
    at = utc(2026, 6, 5, 23, 30)  # Friday 23:30 UTC
    assert defer_to_weekday(at, "Pacific/Pago_Pago", MON_FRI) == at  # Friday 12:30 there
    # Saturday 13:30 in Kiritimati: Monday 00:00 there, Sunday 10:00 UTC.
    assert defer_to_weekday(at, "Pacific/Kiritimati", MON_FRI) == utc(2026, 6, 7, 10, 0)
    assert defer_to_weekday(at, "UTC", [2]) == utc(2026, 6, 10, 0, 0)  # only Wednesdays
    with pytest.raises(ValueError):
        defer_to_weekday(at, "UTC", [])


def test_next_allowed_date():
    assert next_allowed_date(date(2026, 6, 6), MON_FRI) == date(2026, 6, 8)
    assert next_allowed_date(date(2026, 6, 5), MON_FRI) == date(2026, 6, 5)
    assert next_allowed_date(date(2026, 6, 5), [3]) == date(2026, 6, 11)
    with pytest.raises(ValueError):
        next_allowed_date(date(2026, 6, 5), [])


def schedule(quiet: tuple[str, str] | None = ("22:00", "08:00"), weekdays=MON_FRI) -> CampaignSchedule:
    quiet_hours = None if quiet is None else {"start": quiet[0], "end": quiet[1]}
    return CampaignSchedule.model_validate({"quiet_hours": quiet_hours, "weekdays": weekdays})


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local("Europe/Paris", 2026, 6, 5, 23, 0), local("Europe/Paris", 2026, 6, 8, 8, 0)),  # Fri night -> Mon 08:00
        (local("Europe/Paris", 2026, 6, 6, 23, 0), local("Europe/Paris", 2026, 6, 8, 8, 0)),  # Sat night -> Mon 08:00
        (local("Europe/Paris", 2026, 6, 6, 12, 0), local("Europe/Paris", 2026, 6, 8, 8, 0)),
        (local("Europe/Paris", 2026, 6, 8, 7, 0), local("Europe/Paris", 2026, 6, 8, 8, 0)),
        (local("Europe/Paris", 2026, 6, 8, 9, 0), local("Europe/Paris", 2026, 6, 8, 9, 0)),
        (local("Europe/Paris", 2026, 6, 4, 22, 30), local("Europe/Paris", 2026, 6, 5, 8, 0)),  # Thu night -> Fri
    ],
)
def test_next_allowed_instant_combines_quiet_hours_and_weekdays(at, expected):
    assert next_allowed_instant(at, PARIS, schedule()) == expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local("Europe/Paris", 2026, 6, 4, 9, 0), local("Europe/Paris", 2026, 6, 4, 22, 0)),  # Thu: the quiet hours
        (local("Europe/Paris", 2026, 6, 5, 21, 59), local("Europe/Paris", 2026, 6, 5, 22, 0)),
        (local("Europe/Paris", 2026, 6, 5, 23, 0), None),  # inside the quiet hours: no window is open
        (local("Europe/Paris", 2026, 3, 29, 9, 0), None),  # Sunday: not a sending day
    ],
)
def test_allowed_until_is_when_the_open_window_closes(at, expected):
    assert allowed_until(at, PARIS, schedule()) == expected


def test_allowed_until_without_quiet_hours_ends_with_the_last_sending_day():
    friday_noon = local("Europe/Paris", 2026, 6, 5, 12, 0)
    assert allowed_until(friday_noon, PARIS, schedule(quiet=None)) == local("Europe/Paris", 2026, 6, 6, 0, 0)
    assert allowed_until(friday_noon, PARIS, CampaignSchedule()) is None  # no window at all


def test_allowed_until_sees_quiet_hours_reached_by_a_clock_change():
    # Quiet from 02:30; on 29 March 2026 Paris jumps from 02:00 to 03:00, straight into the quiet hours.
    late = schedule(quiet=("02:30", "05:00"), weekdays=list(range(7)))
    assert allowed_until(local("Europe/Paris", 2026, 3, 29, 1, 0), PARIS, late) == utc(2026, 3, 29, 1, 0)


def test_without_rules_every_instant_is_allowed():
    at = utc(2026, 6, 6, 3, 17, 42, 123)
    assert next_allowed_instant(at, PARIS, CampaignSchedule()) == at


def brute_force(at: datetime, tz: ZoneInfo, weekdays: set[int], quiet: tuple[time, time] | None) -> datetime:
    """The first allowed instant, minute by minute (instants here are whole minutes, so is every change)."""
    moment = at
    while True:
        clock = moment.astimezone(tz)
        quiet_now = quiet is not None and (
            quiet[0] <= clock.time() < quiet[1]
            if quiet[0] < quiet[1]
            else (clock.time() >= quiet[0] or clock.time() < quiet[1])
        )
        if clock.weekday() in weekdays and not quiet_now:
            return moment
        moment += timedelta(minutes=1)


@pytest.mark.parametrize(
    ("tz", "around"),
    [
        ("Europe/Paris", utc(2026, 3, 29)),
        ("Europe/Paris", utc(2026, 10, 25)),
        ("America/New_York", utc(2026, 3, 8)),
        ("America/New_York", utc(2026, 11, 1)),
        ("Australia/Lord_Howe", utc(2026, 10, 3)),
        ("America/Santiago", utc(2026, 9, 6)),  # clocks jump at midnight there
        ("Asia/Kolkata", utc(2026, 6, 1)),
        ("Pacific/Kiritimati", utc(2026, 6, 1)),
    ],
)
def test_earliest_allowed_matches_a_minute_by_minute_search(tz, around):
    rng = random.Random(f"{tz}{around}")
    zone_info = ZoneInfo(tz)
    windows = [
        ("22:00", "08:00"),
        ("23:30", "02:30"),
        ("00:00", "03:00"),
        ("01:00", "02:30"),
        ("12:00", "13:00"),
        ("02:15", "02:45"),
        None,
    ]
    for _ in range(60):
        at = around + timedelta(minutes=rng.randrange(-3 * 24 * 60, 3 * 24 * 60))
        weekdays = set(rng.sample(range(7), rng.randint(1, 7)))
        window = rng.choice(windows)
        quiet = None if window is None else (time.fromisoformat(window[0]), time.fromisoformat(window[1]))
        expected = brute_force(at, zone_info, weekdays, quiet)
        assert earliest_allowed(at, tz, weekdays=weekdays, quiet=window) == expected, (at, weekdays, window)


# --- Timezone buckets ----------------------------------------------------------------------------------------------


def test_timezone_buckets_group_zones_firing_at_the_same_instant():
    counts = {
        "Europe/Paris": 30,
        "Europe/Berlin": 20,
        "Europe/London": 10,
        "Asia/Kolkata": 5,
        "Pacific/Kiritimati": 1,
        "Pacific/Pago_Pago": 2,
        "America/New_York": 7,
        "Nope/Zone": 4,  # unknown: the workspace's zone
        "": 3,
        "Asia/Tokyo": 0,  # nobody: no bucket
    }
    buckets = timezone_buckets(counts, date(2026, 6, 1), "09:00", "Europe/Paris")
    assert [(b.fire_at, b.zones, b.leads) for b in buckets] == [
        (utc(2026, 5, 31, 19, 0), ["Pacific/Kiritimati"], 1),
        (utc(2026, 6, 1, 3, 30), ["Asia/Kolkata"], 5),
        (utc(2026, 6, 1, 7, 0), ["", "Europe/Berlin", "Europe/Paris", "Nope/Zone"], 57),
        (utc(2026, 6, 1, 8, 0), ["Europe/London"], 10),
        (utc(2026, 6, 1, 13, 0), ["America/New_York"], 7),
        (utc(2026, 6, 1, 20, 0), ["Pacific/Pago_Pago"], 2),
    ]
    fire_at, zones = buckets[0][:2]  # still unpacks like a tuple
    assert fire_at == utc(2026, 5, 31, 19, 0) and zones == ["Pacific/Kiritimati"]


def test_every_known_zone_fires_at_its_local_time():
    names = ["Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"]
    for day in (date(2026, 1, 10), date(2026, 3, 29), date(2026, 10, 4), date(2026, 11, 1)):
        for bucket in timezone_buckets(dict.fromkeys(names, 1), day, "09:00", "UTC"):
            for name in bucket.zones:
                assert wall(bucket.fire_at, name) == datetime(day.year, day.month, day.day, 9, 0)


def test_timezone_buckets_follow_daylight_saving():
    # 2026-03-15: New York is already on EDT, Paris still on CET; on 2026-03-29 Paris and London have moved too.
    mid_march = timezone_buckets({"America/New_York": 1, "Europe/Paris": 1}, date(2026, 3, 15), "09:00", "UTC")
    assert [b.fire_at for b in mid_march] == [utc(2026, 3, 15, 8, 0), utc(2026, 3, 15, 13, 0)]
    end_march = timezone_buckets({"Europe/London": 1, "Europe/Paris": 1}, date(2026, 3, 29), "09:00", "UTC")
    assert [b.fire_at for b in end_march] == [utc(2026, 3, 29, 7, 0), utc(2026, 3, 29, 8, 0)]


def test_timezone_buckets_with_a_schedule():
    counts = {"Europe/Paris": 1, "Pacific/Kiritimati": 1, "Europe/Berlin": 1}
    # 2026-06-05 is a Friday: at 09:00 it is allowed everywhere; on Saturday it moves to Monday 08:00 local.
    friday = timezone_buckets(counts, date(2026, 6, 5), "09:00", "UTC", schedule())
    assert [b.fire_at for b in friday] == [utc(2026, 6, 4, 19, 0), utc(2026, 6, 5, 7, 0)]
    saturday = timezone_buckets(counts, date(2026, 6, 6), "09:00", "UTC", schedule())
    assert [(b.fire_at, b.zones) for b in saturday] == [
        (utc(2026, 6, 7, 18, 0), ["Pacific/Kiritimati"]),
        (utc(2026, 6, 8, 6, 0), ["Europe/Berlin", "Europe/Paris"]),
    ]
    early = timezone_buckets(counts, date(2026, 6, 5), "07:00", "UTC", schedule())
    assert [b.fire_at for b in early] == [utc(2026, 6, 4, 18, 0), utc(2026, 6, 5, 6, 0)]  # quiet until 08:00


def test_timezone_buckets_need_a_real_workspace_zone():
    with pytest.raises(ValueError):
        timezone_buckets({"Nope/Zone": 1}, date(2026, 6, 1), "09:00", "Nope/Either")


# --- Waits ---------------------------------------------------------------------------------------------------------


def wait_step(**data) -> WaitStep:
    return WaitStep.model_validate({"id": "w", "type": "wait", **data})


def test_wait_duration_is_elapsed_time():
    assert wait_duration(wait_step(duration={"days": 3})) == timedelta(hours=72)
    assert wait_duration(wait_step(duration={"days": 1, "hours": 2, "minutes": 3})) == timedelta(minutes=1563)
    with pytest.raises(ValueError):
        wait_duration(wait_step(until={"date": "2026-06-01", "time": "09:00"}))


def test_wait_until_instant():
    step = wait_step(until={"date": "2026-06-01", "time": "09:00", "timezone_mode": "lead"})
    now = utc(2026, 5, 20, 12, 0)
    assert wait_until_instant(step, now, "Europe/Paris") == utc(2026, 6, 1, 7, 0)
    assert wait_until_instant(step, now, "Asia/Kolkata") == utc(2026, 6, 1, 3, 30)
    assert wait_until_instant(step, now, "Pacific/Pago_Pago") == utc(2026, 6, 1, 20, 0)
    late = utc(2026, 6, 1, 8, 0)  # already past in Paris, not yet in New York
    assert wait_until_instant(step, late, "Europe/Paris") == late
    assert wait_until_instant(step, late, "America/New_York") == utc(2026, 6, 1, 13, 0)
    with pytest.raises(ValueError):
        wait_until_instant(wait_step(duration={"days": 1}), now, "UTC")
    with pytest.raises(ValueError):
        wait_until_instant(step, datetime(2026, 5, 20, 12, 0), "UTC")


def test_wait_until_across_a_daylight_saving_gap():
    step = wait_step(until={"date": "2026-03-08", "time": "02:30"})
    assert wait_until_instant(step, utc(2026, 3, 1), NEW_YORK) == utc(2026, 3, 8, 7, 0)


def test_wait_end_respects_the_sending_window_when_asked():
    started = local("Europe/Paris", 2026, 6, 3, 23, 30)  # Wednesday night
    respectful = wait_step(duration={"days": 2})
    assert wait_end(respectful, started, started, PARIS, schedule()) == local("Europe/Paris", 2026, 6, 8, 8, 0)
    blunt = wait_step(duration={"days": 2}, respect_quiet_hours=False)
    assert wait_end(blunt, started, started, PARIS, schedule()) == local("Europe/Paris", 2026, 6, 5, 23, 30)
    # A wait resumed late (e.g. after a pause) ends now, not in the past.
    now = local("Europe/Paris", 2026, 6, 10, 10, 0)
    assert wait_end(respectful, started, now, PARIS, schedule()) == now


def test_wait_end_for_an_until_wait():
    step = wait_step(until={"date": "2026-06-06", "time": "09:00"})  # a Saturday
    now = utc(2026, 6, 1)
    assert wait_end(step, now, now, PARIS, schedule()) == local("Europe/Paris", 2026, 6, 8, 8, 0)
    assert wait_end(step, now, now, PARIS, CampaignSchedule()) == local("Europe/Paris", 2026, 6, 6, 9, 0)
