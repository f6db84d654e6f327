"""A survey's responses as a table, one row per response with labelled columns, written as CSV, XLSX, Parquet or
SPSS .sav.

The responses the filter keeps are read in chunks of `chunk_size`, in order of their id (keyset pages, so a deep
chunk costs what the first does); each chunk is pivoted into rows and written before the next is read, so a
million responses never sit in memory at once. A .sav is the exception: pyreadstat writes a whole DataFrame and
cannot append, so a .sav export is refused above MAX_SAV_ROWS responses.

Columns: the response's own (id, time in the workspace's zone, language, channel, version, customer), then each
attribute, then each question by key across the survey's versions (newest wording): a score, a text, a choice,
or for a multiple-choice question one 0/1 column per option ("bought__boots"); "question__other" holds the words
typed under Other, and an imported answer that is none of the options.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from voxpop.collection.filters import ResponseFilter, response_conditions
from voxpop.collection.models import Answer, AttributeSetValue, Response
from voxpop.customers.models import Customer
from voxpop.surveys.models import AttributeDefinition, Question, Survey, SurveyVersion
from voxpop.surveys.schemas import OTHER, SCORED_KINDS, text_in
from voxpop.web.tables import safe_cell

CHUNK_SIZE = 2000  # responses per read: their answers are fetched with IN (...), which both databases take
MAX_SAV_ROWS = 200_000  # a .sav is built in memory (pyreadstat cannot append): about 1 GB at 100 columns
MAX_XLSX_ROWS = 1_048_575  # an Excel sheet's rows, less the header
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "sav": "application/x-spss-sav",
}
FORMATS = tuple(MEDIA_TYPES)
SAV_NAME = re.compile(r"[^A-Za-z0-9_.@#$]")
NPS_ANCHORS = ("Not at all likely", "Extremely likely")


class ExportError(ValueError):
    """An export that cannot be made, said so the user can choose another."""


@dataclass(frozen=True)
class ExportColumn:
    """One column of the table: its key (the header), its label, its type (text, integer, flag or timestamp), and
    the labels of its values (a scale's anchors, a choice's option labels)."""

    key: str
    label: str
    type: str = "text"
    value_labels: tuple[tuple[int | str, str], ...] = ()


@dataclass(frozen=True)
class QuestionColumns:
    """Where one question's answers go: `kind` is score, choice, choices (0/1 per option) or text (also for a key
    whose kind differs between versions, written as text); `flags` maps an option to its 0/1 column."""

    key: str
    kind: str
    column: str | None
    flags: tuple[tuple[str, str], ...] = ()
    other: str | None = None


@dataclass(frozen=True)
class ExportLayout:
    survey_id: int
    survey_key: str
    zone: str
    columns: tuple[ExportColumn, ...]
    attributes: tuple[tuple[str, str], ...]  # (attribute name, its column)
    questions: tuple[QuestionColumns, ...]


def _unique(key: str, taken: set[str], prefix: str) -> str:
    """The column key, prefixed when an earlier column has it (an attribute named `channel`, say)."""
    column = key if key not in taken else f"{prefix}__{key}"
    taken.add(column)
    return column


def _family(kind: str) -> str:
    if kind in SCORED_KINDS:
        return "score"
    return {"single_choice": "choice", "multiple_choice": "choices"}.get(kind, "text")


def _scale_labels(kind: str, spec: dict, low: int | None, high: int | None, language: str) -> tuple:
    anchors = spec.get("anchors") or {}
    words = [text_in(anchors.get(end), language, "en") for end in ("low", "high")]
    if kind == "nps":
        words = [word or default for word, default in zip(words, NPS_ANCHORS)]
    return tuple((point, word) for point, word in zip((low, high), words) if point is not None and word)


def export_layout(connection: Connection, *, survey_key: str, zone: str,
                  reserved: tuple[str, ...] = ()) -> ExportLayout | None:
    """The table's columns for a survey (None when there is no such survey): attributes its responses have, and
    its questions by key across versions, in the newest version's order, each labelled in the survey's language.
    An attribute or question named as one of `reserved` (a folder's partition keys) gets a prefixed column."""
    survey = connection.execute(select(Survey.id, Survey.default_language).where(Survey.key == survey_key)).first()
    if survey is None:
        return None
    language = survey.default_language
    columns = [ExportColumn("response_id", "Response id"), ExportColumn("submitted_at", f"Submitted at ({zone})",
                                                                        "timestamp"),
               ExportColumn("language", "Language"), ExportColumn("channel", "Collected through (web, api or import)"),
               ExportColumn("version", "Survey version", "integer"), ExportColumn("customer", "Customer id")]
    taken = {column.key for column in columns} | set(reserved)
    labels = dict(connection.execute(select(AttributeDefinition.name, AttributeDefinition.label)).all())
    names = connection.scalars(select(AttributeSetValue.name).distinct().where(AttributeSetValue.set_id.in_(
        select(Response.attribute_set_id).where(Response.survey_id == survey.id))).order_by(AttributeSetValue.name))
    attributes = []
    for name in names:
        attributes.append((name, _unique(name, taken, "attribute")))
        columns.append(ExportColumn(attributes[-1][1], labels.get(name) or name))
    rows = connection.execute(
        select(Question.key, Question.kind, Question.scale_min, Question.scale_max, Question.spec, SurveyVersion.number)
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .where(SurveyVersion.survey_id == survey.id)
        .order_by(SurveyVersion.number.desc(), Question.position)).all()
    newest: dict[str, Any] = {}
    families: dict[str, set[str]] = {}
    options: dict[str, dict[str, str]] = {}
    others: set[str] = set()
    for row in rows:  # newest version first, so the first row of a key is its newest wording
        key, kind, spec = row.key, row.kind, row.spec
        newest.setdefault(key, row)
        families.setdefault(key, set()).add(_family(kind))
        for option in spec.get("options") or ():
            options.setdefault(key, {}).setdefault(option["value"], text_in(option.get("label"), language, "en")
                                                   or option["value"])
        if spec.get("other"):
            others.add(key)
    others |= {key for key, kinds in families.items()
               if kinds == {"choices"} and _has_unlisted(connection, survey.id, key, list(options.get(key, {})))}
    questions = []
    for key, (_, kind, low, high, spec, _) in newest.items():
        family = families[key].pop() if len(families[key]) == 1 else "text"
        text = text_in(spec.get("text"), language, "en") or key
        listed = {value: label for value, label in options.get(key, {}).items() if value != OTHER}
        if family == "choices":
            flags = []
            for value, label in listed.items():
                flags.append((value, _unique(f"{key}__{value}", taken, "question")))
                columns.append(ExportColumn(flags[-1][1], f"{text} — {label}", "flag", ((0, "not chosen"), (1, "chosen"))))
            question = QuestionColumns(key, family, None, tuple(flags))
        else:
            column = _unique(key, taken, "question")
            value_labels = (_scale_labels(kind, spec, low, high, language) if family == "score"
                            else tuple(listed.items()) if family == "choice" else ())
            columns.append(ExportColumn(column, text, "integer" if family == "score" else "text", value_labels))
            question = QuestionColumns(key, family, column)
        if key in others and family in ("choice", "choices"):
            other = _unique(f"{key}__other", taken, "question")
            columns.append(ExportColumn(other, f"{text} — Other (the words given)"))
            question = QuestionColumns(key, family, question.column, question.flags, other)
        questions.append(question)
    return ExportLayout(survey.id, survey_key, zone, tuple(columns), tuple(attributes), tuple(questions))


def _has_unlisted(connection: Connection, survey_id: int, key: str, listed: list[str]) -> bool:
    """Whether an answer to this multiple-choice question is none of its options (an imported free-text answer),
    which then goes in its Other column."""
    listed = [*listed, OTHER]
    return connection.execute(select(Answer.id).join(Question, Question.id == Answer.question_id)
                              .join(SurveyVersion, SurveyVersion.id == Question.version_id)
                              .where(SurveyVersion.survey_id == survey_id, Question.key == key,
                                     Answer.choice.is_not(None), Answer.choice.not_in(listed)).limit(1)).first() is not None


def count_responses(connection: Connection, layout: ExportLayout, response_filter: ResponseFilter) -> int:
    """How many responses the export holds."""
    return connection.scalar(select(func.count()).select_from(Response).where(
        Response.survey_id == layout.survey_id, *response_conditions(response_filter, zone=layout.zone)))


def response_chunks(connection: Connection, layout: ExportLayout, response_filter: ResponseFilter, *,
                    chunk_size: int = CHUNK_SIZE) -> Iterator[list[list[Any]]]:
    """The table's rows, `chunk_size` responses at a time, in order of the response's id; values are in the
    order of layout.columns, None where there is no answer."""
    conditions = response_conditions(response_filter, zone=layout.zone)
    local = ZoneInfo(layout.zone)
    position = {column.key: index for index, column in enumerate(layout.columns)}
    by_key = {question.key: question for question in layout.questions}
    attribute_at = {name: position[column] for name, column in layout.attributes}
    attribute_sets: dict[int, list[tuple[str, str]]] = {}
    last = 0
    while True:
        responses = connection.execute(
            select(Response.id, Response.public_id, Response.submitted_at, Response.language, Response.channel,
                   SurveyVersion.number, Customer.external_id, Response.attribute_set_id)
            .join(SurveyVersion, SurveyVersion.id == Response.version_id)
            .outerjoin(Customer, Customer.id == Response.customer_id)
            # survey_id + 0: SQLite would otherwise walk the (survey, submitted_at) index and sort the whole survey
            # for every chunk; on the primary key each chunk reads only its own rows.
            .where((Response.survey_id + 0) == layout.survey_id, Response.id > last, *conditions)
            .order_by(Response.id).limit(chunk_size)).all()
        if not responses:
            return
        missing = {row.attribute_set_id for row in responses} - attribute_sets.keys() - {None}
        if len(attribute_sets) > 10 * chunk_size:  # one set per response, in the worst case: keep the cache bounded
            attribute_sets.clear()
            missing = {row.attribute_set_id for row in responses} - {None}
        for set_id, name, value in connection.execute(
                select(AttributeSetValue.set_id, AttributeSetValue.name, AttributeSetValue.value)
                .where(AttributeSetValue.set_id.in_(missing))) if missing else ():
            attribute_sets.setdefault(set_id, []).append((name, value))
        attribute_sets.update({set_id: [] for set_id in missing if set_id not in attribute_sets})
        rows: dict[int, list[Any]] = {}
        for response in responses:
            row = [None] * len(layout.columns)
            row[:6] = [response.public_id, response.submitted_at.astimezone(local), response.language,
                       response.channel, response.number, response.external_id]
            for name, value in attribute_sets.get(response.attribute_set_id, ()):
                row[attribute_at[name]] = value
            rows[response.id] = row
        answers = connection.execute(
            select(Answer.response_id, Question.key, Answer.score, Answer.choice, Answer.text)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.response_id.in_(list(rows))).order_by(Answer.response_id, Answer.id))
        for response_id, key, score, choice, text in answers:
            if key in by_key:
                _place(rows[response_id], by_key[key], position, score, choice, text)
        yield list(rows.values())
        last = responses[-1].id


