"""Storing an export: a voxpop survey for its questions, then its responses, idempotently and all-or-nothing.

The rows flow through the same tables and the same rollup upkeep as live responses, so the dashboards show
history and new answers together. Each response is keyed by the source's response id (or a stable hash of
the row) in the idempotency key, whose uniqueness the database enforces: importing the same file twice, or an
export overlapping an earlier one, adds only what is new.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from voxpop.analysis import rollups
from voxpop.collection.answers import storable
from voxpop.collection.models import Answer, Response, ResponseAttribute
from voxpop.customers.models import Customer
from voxpop.imports.formats import Export, ImportFileError
from voxpop.imports.mapping import ColumnMapping, Mapping
from voxpop.imports.rows import ParsedResponse, RowError, reader
from voxpop.surveys import service as surveys
from voxpop.surveys.schemas import RESERVED_ATTRIBUTES, SCORED_KINDS, SurveyDefinition

BATCH = 2000  # rows per round trip: large enough to amortise statements, small enough to bound memory
QUESTION_ROLES = {"nps", "csat", "ces", "rating", "text", "choice", "multi_choice", "yes_no"}
KIND_OF_ROLE = {"choice": "single_choice", "multi_choice": "multiple_choice", "yes_no": "single_choice"}
KEY_PREFIX = "import:"  # idempotency keys of imported responses; live ones are form tokens or client keys
LIMITS = {"attribute": 200, "customer": 200}  # the widths of the columns they are stored in


class RowRejected(ImportFileError):
    """A row that cannot be imported, when the import is all-or-nothing."""

    def __init__(self, error: RowError):
        super().__init__(f"{error}. Nothing was imported: correct the file, or import the valid rows with "
                         "--skip-invalid --rejects FILE.")
        self.error = error


@dataclass
class ImportSummary:
    survey: str
    survey_created: bool
    source: str
    rows: int = 0
    new: int = 0
    present: int = 0
    rejected: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def sentence(self) -> str:
        verb = "would add" if self.dry_run else "added"
        return (f"{self.rows:,} rows read: {verb} {self.new:,} new responses to survey {self.survey!r}, "
                f"{self.present:,} already present, {self.rejected:,} rejected")


def survey_key_for(export: Export) -> str:
    """A survey key from the file name, e.g. '2019 English R Survey.csv' -> '2019-english-r-survey'."""
    slug = re.sub(r"[^a-z0-9]+", "-", export.path.stem.lower()).strip("-")[:60] or "imported"
    return slug if slug[0].isalpha() else f"s-{slug}"


def survey_definition(mapping: Mapping, *, key: str, title: str) -> SurveyDefinition:
    """A closed voxpop survey holding the mapped questions and attributes, as the file states them."""
    questions = []
    for column in question_columns(mapping):
        question: dict[str, Any] = {"key": column.key, "kind": KIND_OF_ROLE.get(column.role, column.role),
                                    "text": (column.label or column.header or column.key)[:2000]}
        if column.role in ("nps", "rating") or (column.role == "csat" and column.scale != (1, 5)):
            question["kind"] = "rating" if column.role == "csat" else column.role
            question["scale"] = {"min": column.scale[0], "max": column.scale[1]}
        if column.role == "ces":
            question["ces_version"] = column.ces_version
        if question["kind"] in ("single_choice", "multiple_choice"):
            # The options a person would pick from; long "Other" answers are stored, but are not options.
            options = [{"value": option} for option in column.options if len(option) <= 200]
            question["options"] = options or [{"value": "yes"}]
        questions.append(question)
    if not questions:
        raise ImportFileError("no column of the file was mapped to a question; map at least one with --mapping")
    attributes = [column.key for column in mapping.columns if column.role == "attribute"]
    return SurveyDefinition.model_validate({"key": key, "title": title[:2000], "status": "closed",
                                            "attributes": attributes, "questions": questions})


def question_columns(mapping: Mapping) -> list[ColumnMapping]:
    return [column for column in mapping.columns if column.role in QUESTION_ROLES]


def check_survey(questions: dict[str, tuple[int, str, int | None, int | None]], mapping: Mapping, survey: str) -> None:
    """An existing survey must have every mapped question, with the same kind and scale."""
    problems = []
    for column in question_columns(mapping):
        found = questions.get(column.key)
        kind = KIND_OF_ROLE.get(column.role, column.role)
        if found is None:
            problems.append(f"it has no question {column.key!r} (column {column.header!r})")
        elif found[1] != kind and not (kind in ("nps", "csat") and found[1] == "rating"):
            problems.append(f"its question {column.key!r} is {found[1]}, but column {column.header!r} holds {kind}")
        elif column.scale and found[1] in SCORED_KINDS and (found[3], found[2]) != tuple(column.scale):
            problems.append(f"its question {column.key!r} is on {found[3]}–{found[2]}, but column {column.header!r} "
                            f"is on {column.scale[0]}–{column.scale[1]}")
    if problems:
        raise ImportFileError(f"the file does not fit survey {survey!r}: " + "; ".join(problems)
                              + ". Map the columns onto its questions with --mapping, or import into a new survey.")
    reserved = [column.key for column in mapping.columns if column.role == "attribute" and column.key in RESERVED_ATTRIBUTES]
    if reserved:
        raise ImportFileError(f"attribute names {reserved} are reserved; rename them with --mapping")


def import_responses(
    db,
    export: Export,
    mapping: Mapping,
    *,
    survey_key: str | None = None,
    zone: str = "UTC",
    max_text_length: int = 5000,
    dry_run: bool = False,
    rejects: TextIO | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import every row, in one transaction. A bad row fails the whole import (RowRejected) unless `rejects`
    is given: then it is written there with its reason, and the valid rows are imported."""
    key = survey_key or survey_key_for(export)
    convert = _checked(reader(mapping), mapping, max_text_length)
    rejected = csv.writer(rejects) if rejects is not None else None
    if rejected is not None:
        rejected.writerow(["row", "column", "value", "reason", *(column.header for column in export.columns)])
    with db.write() as db_session:
        survey = surveys.get_by_key(db_session=db_session, key=key)
        created = survey is None
        if created:
            definition = survey_definition(mapping, key=key, title=export.path.stem)
            if dry_run:
                questions, survey_id, version_id = {}, None, None
            else:
                applied = surveys.apply(db_session=db_session, definition=definition)
                survey_id, version_id = applied.survey.id, applied.version.id
                questions = _questions(db_session.connection(), version_id)
        else:
            survey_id, version_id = survey.id, survey.current_version.id
            questions = _questions(db_session.connection(), version_id)
            check_survey(questions, mapping, key)
        summary = ImportSummary(key, created, export.format, dry_run=dry_run,
                                warnings=[*export.warnings, *mapping.warnings])
        connection = db_session.connection()
        language = survey.default_language if survey is not None else "en"
        for batch in _batches(export.rows(), convert, summary, rejected):
            if len(summary.samples) < 5:
                summary.samples += [_sample(parsed) for parsed in batch[:5 - len(summary.samples)]]
            if dry_run:
                present = _present(connection, survey_id, batch)
                summary.present += len(present)
                summary.new += len(batch) - len(present)
            else:
                added = _store(connection, batch, survey_id=survey_id, version_id=version_id, questions=questions,
                               language=language, zone=zone)
                summary.new += added
                summary.present += len(batch) - added
            if progress is not None:
                progress(summary.rows)
        if dry_run:
            db_session.rollback()
    return summary


