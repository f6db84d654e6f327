"""Deadlines in business hours: reference cases worked by hand (a weekend, a Saturday start, both daylight-saving
changes in Berlin, a moment before opening or after closing) and properties that must hold for any moment, week
and zone (later is never earlier, and counting the hours back gives what was added)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.core.business_time import BusinessWeek, add_business_hours, business_hours_between

OFFICE = BusinessWeek(zone="UTC")  # 09:00-17:00, Monday to Friday
BERLIN = BusinessWeek(zone="Europe/Berlin")


def at(zone: str, *parts: int) -> datetime:
    """A wall-clock moment in `zone`, as the aware UTC datetime the store keeps."""
    return datetime(*parts, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@pytest.mark.parametrize(("start", "hours", "due"), [
    # Friday 16:00 + 24 business hours: 1 on Friday, 8 on Monday, 8 on Tuesday, 7 on Wednesday.
    ((2026, 11, 6, 16), 24, (2026, 11, 11, 16)),
    ((2026, 11, 7, 10), 1, (2026, 11, 9, 10)),  # Saturday: the clock starts on Monday at 09:00
    ((2026, 11, 8, 23), 8, (2026, 11, 9, 17)),  # Sunday night: a whole Monday
    ((2026, 11, 9, 7), 2, (2026, 11, 9, 11)),  # before opening: from 09:00
    ((2026, 11, 9, 18), 1, (2026, 11, 10, 10)),  # after closing: from the next morning
    ((2026, 11, 9, 9), 8, (2026, 11, 9, 17)),  # a whole day ends at closing time, not the next morning
    ((2026, 11, 9, 12, 30), 0.5, (2026, 11, 9, 13)),
    ((2026, 11, 9, 9), 80, (2026, 11, 20, 17)),  # ten working days
])
def test_reference_deadlines(start, hours, due):
    assert add_business_hours(at("UTC", *start), hours, OFFICE) == at("UTC", *due)
    assert business_hours_between(at("UTC", *start), at("UTC", *due), OFFICE) == hours


def test_the_clocks_going_back_in_berlin_keep_the_working_day_in_wall_time():
    # 25 October 2026, 03:00 CEST becomes 02:00 CET. Friday 16:00 CEST + 24 h = Wednesday 16:00 CET:
    # in UTC that is 14:00 to 15:00, five days and one hour later.
    start, due = at("Europe/Berlin", 2026, 10, 23, 16), add_business_hours(at("Europe/Berlin", 2026, 10, 23, 16), 24, BERLIN)
    assert due == at("Europe/Berlin", 2026, 10, 28, 16)
    assert (start.hour, due.hour) == (14, 15) and due - start == timedelta(days=5, hours=1)
    assert business_hours_between(start, due, BERLIN) == 24


def test_the_clocks_going_forward_in_berlin_keep_the_working_day_in_wall_time():
    # 29 March 2026, 02:00 CET becomes 03:00 CEST: the same deadline is one hour shorter in UTC.
    start = at("Europe/Berlin", 2026, 3, 27, 16)
    due = add_business_hours(start, 24, BERLIN)
    assert due == at("Europe/Berlin", 2026, 4, 1, 16)
    assert due - start == timedelta(days=4, hours=23)
    assert business_hours_between(start, due, BERLIN) == 24


def test_a_week_of_its_own():
    # A shop open 10:00-18:30, Tuesday to Saturday, in New York.
    shop = BusinessWeek(zone="America/New_York", start=time(10), end=time(18, 30), workdays=frozenset({2, 3, 4, 5, 6}))
    assert shop.hours_per_day == 8.5
    # Saturday 18:00 + 1 h: half an hour on Saturday, Sunday and Monday closed, half an hour on Tuesday.
    assert add_business_hours(at("America/New_York", 2026, 11, 7, 18), 1, shop) == at("America/New_York", 2026, 11, 10, 10, 30)


def test_time_between_is_negative_when_the_end_comes_first():
    start, end = at("UTC", 2026, 11, 9, 10), at("UTC", 2026, 11, 10, 12)
    assert business_hours_between(start, end, OFFICE) == 10
    assert business_hours_between(end, start, OFFICE) == -10
    assert business_hours_between(at("UTC", 2026, 11, 7, 9), at("UTC", 2026, 11, 8, 20), OFFICE) == 0  # a weekend


@pytest.mark.parametrize(("week", "message"), [
    (lambda: BusinessWeek(start=time(17), end=time(9)), "must start before it ends"),
    (lambda: BusinessWeek(workdays=frozenset()), "at least one working day"),
    (lambda: BusinessWeek(workdays=frozenset({0, 1})), "ISO weekdays"),
])
def test_a_week_that_cannot_be_is_refused_with_a_sentence(week, message):
    with pytest.raises(ValueError, match=message):
        week()


def test_negative_hours_and_naive_times_are_refused():
    with pytest.raises(ValueError, match="negative"):
        add_business_hours(at("UTC", 2026, 11, 9, 10), -1, OFFICE)
    with pytest.raises(ValueError, match="aware datetimes"):
        add_business_hours(datetime(2026, 11, 9, 10), 1, OFFICE)


# --- properties -------------------------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]
weeks = st.builds(
    lambda zone, opens, length, workdays: BusinessWeek(
        zone=zone, start=time(opens // 60, opens % 60),
        end=time((opens + length) // 60, (opens + length) % 60), workdays=frozenset(workdays)),
    st.sampled_from(ZONES),
    st.integers(6 * 60, 10 * 60),  # opening between 06:00 and 10:00: clear of every daylight-saving jump
    st.integers(60, 10 * 60),
    st.sets(st.integers(1, 7), min_size=1),
)
moments = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC))
hours = st.integers(0, 300 * 60).map(lambda minutes: minutes / 60)


@given(week=weeks, start=moments, first=hours, second=hours)
def test_more_hours_never_end_earlier(week, start, first, second):
    low, high = sorted((first, second))
    assert add_business_hours(start, low, week) <= add_business_hours(start, high, week)


@given(week=weeks, start=moments, added=hours)
def test_counting_back_gives_the_hours_added(week, start, added):
    due = add_business_hours(start, added, week)
    assert due >= start
    assert business_hours_between(start, due, week) == pytest.approx(added, abs=1e-6)


@given(week=weeks, start=moments, added=hours.filter(lambda value: value > 0))
def test_a_deadline_falls_in_working_time(week, start, added):
    local = add_business_hours(start, added, week).astimezone(ZoneInfo(week.zone))
    assert local.isoweekday() in week.workdays
    assert week.start < local.time() <= week.end


@given(week=weeks, first=moments, second=moments)
def test_time_between_is_antisymmetric(week, first, second):
    assert business_hours_between(first, second, week) == -business_hours_between(second, first, week)