def _place(row: list[Any], question: QuestionColumns, position: dict[str, int], score, choice, text) -> None:
    """Put one answer row into its response's row."""
    if question.kind == "score":
        row[position[question.column]] = score
    elif question.kind == "text":
        value = text if text is not None else choice if choice is not None else score
        at = position[question.column]
        row[at] = str(value) if row[at] is None else f"{row[at]}; {value}"
    elif question.kind == "choices":
        for _, column in question.flags:
            row[position[column]] = row[position[column]] or 0
        flags = dict(question.flags)
        if choice in flags:
            row[position[flags[choice]]] = 1
        elif question.other is not None:
            _add_other(row, position[question.other], text if choice == OTHER else choice)
    else:
        row[position[question.column]] = choice
        if question.other is not None and choice == OTHER:
            _add_other(row, position[question.other], text)


def _add_other(row: list[Any], at: int, words: str | None) -> None:
    if words:
        row[at] = words if row[at] is None else f"{row[at]}; {words}"


def spreadsheet_rows(layout: ExportLayout, rows: list[list[Any]]) -> list[list[Any]]:
    """The rows as a spreadsheet's cells: times in ISO 8601, text cells made safe; numbers as they are. Only the
    columns that can hold them are looked at, as this runs on every cell of a large export."""
    times = [at for at, column in enumerate(layout.columns) if column.type == "timestamp"]
    texts = [at for at, column in enumerate(layout.columns) if column.type == "text"]
    cells = []
    for row in rows:
        row = list(row)
        for at in times:
            if row[at] is not None:
                row[at] = row[at].isoformat()
        for at in texts:
            if row[at]:
                row[at] = safe_cell(row[at])
        cells.append(row)
    return cells


