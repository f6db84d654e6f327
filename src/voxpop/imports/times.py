"""Times in the importer: the formats `analysis.time_formats` knows (the same rules the metrics engine reads
times by), and naive times read in a time zone and converted to UTC for the store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voxpop.analysis.time_formats import ISO, SAMPLE, Parse, detect_format, example, parser

__all__ = ["ISO", "SAMPLE", "Parse", "detect_format", "example", "parser", "to_utc", "zone"]


def zone(name: str):
    """The time zone called `name` (an IANA name such as Europe/Berlin, or UTC); ValueError naming the problem."""
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin, America/New_York "
                         "or UTC") from None


def to_utc(parse: Parse, time_zone) -> Parse:
    """`parse`, then naive times read as times in `time_zone` and every time converted to UTC."""
    offsets: dict[tuple[int, int, int, int], timedelta] = {}  # UTC offsets change on the hour at most

    def converted(text: str) -> datetime:
        moment = parse(text)
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
        hour = moment.year, moment.month, moment.day, moment.hour
        offset = offsets.get(hour)
        if offset is None:
            offset = offsets[hour] = moment.replace(tzinfo=time_zone).utcoffset()
        return (moment - offset).replace(tzinfo=UTC)

    if parse is not parser(ISO):
        return converted
    iso_offsets: dict[str, timedelta] = {}  # by "YYYY-MM-DD HH", the text up to the hour

    def iso_converted(text: str) -> datetime:
        # The hot path: one C call reads the text as UTC, then the zone's offset at that hour is subtracted.
        offset = iso_offsets.get(text[:13])
        if offset is not None:
            try:
                return datetime.fromisoformat(text + "+00:00") - offset
            except ValueError:
                pass  # the text states its own offset, or has spaces around it
        moment = converted(text)
        naive = parse(text)
        if naive.tzinfo is None and len(text) >= 13:
            iso_offsets[text[:13]] = naive.replace(tzinfo=UTC) - moment
        return moment
    return iso_converted
