"""Deadlines in business hours: "24 business hours after a Friday-evening answer" falls on Wednesday afternoon,
not on Saturday evening. Pure: times in, times out; the caller supplies the workspace's time zone and week.

A business week is a set of ISO weekdays (1 = Monday) and one working day [start, end) in local time. Holidays
are not modelled yet. Daylight-saving changes are handled by working in local wall time and converting back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessWeek:
    zone: str = "UTC"
    start: time = time(9)
    end: time = time(17)
    workdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})

    def __post_init__(self):
        if not self.start < self.end:
            raise ValueError(f"the working day must start before it ends ({self.start:%H:%M} to {self.end:%H:%M})")
        if not self.workdays or not self.workdays <= set(range(1, 8)):
            raise ValueError("name at least one working day, as ISO weekdays 1 (Monday) to 7 (Sunday)")
        ZoneInfo(self.zone)

    @property
    def hours_per_day(self) -> float:
        return (datetime.combine(datetime.min, self.end) - datetime.combine(datetime.min, self.start)).seconds / 3600


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("business time needs aware datetimes (UTC in the store)")
    return moment.astimezone(zone).replace(tzinfo=None)


def add_business_hours(moment: datetime, hours: float, week: BusinessWeek) -> datetime:
    """The moment `hours` business hours after `moment` (an aware datetime), as an aware UTC datetime."""
    if hours < 0:
        raise ValueError("a deadline cannot be a negative number of hours away")
    zone = ZoneInfo(week.zone)
    local = _local(moment, zone)
    left = timedelta(hours=hours)
    while True:
        day_start = datetime.combine(local.date(), week.start)
        day_end = datetime.combine(local.date(), week.end)
        if local.isoweekday() in week.workdays and local < day_end:
            local = max(local, day_start)
            available = day_end - local
            if left <= available:
                local += left
                break
            left -= available
        local = datetime.combine(local.date() + timedelta(days=1), week.start)
    return local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))


def business_hours_between(start: datetime, end: datetime, week: BusinessWeek) -> float:
    """Business hours from `start` to `end` (negative if `end` comes first): how long a case took, or how long
    is left before its deadline."""
    if end < start:
        return -business_hours_between(end, start, week)
    zone = ZoneInfo(week.zone)
    local, last = _local(start, zone), _local(end, zone)
    total = timedelta()
    day = local.date()
    while day <= last.date():
        if day.isoweekday() in week.workdays:
            opens = max(datetime.combine(day, week.start), local)
            closes = min(datetime.combine(day, week.end), last)
            if closes > opens:
                total += closes - opens
        day += timedelta(days=1)
    return total.total_seconds() / 3600