def csv_chunks(layout: ExportLayout, chunks: Iterator[list[list[Any]]]) -> Iterator[str]:
    """The CSV text, a header of column keys and then one piece per chunk, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.key for column in layout.columns])
    yield buffer.getvalue()
    for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(spreadsheet_rows(layout, rows))
        yield buffer.getvalue()


def _value_words(column: ExportColumn) -> str:
    return "; ".join(f"{value} = {label}" for value, label in column.value_labels)


def write_xlsx(layout: ExportLayout, chunks: Iterator[list[list[Any]]], path: Path) -> int:
    """An XLSX of two sheets: Responses (a header of column keys, then the rows) and Questions (each column's key,
    label and value labels); written row by row (openpyxl's write-only mode). Returns the rows written."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Responses")
    sheet.append([column.key for column in layout.columns])
    written = 0
    for rows in chunks:
        written += len(rows)
        if written > MAX_XLSX_ROWS:
            raise ExportError(f"an Excel sheet holds at most {MAX_XLSX_ROWS:,} rows and this export has more; "
                              "export CSV or Parquet, or filter to fewer responses")
        for row in spreadsheet_rows(layout, rows):
            sheet.append(row)
    labels = book.create_sheet("Questions")
    labels.append(["column", "label", "values"])
    for column in layout.columns:
        labels.append([column.key, safe_cell(column.label), safe_cell(_value_words(column))])
    book.save(path)
    return written


def arrow_schema(layout: ExportLayout, *, time_zone: str | None = None):
    """The Parquet file's columns, typed; times in `time_zone` (the layout's zone unless given: the instant is the
    same, the zone is what a reader shows)."""
    import pyarrow as pa

    types = {"text": pa.string(), "integer": pa.int64(), "flag": pa.int8(),
             "timestamp": pa.timestamp("us", tz=time_zone or layout.zone)}
    return pa.schema([pa.field(column.key, types[column.type], metadata={
        "label": column.label,
        **({"value_labels": json.dumps({str(value): label for value, label in column.value_labels},
                                       ensure_ascii=False)} if column.value_labels else {}),
    }) for column in layout.columns])


def arrow_table(schema, rows: list[list[Any]]):
    """Rows (values in the order of the schema's fields) as an Arrow table of that schema."""
    import pyarrow as pa

    return pa.Table.from_arrays([pa.array(values, type=field.type) for values, field in zip(zip(*rows), schema)],
                                schema=schema)


def write_parquet(layout: ExportLayout, chunks: Iterator[list[list[Any]]], path: Path) -> int:
    """A Parquet file, one row group per chunk; each field's metadata holds its label and value labels (JSON)."""
    import pyarrow.parquet as pq

    schema = arrow_schema(layout)
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        for rows in chunks:
            written += len(rows)
            writer.write_table(arrow_table(schema, rows))
        if not written:
            writer.write_table(schema.empty_table())
    return written


def sav_names(layout: ExportLayout) -> dict[str, str]:
    """Each column's SPSS variable name: letters, digits and _ . @ # $, starting with a letter, at most 64
    characters, unique (a question key's hyphen becomes _)."""
    names: dict[str, str] = {}
    for column in layout.columns:
        name = SAV_NAME.sub("_", column.key)
        name = (name if name[:1].isalpha() else "v" + name)[:64]
        candidate, number = name, 1
        while candidate.lower() in {taken.lower() for taken in names.values()}:
            number += 1
            candidate = f"{name[:60]}_{number}"
        names[column.key] = candidate
    return names


def write_sav(layout: ExportLayout, chunks: Iterator[list[list[Any]]], path: Path, *, total: int) -> int:
    """An SPSS .sav with variable labels (the column labels) and value labels (scale anchors, option labels).
    pyreadstat writes a whole DataFrame, so `total` above MAX_SAV_ROWS is refused before anything is read."""
    import pandas as pd
    import pyreadstat

    if total > MAX_SAV_ROWS:
        raise ExportError(f"an SPSS .sav export is built in memory, so it holds at most {MAX_SAV_ROWS:,} responses and "
                          f"this one has {total:,}; filter to fewer, or export Parquet or CSV, which SPSS reads too")
    names = sav_names(layout)
    rows = [row for chunk in chunks for row in chunk]
    frame = pd.DataFrame(rows, columns=[names[column.key] for column in layout.columns])
    for column in layout.columns:
        name = names[column.key]
        if column.type == "timestamp":
            frame[name] = [None if value is None else value.isoformat() for value in frame[name]]
        elif column.type in ("integer", "flag"):
            frame[name] = pd.to_numeric(frame[name]).astype("float64")
        else:
            frame[name] = frame[name].astype(object)
    pyreadstat.write_sav(
        frame, path, file_label=f"voxpop export of {layout.survey_key}",
        column_labels={names[column.key]: column.label[:255] for column in layout.columns},
        variable_value_labels={names[column.key]: dict(column.value_labels) for column in layout.columns
                               if column.value_labels},
        variable_measure={names[column.key]: "scale" if column.type == "integer" else "nominal"
                          for column in layout.columns})
    return len(rows)


def write_file(layout: ExportLayout, chunks: Iterator[list[list[Any]]], path: Path, *, file_format: str,
               total: int) -> int:
    """The export in a file (XLSX, Parquet or .sav; CSV too, for the command line); returns the rows written."""
    if file_format == "csv":
        written = 0

        def counted() -> Iterator[list[list[Any]]]:
            nonlocal written
            for rows in chunks:
                written += len(rows)
                yield rows

        with path.open("w", encoding="utf-8", newline="") as out:
            out.writelines(csv_chunks(layout, counted()))
        return written
    if file_format == "sav":
        return write_sav(layout, chunks, path, total=total)
    return {"xlsx": write_xlsx, "parquet": write_parquet}[file_format](layout, chunks, path)
