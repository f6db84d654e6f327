"""Writing a batch of imported responses: the hot loop of a million-row import.

Statements go to the driver as plain tuples (SQLAlchemy's per-row parameter processing cost more than the
inserts themselves), and the rollup increments are counted per distinct (question, day, score, attribute
values) before being spread over the rollup rows, so a batch of thousands of responses becomes a few hundred
upserts. The SQL is the same on SQLite and PostgreSQL; only the parameter marker differs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from voxpop.analysis import rollups
from voxpop.analysis.models import ALL
from voxpop.collection.models import Response
from voxpop.customers.service import customer_ids
from voxpop.imports.rows import ParsedResponse
from voxpop.store.ids import public_id
from voxpop.surveys.schemas import SCORED_KINDS

KEY_PREFIX = "import:"  # idempotency keys of imported responses; live ones are form tokens or client keys
RESPONSE_COLUMNS = ("public_id", "survey_id", "version_id", "customer_id", "idempotency_key", "language", "channel",
                    "submitted_at")


@dataclass(frozen=True)
class Target:
    """Where a batch goes: the survey version, its questions (key -> id, kind, scale max), and the zone of
    the rollups' days."""

    survey_id: int
    version_id: int
    questions: dict[str, tuple[int, str, int | None]]
    language: str
    zone: str


def store_batch(connection: Connection, batch: list[ParsedResponse], target: Target) -> int:
    """Insert the batch's new responses (a key already stored is skipped by the database), their answers,
    attributes and rollups; returns how many responses were new."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    stamp = Response.__table__.c.submitted_at.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
    customers = _customer_ids(connection, batch)
    by_key: dict[str, ParsedResponse] = {}
    for parsed in batch:
        by_key.setdefault(KEY_PREFIX + parsed.source_id, parsed)  # a row repeated in one batch counts once
    values = []
    for key, parsed in by_key.items():
        moment = stamp(parsed.submitted_at) if stamp else parsed.submitted_at
        values += [public_id(), target.survey_id, target.version_id, customers.get(customer_ref(parsed)), key,
                   target.language, "import", moment]
    placeholders = ", ".join(["(" + ", ".join([marker] * len(RESPONSE_COLUMNS)) + ")"] * len(by_key))
    inserted = connection.exec_driver_sql(
        f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}) VALUES {placeholders} "
        "ON CONFLICT (survey_id, idempotency_key) DO NOTHING RETURNING id, idempotency_key", tuple(values)).all()
    answers, attributes, scored = [], [], Counter()
    local = ZoneInfo(target.zone)
    for response_id, key in inserted:
        parsed = by_key[key]
        day = parsed.submitted_at.astimezone(local).date()
        sliced = tuple(parsed.attributes.items())
        for question_key, value in parsed.answers.items():
            question_id, kind, high = target.questions[question_key]
            if kind in SCORED_KINDS:
                answers.append((response_id, question_id, value, None, None))
                scored[(question_id, high, day, value, sliced)] += 1
            elif isinstance(value, list):
                answers.extend((response_id, question_id, None, item, None) for item in value)
            elif kind == "text":
                answers.append((response_id, question_id, None, None, value))
            else:
                answers.append((response_id, question_id, None, value, None))
        attributes.extend((response_id, name, value) for name, value in sliced)
    if answers:
        connection.exec_driver_sql("INSERT INTO answers (response_id, question_id, score, choice, text) "
                                   f"VALUES ({marker}, {marker}, {marker}, {marker}, {marker})", answers)
    if attributes:
        connection.exec_driver_sql("INSERT INTO response_attributes (response_id, name, value) "
                                   f"VALUES ({marker}, {marker}, {marker})", attributes)
    rollups.add(connection, rollup_rows(scored))
    return len(inserted)


def bulk_cache(connection: Connection, *, on: bool) -> None:
    """A large page cache while an import runs (SQLite's default 2 MB makes every index insert of a million-row
    import a disk read), back to the default afterwards; PostgreSQL sizes its own buffers."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA cache_size = {-262144 if on else -2000}")


def rollup_rows(scored: Counter) -> list[dict[str, Any]]:
    """The rollup increments of counted scores: each (question, scale max, day, score, attributes) adds its
    count to the day's totals and to each of its attribute values (the rules of rollups.increments)."""
    rows: dict[tuple[int, date, str, str], list[float]] = {}
    for (question_id, high, day, score, sliced), count in scored.items():
        counts = rollups.score_counts(score, high, count)
        for attribute, value in ((ALL, ALL), *sliced):
            row = rows.setdefault((question_id, day, attribute, value), [0, 0.0, 0.0, 0, 0, 0, 0])
            for index, amount in enumerate(counts):
                row[index] += amount
    return [{"question_id": question_id, "day": day, "attribute": attribute, "value": value,
             **dict(zip(rollups.COUNTS, counts))}
            for (question_id, day, attribute, value), counts in rows.items()]


def customer_ref(parsed: ParsedResponse) -> str | None:
    """The customer's external id: the source's customer reference, else the e-mail address (lower case)."""
    return parsed.customer.get("ref") or (parsed.customer.get("email") or "").lower() or None


def _customer_ids(connection: Connection, batch: list[ParsedResponse]) -> dict[str, int]:
    """The batch's customers by external id, created when new (e-mail kept when given)."""
    emails = {ref: parsed.customer.get("email") for parsed in batch if (ref := customer_ref(parsed))}
    return customer_ids(connection, emails)[0] if emails else {}