def _checked(convert, mapping: Mapping, max_text_length: int):
    """The row converter, plus the limits of the store's columns, so no row fails inside an insert."""
    headers = {column.key: column.header for column in mapping.columns}
    limits = {column.key: max_text_length for column in mapping.columns if column.role in ("text", "choice", "multi_choice")}

    def checked(row: int, cells: list[str | None]) -> ParsedResponse | RowError:
        parsed = convert(row, cells)
        if isinstance(parsed, RowError):
            return parsed
        for key, limit in limits.items():
            value = parsed.answers.get(key)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and (len(item) > limit or not storable(item)):
                    long = len(item) > limit
                    return RowError(row, headers[key], item[:40] + ("…" if len(item) > 40 else ""),
                                    f"at most {limit:,} characters" if long else "text without control characters",
                                    f"is {len(item):,} characters long" if long else "holds control characters")
        for name, value in (*parsed.attributes.items(), *parsed.customer.items()):
            if len(value) > LIMITS["attribute"] or not storable(value):
                return RowError(row, headers.get(name, name), value[:40], f"at most {LIMITS['attribute']} characters",
                                "is too long to slice by" if len(value) > LIMITS["attribute"] else "holds control characters")
        return parsed

    return checked


def _batches(rows: Iterator, convert, summary: ImportSummary, rejected) -> Iterator[list[ParsedResponse]]:
    batch: list[ParsedResponse] = []
    for row, cells in rows:
        summary.rows += 1
        parsed = convert(row, cells)
        if isinstance(parsed, RowError):
            if rejected is None:
                raise RowRejected(parsed)
            summary.rejected += 1
            rejected.writerow([parsed.row, parsed.column, parsed.value, f"{parsed.reason}; expected {parsed.expected}",
                               *cells])
            continue
        batch.append(parsed)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _sample(parsed: ParsedResponse) -> dict[str, Any]:
    return {"row": parsed.row, "source_id": parsed.source_id, "submitted_at": parsed.submitted_at.isoformat(),
            "answers": parsed.answers, "attributes": parsed.attributes, "customer": parsed.customer}


