"""Each row of an export as a validated response: scores as integers on their scale, choices and texts as given,
times in UTC, or an error naming the row, the column, the value and what was expected.

`reader(mapping)` compiles one converter per column once, so that converting a row is a loop of dictionary
lookups and plain calls: the hot loop of an import of millions of rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from voxpop.imports import times
from voxpop.imports.formats import ImportFileError
from voxpop.imports.mapping import ColumnMapping, Mapping
from voxpop.imports.profiles import split_joined, whole_number

SKIP = object()  # a converter's "not answered"
NAME_LENGTH = 60
YES_NO = {"1": "yes", "0": "no", "yes": "yes", "no": "no", "y": "yes", "n": "no", "true": "yes", "false": "no"}


@dataclass
class ParsedResponse:
    row: int  # the row number from Export.rows()
    source_id: str  # the source's response id, else the SHA-256 of the row's stripped cells (hex)
    submitted_at: datetime  # aware, UTC
    answers: dict[str, int | str | list[str]]  # question key → score, text, choice or chosen options
    attributes: dict[str, str]
    customer: dict[str, str]  # "email" and "ref" when mapped
    started_at: datetime | None = None  # aware, UTC


@dataclass
class RowError:
    row: int
    column: str
    value: str
    expected: str
    reason: str = field(default="is not valid")

    def __str__(self) -> str:
        column = self.column if len(self.column) <= NAME_LENGTH else self.column[: NAME_LENGTH - 1] + "…"
        return f"row {self.row}, column {column!r}: the value {self.value!r} {self.reason}; expected {self.expected}"


class Invalid(Exception):
    """Raised by a converter: the value does not fit; carries the reason and what was expected."""

    def __init__(self, reason: str, expected: str) -> None:
        super().__init__(reason)
        self.reason, self.expected = reason, expected


Convert = Callable[[str], object]


def reader(mapping: Mapping) -> Callable[[int, list[str | None]], ParsedResponse | RowError]:
    """A function from (row number, cells) to a ParsedResponse or a RowError, its converters built once."""
    answers, options, attributes, customer = [], [], [], []
    for column in mapping.columns:
        if column.role in ("nps", "csat", "ces", "rating"):
            answers.append((column.position, column.key, column, _score(column)))
        elif column.role in ("text", "choice", "yes_no") or (column.role == "multi_choice" and not _one_per_option(
                mapping, column)):
            answers.append((column.position, column.key, column, CONVERTERS[column.role](column)))
        elif column.role == "multi_choice":
            options.append((column.position, column.key, column.options[0], column.missing))
        elif column.role == "attribute":
            attributes.append((column.position, column.key))
        elif column.role in ("customer_email", "customer_ref"):
            customer.append((column.position, "email" if column.role == "customer_email" else "ref"))
    identity = _find(mapping, "response_id")
    submitted, started = _find(mapping, "submitted_at"), _find(mapping, "started_at")
    submitted = submitted or started
    if submitted is None:
        raise ImportFileError("the mapping has no column with the submit time; name it in the mapping file, e.g. "
                              "columns: {\"Date\": submitted_at}")
    submitted_at, started_at = _time_parser(submitted, mapping), started and _time_parser(started, mapping)

    def read(row: int, cells: list[str | None]) -> ParsedResponse | RowError:
        column = submitted
        try:
            moment = submitted_at(cells[submitted.position])
            column = started
            began = started_at(cells[started.position]) if started_at else None
            answered = {}
            for position, key, column, convert in answers:  # noqa: B007 (the except below names `column`)
                cell = cells[position]
                if cell and (value := convert(cell)) is not SKIP:
                    answered[key] = value
            for position, key, option, missing in options:
                cell = cells[position]
                if cell and cell != "0" and cell not in missing and cell.strip():
                    answered.setdefault(key, []).append(option)
        except Invalid as problem:
            return RowError(row, column.name, str(cells[column.position] or ""), problem.expected, problem.reason)
        kept = {key: cell.strip() for position, key in attributes if (cell := cells[position]) and cell.strip()}
        known = {name: cell.strip() for position, name in customer if (cell := cells[position]) and cell.strip()}
        if identity is None:
            source_id = hashlib.sha256("\x1f".join((cell or "").strip() for cell in cells).encode()).hexdigest()
        elif not (source_id := (cells[identity.position] or "").strip()):
            return RowError(row, identity.name, "", "the response's id", "is blank")
        return ParsedResponse(row, source_id, moment, answered, kept, known, began)

    return read


def _find(mapping: Mapping, role: str) -> ColumnMapping | None:
    return next((column for column in mapping.columns if column.role == role), None)


def _one_per_option(mapping: Mapping, column: ColumnMapping) -> bool:
    """Whether a multi-select has a column per option (a marked cell chooses it) rather than one joined cell."""
    return sum(other.key == column.key for other in mapping.columns) > 1 or len(column.options) == 1


def _score(column: ColumnMapping) -> Convert:
    """Whole numbers on the column's scale, by dictionary lookup; other text goes the slow way to its error."""
    low, high = column.scale
    lookup: dict[str, object] = {str(n): n for n in range(low, high + 1)}
    lookup.update(dict.fromkeys(column.missing, SKIP))
    kind = column.role.upper() if column.role != "rating" else "rating"
    expected = f"a whole number from {low} to {high} or a blank"

    def score(cell: str) -> object:
        value = lookup.get(cell, lookup)
        if value is not lookup:
            return value
        text = cell.strip()
        if not text or text in column.missing:
            return SKIP
        number = whole_number(text)
        if number is None:
            raise Invalid(f"is not a whole number on the {low}–{high} {kind} scale", expected)
        if not low <= number <= high:
            raise Invalid(f"is outside the {low}–{high} {kind} scale", expected)
        return number
    return score


