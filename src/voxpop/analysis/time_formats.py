"""Times as the survey tools write them: the formats voxpop knows, detecting a column's format from its values,
and parsing it fast. The importer and the metrics engine both read times by these rules.

Formats are strftime patterns (plus "ISO 8601"). Each known pattern is compiled once into a regular
expression whose groups build the datetime directly, several times faster than `datetime.strptime`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime

ISO = "ISO 8601"
# Tried in this order; when a day/month and a month/day pattern both read every value, the first (US, as
# Google Forms and SurveyMonkey write it) wins and the mapping says so.
CANDIDATES = (
    ISO,
    "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %I:%M %p",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
    "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y",
)
DIRECTIVES = {"%Y": r"(?P<Y>\d{4})", "%m": r"(?P<m>\d{1,2})", "%d": r"(?P<d>\d{1,2})", "%H": r"(?P<H>\d{1,2})",
              "%I": r"(?P<I>\d{1,2})", "%M": r"(?P<M>\d{2})", "%S": r"(?P<S>\d{2})(?:\.(?P<f>\d{1,6}))?",
              "%p": r"(?P<p>[AaPp][Mm])"}
SAMPLE = 500  # values a format must read (95% of them)
DISTINCT = 1000  # distinct values a column's format is judged from, first seen first (as an import profile)
DAY_FIRST = re.compile(r"(\d{1,2})/(\d{1,2})/")

Parse = Callable[[str], datetime]


def parser(time_format: str) -> Parse:
    """A function from text to datetime (naive unless the text states its offset); ValueError when it does not fit."""
    if time_format == ISO:
        return _iso
    pattern = _compile(time_format)
    if pattern is None:
        return lambda text: datetime.strptime(text.strip(), time_format)
    return lambda text: _from_match(pattern.fullmatch(text.strip()), text)


def _iso(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return datetime.fromisoformat(text.strip())


def _compile(time_format: str) -> re.Pattern | None:
    """The pattern as a regular expression, or None when it uses a directive this module does not compile."""
    parts = re.split(r"(%.)", time_format)
    if any(part.startswith("%") and part not in DIRECTIVES for part in parts):
        return None
    return re.compile("".join(DIRECTIVES.get(part) or r"\s+".join(map(re.escape, part.split(" "))) for part in parts))


def _from_match(match: re.Match | None, text: str) -> datetime:
    if match is None:
        raise ValueError(f"{text!r} does not match the time format")
    groups = match.groupdict()
    hour = int(groups.get("H") or groups.get("I") or 0)
    if groups.get("p"):
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r} has hour {hour} with AM/PM")
        hour = hour % 12 + (12 if groups["p"].lower() == "pm" else 0)
    fraction = groups.get("f") or ""
    return datetime(int(groups["Y"]), int(groups["m"]), int(groups["d"]), hour, int(groups.get("M") or 0),
                    int(groups.get("S") or 0), int(fraction.ljust(6, "0")) if fraction else 0)


def detect_format(values: Iterable[str]) -> tuple[str | None, bool]:
    """The first candidate format that reads the sampled values, and whether a day-first pattern fits all the
    values too (none has a day above 12)."""
    values = [value for value in values if value and value.strip()]
    sample = values[:SAMPLE]
    if not sample or all(value.strip().isdigit() for value in sample):  # ids and counts, never times
        return None, False
    fitting = [fmt for fmt in CANDIDATES if _reads_most(parser(fmt), sample)]
    if not fitting:
        return None, False
    chosen = fitting[0]
    if "%m/%d" in chosen and chosen.replace("%m/%d", "%d/%m") in fitting:
        if any(int(match.group(1)) > 12 for value in values if (match := DAY_FIRST.match(value.strip()))):
            return chosen.replace("%m/%d", "%d/%m"), False
        return chosen, not any(int(match.group(2)) > 12 for value in values if (match := DAY_FIRST.match(value.strip())))
    return chosen, False


def _reads_most(parse: Parse, sample: list[str]) -> bool:
    """Whether `parse` reads 95% of the sample: a few bad times must become row errors, not hide the format."""
    allowed = len(sample) // 20
    for value in sample:
        try:
            parse(value)
        except (ValueError, OverflowError):
            allowed -= 1
            if allowed < 0:
                return False
    return True


def example(time_format: str) -> str:
    """A sample time in `time_format`, for messages."""
    sample = datetime(2024, 7, 31, 16, 5, 9)
    return "2024-07-31 16:05:09 or 2024-07-31T16:05:09Z" if time_format == ISO else sample.strftime(time_format)