def _questions(connection: Connection, version_id: int) -> dict[str, tuple[int, str, int | None, int | None]]:
    """Question key -> (id, kind, scale max, scale min) of one survey version."""
    from voxpop.surveys.models import Question

    rows = connection.execute(select(Question.key, Question.id, Question.kind, Question.scale_max, Question.scale_min)
                              .where(Question.version_id == version_id))
    return {key: (question_id, kind, high, low) for key, question_id, kind, high, low in rows}


def _present(connection: Connection, survey_id: int | None, batch: list[ParsedResponse]) -> set[str]:
    """The batch's keys already in the store (or twice in the batch), for a dry run."""
    keys = [KEY_PREFIX + parsed.source_id for parsed in batch]
    found = set()
    if survey_id is not None:
        for start in range(0, len(keys), 500):
            found |= set(connection.scalars(select(Response.idempotency_key).where(
                Response.survey_id == survey_id, Response.idempotency_key.in_(keys[start:start + 500]))))
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            found.add(key + "#again")
        seen.add(key)
    return found


def _store(connection: Connection, batch: list[ParsedResponse], *, survey_id: int, version_id: int,
           questions: dict[str, tuple[int, str, int | None, int | None]], language: str, zone: str) -> int:
    """Insert the batch's new responses (a key already stored is skipped by the database); returns how many."""
    customers = _customer_ids(connection, batch)
    by_key = {}
    for parsed in batch:
        by_key.setdefault(KEY_PREFIX + parsed.source_id, parsed)  # a row repeated in the file counts once
    inserted = connection.execute(_insert_new(connection.dialect.name), [
        {"public_id": str(uuid.uuid4()), "survey_id": survey_id, "version_id": version_id,
         "customer_id": customers.get(_customer_ref(parsed)), "idempotency_key": key, "language": language,
         "channel": "import", "submitted_at": parsed.submitted_at}
        for key, parsed in by_key.items()
    ]).all()
    answers, attributes, counts = [], [], {}
    local = ZoneInfo(zone)
    for response_id, key in inserted:
        parsed = by_key[key]
        scores = []
        for question_key, value in parsed.answers.items():
            question_id, kind, high, _ = questions[question_key]
            row = {"response_id": response_id, "question_id": question_id, "score": None, "choice": None, "text": None}
            if kind in SCORED_KINDS:
                answers.append(row | {"score": value})
                scores.append((question_id, value, high))
            elif kind in ("single_choice", "multiple_choice"):
                answers.extend(row | {"choice": item} for item in (value if isinstance(value, list) else [value]))
            else:
                answers.append(row | {"text": value})
        attributes.extend({"response_id": response_id, "name": name, "value": value}
                          for name, value in parsed.attributes.items())
        day = parsed.submitted_at.astimezone(local).date()
        for increment in rollups.increments(scores=scores, attributes=parsed.attributes, day=day):
            _accumulate(counts, increment)
    if answers:
        connection.execute(insert(Answer.__table__), answers)
    if attributes:
        connection.execute(insert(ResponseAttribute.__table__), attributes)
    rollups.add(connection, list(counts.values()))
    return len(inserted)


def _accumulate(counts: dict[tuple, dict[str, Any]], increment: dict[str, Any]) -> None:
    """Sum a batch's rollup increments per row, so each rollup row is written once per batch."""
    key = (increment["question_id"], increment["day"], increment["attribute"], increment["value"])
    if key in counts:
        for name in rollups.COUNTS:
            counts[key][name] += increment[name]
    else:
        counts[key] = dict(increment)


def _insert_new(dialect: str):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id, key: only the responses not stored yet come back."""
    table = Response.__table__
    statement = {"sqlite": sqlite, "postgresql": postgresql}[dialect].insert(table)
    return (statement.on_conflict_do_nothing(index_elements=["survey_id", "idempotency_key"])
            .returning(table.c.id, table.c.idempotency_key))


def _customer_ref(parsed: ParsedResponse) -> str | None:
    """The customer's external id: the source's customer reference, else the e-mail address (lower case)."""
    return parsed.customer.get("ref") or (parsed.customer.get("email") or "").lower() or None


def _customer_ids(connection: Connection, batch: list[ParsedResponse]) -> dict[str, int]:
    """The batch's customers by external id, created when new (e-mail kept when given)."""
    emails = {ref: parsed.customer.get("email") for parsed in batch if (ref := _customer_ref(parsed))}
    if not emails:
        return {}
    table = Customer.__table__
    known: dict[str, int] = {}
    refs = list(emails)
    for start in range(0, len(refs), 500):
        known |= dict(connection.execute(select(table.c.external_id, table.c.id)
                                         .where(table.c.external_id.in_(refs[start:start + 500]))).all())
    new = [{"external_id": ref, "email": emails[ref], "attributes": {}, "created_at": datetime.now(ZoneInfo("UTC"))}
           for ref in refs if ref not in known]
    if new:
        known |= dict(connection.execute(insert(table).returning(table.c.external_id, table.c.id), new).all())
    return known