def _text(column: ColumnMapping) -> Convert:
    missing = column.missing
    return lambda cell: cell if cell.strip() and cell.strip() not in missing else SKIP


def _choice(column: ColumnMapping) -> Convert:
    """Options exactly as given (a misspelt "Disgree" included); surrounding spaces do not make a new option."""
    lookup: dict[str, object] = {option: option for option in column.options}
    lookup.update({option.strip(): option for option in column.options if option.strip() not in lookup})
    shown = ", ".join(repr(option) for option in column.options[:10]) + (" ..." if len(column.options) > 10 else "")

    def choice(cell: str) -> object:
        value = lookup.get(cell) or lookup.get(cell.strip())
        if value is not None:
            return value
        if not cell.strip() or cell.strip() in column.missing:
            return SKIP
        raise Invalid("is not one of the question's options", f"one of {shown} or a blank")
    return choice


def _joined_choices(column: ColumnMapping) -> Convert:
    """Google Forms' ", "-joined multi-select; options a respondent typed under "Other" are kept as given."""
    def chosen(cell: str) -> object:
        if cell.strip() in column.missing:
            return SKIP
        return split_joined(cell) or SKIP
    return chosen


def _yes_no(column: ColumnMapping) -> Convert:
    def yes_no(cell: str) -> object:
        value = YES_NO.get(cell.strip().lower())
        if value is not None:
            return value
        if not cell.strip() or cell.strip() in column.missing:
            return SKIP
        raise Invalid("is neither yes nor no", "1 or 0, yes or no, true or false, or a blank")
    return yes_no


CONVERTERS = {"text": _text, "choice": _choice, "multi_choice": _joined_choices, "yes_no": _yes_no}


def _time_parser(column: ColumnMapping, mapping: Mapping) -> Callable[[str | None], datetime]:
    """The column's times in UTC; a blank or unreadable time is Invalid, since every response needs its time."""
    if column.time_format is None:
        raise ImportFileError(f"column {column.name!r} holds times in a format voxpop does not know; give its "
                              "time_format in the mapping file, e.g. time_format: \"%d.%m.%Y %H:%M\"")
    parse = times.to_utc(times.parser(column.time_format), times.zone(column.time_zone or mapping.timezone))
    expected = f"a time like {times.example(column.time_format)}"

    def moment(cell: str | None) -> datetime:
        if not cell or not cell.strip():
            raise Invalid("is blank", expected)
        try:
            return parse(cell)
        except (ValueError, OverflowError):
            raise Invalid(f"is not a time in the format {column.time_format}", expected) from None
    return moment
