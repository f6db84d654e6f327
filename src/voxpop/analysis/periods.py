"""Periods: which days a filter's preset or since/until means, and which months of a monthly series have ended.

A filter names its days as `since`/`until` (YYYY-MM-DD, both included) or as a preset `period` counted from the
workspace's today (PERIODS); `days` reads them. It knows no domain, so every page that narrows by days (responses,
transactions) reads them the same way.

A control chart is read on the months that have ended only.
A month still running is a partial period: its few answers so far would move the limits and trip the run rules
(a 6-day-old month with a dozen detractors reads as a "drop"). Charts are computed on the ended months, and the
running month is shown beside them as a partial point. Months are named by their first day as ISO text
("2026-12-01"), as analysis.rollups.month_start writes them. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

Record = TypeVar("Record")
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)  # days a filter may name (far ends overflow in UTC)
SINCE_HELP = "First day, YYYY-MM-DD, in the workspace's time zone."
UNTIL_HELP = "Last day (included), YYYY-MM-DD."


def day_start(day: date, zone: str) -> datetime:
    """The first instant of `day` in the time zone `zone` (aware): days are the workspace's, instants are UTC."""
    return datetime.combine(day, time(), ZoneInfo(zone))


def within_days(column: Any, since: date | None, until: date | None, zone: str) -> list:
    """Conditions keeping an aware timestamp `column` (any SQL expression) within the local days `since` to
    `until`, both included; either may be None for an open end."""
    conditions = []
    if since:
        conditions.append(column >= day_start(since, zone))
    if until:
        conditions.append(column < day_start(until + timedelta(days=1), zone))
    return conditions


class DaysError(ValueError):
    """Days that cannot be read, said so the user can fix them; `parameter` is the query parameter at fault."""

    def __init__(self, message: str, *, parameter: str):
        super().__init__(message)
        self.parameter = parameter


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


# Preset periods, from the workspace's today: (label, first day, last day). "Last" periods are whole calendar
# periods; "this" periods run to today, so they are partial and a page says so.
PERIODS = {
    "last-7-days": ("Last 7 days", lambda today: (today - timedelta(days=6), today)),
    "last-30-days": ("Last 30 days", lambda today: (today - timedelta(days=29), today)),
    "last-90-days": ("Last 90 days", lambda today: (today - timedelta(days=89), today)),
    "this-month": ("This month", lambda today: (today.replace(day=1), today)),
    "last-month": ("Last month", lambda today: (_months_before(today, 1), today.replace(day=1) - timedelta(days=1))),
    "this-quarter": ("This quarter", lambda today: (_quarter_start(today), today)),
    "last-quarter": ("Last quarter", lambda today: (_months_before(_quarter_start(today), 3),
                                                    _quarter_start(today) - timedelta(days=1))),
    "this-year": ("This year", lambda today: (date(today.year, 1, 1), today)),
    "last-year": ("Last year", lambda today: (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))),
    "last-12-months": ("Last 12 months", lambda today: (_months_before(today, 11), today)),
}
PERIOD_HELP = "A preset instead of since/until: " + ", ".join(PERIODS) + "."


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def parse_day(value: str | None, name: str) -> date | None:
    """A YYYY-MM-DD day from a query value (None when blank); `name` is the parameter, for the error."""
    value = _blank(value)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise DaysError(f"{name} must be a date written YYYY-MM-DD, not {value!r}", parameter=name) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DaysError(f"{name} must be a date from {FIRST_DAY} to {LAST_DAY}, not {value!r}", parameter=name)
    return day


def days(*, today: date, since: str | None = None, until: str | None = None,
         period: str | None = None) -> tuple[date | None, date | None, str | None]:
    """The first and last day (either may be open) and the preset they came from, from query values as a form
    sends them (an empty field means no bound); raises DaysError."""
    period = _blank(period)
    first, last = parse_day(since, "since"), parse_day(until, "until")
    if period is not None:
        if period not in PERIODS:
            raise DaysError(f"period must be one of {', '.join(PERIODS)}, not {period!r}", parameter="period")
        if first or last:
            raise DaysError("give either a period or since/until, not both; clear one of them", parameter="period")
        first, last = PERIODS[period][1](today)
    if first is not None and last is not None and first > last:
        raise DaysError(f"since ({first}) is after until ({last}); swap them", parameter="since")
    return first, last, period


def month_touches(month: str, since: date | None, until: date | None) -> bool:
    """Whether the month (its first day as ISO text) has a day in since..until (either open)."""
    first = date.fromisoformat(month[:10])
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (until is None or first <= until) and (since is None or following > since)


def current_period(now: datetime, timezone: str) -> str:
    """The first day of the month `now` falls in, in the time zone the months are counted in: the month that
    has not ended."""
    return now.astimezone(ZoneInfo(timezone)).date().replace(day=1).isoformat()


def _rollup_period(record: Any) -> str:
    return str(record["period"])


def split_at(records: Sequence[Record], current: str, *,
             period: Callable[[Record], str] = _rollup_period) -> tuple[list[Record], list[Record]]:
    """A monthly series split into the months that ended before `current` and those from `current` on (not
    ended yet); `period` reads a record's month, by default its "period" as the rollup counts carry it."""
    ended = [record for record in records if period(record) < current]
    return ended, [record for record in records if period(record) >= current]


# Reporting periods as a scorecard names them: "2026-11" (a month) or "2026-Q4" (a quarter).
PERIOD_LABEL = re.compile(r"^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4]))$")


def period_label(day: date, kind: str) -> str:
    """The month ('2026-11') or quarter ('2026-Q4') holding `day`."""
    return f"{day.year}-{day.month:02d}" if kind == "month" else f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def period_kind(label: str) -> str:
    """'month' or 'quarter' for a period label; DaysError naming the label when it is neither."""
    found = PERIOD_LABEL.match(label or "")
    if not found:
        raise DaysError(f"{label!r} is not a period: write a month as 2026-11 or a quarter as 2026-Q4",
                        parameter="period")
    return "month" if found.group(2) else "quarter"


def period_days(label: str) -> tuple[date, date]:
    """The first and last day of a period label."""
    kind = period_kind(label)
    year, part = label.split("-")
    first = date(int(year), int(part) if kind == "month" else 3 * int(part[1]) - 2, 1)
    following = _months_before(first, -(1 if kind == "month" else 3))
    return first, following - timedelta(days=1)


def period_shift(label: str, steps: int) -> str:
    """The period `steps` periods after (negative: before) `label`, of the same kind."""
    kind = period_kind(label)
    first = period_days(label)[0]
    return period_label(_months_before(first, -steps * (1 if kind == "month" else 3)), kind)


def period_series(last: str, count: int) -> list[str]:
    """The `count` periods ending with `last`, oldest first."""
    return [period_shift(last, step) for step in range(1 - count, 1)]
