"""Writing a batch of imported responses: the hot loop of a million-row import.

This process should spend its time in the database while the next batch is parsed (in a worker process, for
a big file: see batches.py), so the parser does what it can: it lays the batch out, counts its rollup
increments, and writes its answers as JSON. Responses go in as one multi-row statement of plain values
(SQLAlchemy's per-row parameter processing cost more than the inserts themselves). When every response of the
batch is new and got consecutive ids, SQLite expands the answers from the JSON itself; otherwise (keys already
stored, or PostgreSQL) the answers of the new responses go in as parameter rows, and their rollups are counted
again here.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from itertools import chain, repeat

from sqlalchemy import Connection

from voxpop.analysis import rollups
from voxpop.collection.attributes import attribute_set_ids
from voxpop.core.counts import counted_rows
from voxpop.customers.service import customer_ids
from voxpop.imports.batches import ResponseBatch

KNOWN_SETS = 100_000
RESPONSE_COLUMNS = ("public_id", "survey_id", "version_id", "customer_id", "idempotency_key", "language", "channel",
                    "submitted_at", "attribute_set_id")


@dataclass(frozen=True)
class Target:
    """Where a batch goes: the survey version, its questions (key -> id, kind, scale max) and its language, and
    the attribute sets found so far in the import's transaction."""

    survey_id: int
    version_id: int
    questions: dict[str, tuple[int, str, int | None]]
    language: str
    attribute_sets: dict = field(default_factory=dict)


def store_batch(connection: Connection, batch: ResponseBatch, target: Target) -> int:
    """Insert the batch's new responses (a key already stored is skipped by the database) pointing to their
    attribute sets, their answers and rollups; returns how many responses were new."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    count = len(batch.keys)
    if not count:
        return 0
    customers = _customer_ids(connection, batch)
    if len(target.attribute_sets) > KNOWN_SETS:
        target.attribute_sets.clear()  # an attribute unique to each response (an id) would grow it without end
    set_ids = attribute_set_ids(connection, set(batch.slices), target.attribute_sets)
    values = tuple(chain.from_iterable(zip(
        batch.public_ids, repeat(target.survey_id), repeat(target.version_id), customers, batch.keys,
        repeat(target.language), repeat("import"), batch.submitted, map(set_ids.__getitem__, batch.slices))))
    placeholders = ", ".join(["(" + ", ".join([marker] * len(RESPONSE_COLUMNS)) + ")"] * count)
    inserted = connection.exec_driver_sql(
        f"INSERT INTO responses ({', '.join(RESPONSE_COLUMNS)}) VALUES {placeholders} "
        "ON CONFLICT (survey_id, idempotency_key) DO NOTHING RETURNING id, idempotency_key", values).all()
    response_ids = _response_ids(batch, inserted)
    first = response_ids[0]
    if (connection.dialect.name == "sqlite" and _sqlite_json() and first is not None
            and response_ids == list(range(first, first + count))):
        # Every response was new and got the next ids in order: SQLite reads the answers from the batch's JSON
        # itself, shifting each owner position by the first id, and the parser's rollup counts hold as they are.
        connection.exec_driver_sql(
            "INSERT INTO answers (response_id, question_id, score, choice, text) SELECT json_extract(value, '$[0]') + ?, "
            "json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), "
            "json_extract(value, '$[4]') FROM json_each(?)", (first, batch.answers))
        rollups.add(connection, batch.rollups)
        return count
    if not inserted:
        return 0  # all already stored: their answers stay as they were
    new = [row for row in json.loads(batch.answers) if response_ids[row[0]] is not None]
    if new:
        connection.exec_driver_sql("INSERT INTO answers (response_id, question_id, score, choice, text) "
                                   f"VALUES ({marker}, {marker}, {marker}, {marker}, {marker})",
                                   [(response_ids[owner], *answer) for owner, *answer in new])
    if len(inserted) == count:
        rollups.add(connection, batch.rollups)
        return count
    highs = {question_id: high for question_id, _, high in target.questions.values()}
    scored = Counter((question_id, batch.days[owner], score, batch.slices[owner])
                     for owner, question_id, score, _, _ in new if score is not None)
    rollups.add(connection, counted_rows(scored, highs))
    return len(inserted)


@cache
def _sqlite_json() -> bool:
    """Whether this process's SQLite library has its JSON functions (built in since 3.38, compiled into most
    earlier builds); without them the parameter rows do the same work."""
    try:
        return sqlite3.connect(":memory:").execute("SELECT json_extract('[1]', '$[0]')").fetchone()[0] == 1
    except sqlite3.OperationalError:  # no such function
        return False


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


def _customer_ids(connection: Connection, batch: ResponseBatch) -> list[int | None] | repeat:
    """Each response's customer id, the customers created when new (e-mail kept when given)."""
    if not batch.emails:
        return repeat(None)
    known = customer_ids(connection, batch.emails)[0]
    return [known.get(ref) if ref is not None else None for ref in batch.customers]
