"""Which months of a monthly series have ended, so that a control chart is read on those only.

A month still running is a partial period: its few answers so far would move the limits and trip the run rules
(a 6-day-old month with a dozen detractors reads as a "drop"). Charts are computed on the ended months, and the
running month is shown beside them as a partial point. Months are named by their first day as ISO text
("2026-12-01"), as analysis.rollups.month_start writes them. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

Record = TypeVar("Record")


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
