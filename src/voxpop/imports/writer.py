"""Writing a batch of imported responses: the hot loop of a million-row import.

Statements go to the driver as plain tuples (SQLAlchemy's per-row parameter processing cost more than the
inserts themselves), zipped in C from the batch's columns, so this process spends its time in the database
while the next batch is parsed (in a worker process, for a big file: see batches.py). The rollup increments are counted per distinct (question, day, score,
attribute values) before being spread over the rollup rows, so a batch of thousands of responses becomes a
few hundred upserts. The SQL is the same on SQLite and PostgreSQL; only the parameter marker differs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from itertools import chain, compress, repeat
from typing import Any

from sqlalchemy import Connection

from voxpop.analysis import rollups
from voxpop.analysis.models import ALL
from voxpop.customers.service import customer_ids
from voxpop.imports.batches import ResponseBatch

RESPONSE_COLUMNS = ("public_id", "survey_id", "version_id", "customer_id", "idempotency_key", "language", "channel",
                    "submitted_at")


@dataclass(frozen=True)
class Target:
    """Where a batch goes: the survey version, its questions (key -> id, kind, scale max) and its language."""

    survey_id: int
    version_id: int
    questions: dict[str, tuple[int, str, int | None]]
    language: str


def store_batch(connection: Connection, batch: ResponseBatch, target: Target) -> int:
    """Insert the batch's new responses (a key already stored is skipped by the database), their answers,
    attributes and rollups; returns how many responses were new."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    count = len(batch.keys)
    if not count:
        return 0
    customers = _customer_ids(connection, batch)
    values = tuple(chain.from_iterable(zip(
        batch.public_ids, repeat(target.survey_id), repeat(target.version_id), customers, batch.keys,
        repeat(target.language), repeat("import"), batch.submitted)))
    placeholders = ", ".join(["(" + ", ".join([marker] * len(RESPONSE_COLUMNS)) + ")"] * count)
    inserted = connection.exec_driver_sql(
        f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}) VALUES {placeholders} "
        "ON CONFLICT (survey_id, idempotency_key) DO NOTHING RETURNING id, idempotency_key", values).all()
    response_ids = _response_ids(batch, inserted)
    answer_ids = list(map(response_ids.__getitem__, batch.answer_owners))
    answers = zip(answer_ids, batch.answer_questions, batch.scores, batch.choices, batch.texts)
    attribute_ids = list(map(response_ids.__getitem__, batch.attribute_owners))
    attributes = zip(attribute_ids, batch.attribute_names, batch.attribute_values)
    scored = zip(batch.answer_questions, map(batch.days.__getitem__, batch.answer_owners), batch.scores,
                 map(batch.slices.__getitem__, batch.answer_owners))
    if len(inserted) < count:  # some keys were already stored: only the new responses' rows go in
        answers, attributes = compress(answers, answer_ids), compress(attributes, attribute_ids)
        scored = compress(scored, answer_ids)
    if answers := list(answers):
        connection.exec_driver_sql("INSERT INTO answers (response_id, question_id, score, choice, text) "
                                   f"VALUES ({marker}, {marker}, {marker}, {marker}, {marker})", answers)
    if attributes := list(attributes):
        connection.exec_driver_sql("INSERT INTO response_attributes (response_id, name, value) "
                                   f"VALUES ({marker}, {marker}, {marker})", attributes)
    highs = {question_id: high for question_id, _, high in target.questions.values()}
    rollups.add(connection, rollup_rows(Counter(scored), highs))
    return len(inserted)


def _response_ids(batch: ResponseBatch, inserted: list) -> list[int | None]:
    """The stored id of each of the batch's responses by position, None where its key was already stored."""
    position = dict(zip(batch.keys, range(len(batch.keys))))
    response_ids: list[int | None] = [None] * len(batch.keys)
    for response_id, key in inserted:
        response_ids[position[key]] = response_id
    return response_ids


def bulk_cache(connection: Connection, *, on: bool) -> None:
    """A large page cache while an import runs (SQLite's default 2 MB makes every index insert of a million-row
    import a disk read), back to the default afterwards; PostgreSQL sizes its own buffers."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA cache_size = {-262144 if on else -2000}")


def rollup_rows(scored: Counter, highs: dict[int, int | None]) -> list[dict[str, Any]]:
    """The rollup increments of counted answers: each (question, day ordinal, score, attributes) adds its count
    to the day's totals and to each of its attribute values (the rules of rollups.increments); answers
    without a score (texts, choices) add nothing."""
    rows: dict[tuple[int, int, str, str], list[float]] = {}
    for (question_id, day, score, sliced), count in scored.items():
        if score is None:
            continue
        counts = rollups.score_counts(score, highs[question_id], count)
        for attribute, value in ((ALL, ALL), *sliced):
            row = rows.setdefault((question_id, day, attribute, value), [0, 0.0, 0.0, 0, 0, 0, 0])
            for index, amount in enumerate(counts):
                row[index] += amount
    return [{"question_id": question_id, "day": date.fromordinal(day), "attribute": attribute, "value": value,
             **dict(zip(rollups.COUNTS, counts))}
            for (question_id, day, attribute, value), counts in rows.items()]


def _customer_ids(connection: Connection, batch: ResponseBatch) -> list[int | None] | repeat:
    """Each response's customer id, the customers created when new (e-mail kept when given)."""
    if not batch.emails:
        return repeat(None)
    known = customer_ids(connection, batch.emails)[0]
    return [known.get(ref) if ref is not None else None for ref in batch.customers]
