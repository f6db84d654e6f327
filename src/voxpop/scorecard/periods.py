"""The one check of a period label that the scorecard's pages, review, entries and command line all make.

A period is taken when the scorecard can show it: a month (2026-11) or quarter (2026-Q4), from 1900 on (a page reads
24 periods back, and the calendar's year 1 has none before it), and started already (a period that has not started
has no data, and locking or commenting it would store what no page can show).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from voxpop.analysis.periods import DaysError, period_kind, period_label, period_shift

EARLIEST = "1900"  # labels sort as text: "1899-12" < "1900" < "1900-01" < "1900-Q1"
# Where no time zone is given, the first zone a day begins in: a period refused there has started nowhere.
FIRST_ZONE_OFFSET = 14
EXAMPLE = {"month": "2026-11", "quarter": "2026-Q4"}


class PeriodError(ValueError):
    """A period the scorecard cannot show, in a sentence that says what to write instead."""

    field = "period"


def running_period(now: datetime, zone: str | None, kind: str) -> str:
    """The month or quarter `now` falls in (not ended yet), in `zone` or, without one, where the day begins first."""
    local = now.astimezone(timezone(timedelta(hours=FIRST_ZONE_OFFSET)) if zone is None else ZoneInfo(zone))
    return period_label(local.date(), kind)


def check_period(label: str, *, now: datetime | None = None, zone: str | None = None, kind: str | None = None,
                 subject: str = "these measures are") -> str:
    """The period label, stripped, if the scorecard can show it (and of `kind` when given); PeriodError if not."""
    label = (label or "").strip()
    try:
        found = period_kind(label)
    except DaysError as exc:
        if kind is not None:
            raise PeriodError(f"period {label!r} is not a {kind}; write {EXAMPLE[kind]}") from None
        raise PeriodError(str(exc)) from None
    if kind is not None and found != kind:
        raise PeriodError(f"{label} is a {found}, but {subject} reported by {kind}; write {EXAMPLE[kind]}")
    running = running_period(now or datetime.now(timezone.utc), zone, found)
    if label < EARLIEST:
        raise PeriodError(f"'{label}' is before {EARLIEST}: pick a later period, such as {period_shift(running, -1)}")
    if label > running:
        raise PeriodError(f"'{label}' has not started yet: pick {running} or an earlier period")
    return label
