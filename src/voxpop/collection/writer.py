"""Writing responses: their rows, answers, attribute sets and rollups, for one live response or for many at once.

Every response is written here. `insert_response` stores one validated submission; `insert_batch` stores a
batch laid out by collection.layout's `BatchLayout`: the million-row imports (laid out in their parsing process,
see imports.batches) and the demo workspace. Both lay answers out and count their rollup increments with the
same `BatchLayout`, so a response stores and counts the same whichever way it comes in.

The bulk path should spend its time in the database, so the layout does what it can before: it lays the batch
out column by column, counts its rollup increments, and writes its answers as JSON. Responses go in as one
multi-row statement of plain values (SQLAlchemy's per-row parameter processing cost more than the inserts
themselves). When every response of the batch is new and got consecutive ids, SQLite expands the answers from
the JSON itself; otherwise (keys already stored, or PostgreSQL) the answers of the new responses go in as
parameter rows, and their rollups are counted again here.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from itertools import chain, repeat
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session

from voxpop.analysis import rollups
from voxpop.collection.attributes import attribute_set_ids
from voxpop.collection.layout import KNOWN_SETS, BatchLayout, Questions, ResponseBatch
from voxpop.collection.models import Answer, Response
from voxpop.core.counts import counted_rows
from voxpop.customers.service import customer_ids
from voxpop.store.base import utcnow
from voxpop.store.ids import public_id

# The columns of both tables but their generated ids, in table order: a batch's answer rows are
# (owner, question id, score, choice, text), the owner standing for the response id.
RESPONSE_COLUMNS = tuple(column.name for column in Response.__table__.columns if not column.primary_key)
ANSWER_COLUMNS = tuple(column.name for column in Answer.__table__.columns if not column.primary_key)
LIVE_ONLY = ("invitation_id", "request_fingerprint")  # a submission has them; a bulk-written response has not
BULK_COLUMNS = tuple(name for name in RESPONSE_COLUMNS if name not in LIVE_ONLY)


class StoredResponse(NamedTuple):
    public_id: str
    submitted_at: datetime


def insert_response(
    *,
    db_session: Session | Connection,
    survey_id: int,
    version_id: int,
    questions: Questions,
    answers: Mapping[str, Any],
    language: str,
    channel: str,
    attributes: dict[str, str],
    customer_id: int | None = None,
    invitation_id: int | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    zone: str = "UTC",
) -> StoredResponse:
    """Insert one validated response with its answers and attributes (the caller owns the transaction).

    Core inserts, not the ORM: this is the hot path of every submission, and it runs inside the single
    writer on SQLite, so every statement saved is throughput gained. A plain insert, unlike a batch's: a twin
    committed meanwhile raises IntegrityError, which the caller answers as a retry."""
    stored = StoredResponse(public_id(), utcnow())
    layout, batch = BatchLayout(questions, zone=zone), ResponseBatch()
    layout.add(batch, idempotency_key, stored.submitted_at, answers, attributes)
    response_id = db_session.execute(_INSERT_RESPONSE, [{
        "public_id": stored.public_id,
        "survey_id": survey_id,
        "version_id": version_id,
        "customer_id": customer_id,
        "invitation_id": invitation_id,
        "idempotency_key": idempotency_key,
        "request_fingerprint": request_fingerprint,
        "language": language,
        "channel": channel,
        "submitted_at": stored.submitted_at,
        "attribute_set_id": attribute_set_ids(db_session, batch.slices)[batch.slices[0]],
    }]).scalar_one()
    if batch.answers:
        db_session.execute(_INSERT_ANSWERS, [dict(zip(ANSWER_COLUMNS, (response_id, *answer[1:])))
                                             for answer in batch.answers])
    # The dashboards' daily rollups move in the same transaction, so they never disagree with the answers.
    rollups.add(db_session, layout.increments())
    return stored


_INSERT_RESPONSE = insert(Response.__table__).returning(Response.__table__.c.id)
_INSERT_ANSWERS = insert(Answer.__table__)


@dataclass(frozen=True)
class Target:
    """Where batches go: the survey version, its questions, the channel its responses came by, the import run they
    belong to (imports.runs: how a failed import is taken back), and the attribute sets found so far."""

    survey_id: int
    version_id: int
    questions: Questions
    channel: str
    attribute_sets: dict = field(default_factory=dict)
    import_run_id: int | None = None


def insert_batch(connection: Connection, batch: ResponseBatch, target: Target) -> int:
    """Insert a finished batch's new responses (a key already stored is skipped by the database) pointing to
    their attribute sets, their answers and rollups; returns how many responses were new."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    count = len(batch.keys)
    if not count:
        return 0
    if len(target.attribute_sets) > KNOWN_SETS:
        target.attribute_sets.clear()
    set_ids = attribute_set_ids(connection, set(batch.slices), target.attribute_sets)
    columns = {"public_id": batch.public_ids, "survey_id": repeat(target.survey_id),
               "version_id": repeat(target.version_id), "customer_id": _customer_ids(connection, batch),
               "idempotency_key": batch.keys, "language": batch.languages, "channel": repeat(target.channel),
               "submitted_at": batch.submitted, "attribute_set_id": map(set_ids.__getitem__, batch.slices),
               "import_run_id": repeat(target.import_run_id)}
    values = tuple(chain.from_iterable(zip(*(columns[name] for name in BULK_COLUMNS))))
    placeholders = ", ".join(["(" + ", ".join([marker] * len(BULK_COLUMNS)) + ")"] * count)
    inserted = connection.exec_driver_sql(
        f"INSERT INTO {Response.__tablename__} ({', '.join(BULK_COLUMNS)}) VALUES {placeholders} "
        "ON CONFLICT (survey_id, idempotency_key) DO NOTHING RETURNING id, idempotency_key", values).all()
    response_ids = _response_ids(batch, inserted)
    first = response_ids[0]
    if (connection.dialect.name == "sqlite" and _sqlite_json() and first is not None
            and response_ids == list(range(first, first + count))):
        # Every response was new and got the next ids in order: SQLite reads the answers from the batch's JSON
        # itself, shifting each owner position by the first id, and the layout's rollup counts hold as they are.
        connection.exec_driver_sql(_ANSWERS_FROM_JSON, (first, batch.answers))
        rollups.add(connection, batch.rollups)
        return count
    if not inserted:
        return 0  # all already stored: their answers stay as they were
    new = [row for row in json.loads(batch.answers) if response_ids[row[0]] is not None]
    if new:
        connection.exec_driver_sql(
            f"INSERT INTO {Answer.__tablename__} ({', '.join(ANSWER_COLUMNS)}) "
            f"VALUES ({', '.join([marker] * len(ANSWER_COLUMNS))})",
            [(response_ids[owner], *answer) for owner, *answer in new])
    if len(inserted) == count:
        rollups.add(connection, batch.rollups)
        return count
    highs = {ref.id: ref.scale_max for ref in target.questions.values()}
    scored = Counter((question_id, batch.days[owner], score, batch.slices[owner])
                     for owner, question_id, score, _, _ in new if score is not None)
    rollups.add(connection, counted_rows(scored, highs))
    return len(inserted)


# Each answer row's items by position: the owner (shifted by the first new response id), then the other columns.
_ANSWERS_FROM_JSON = (
    f"INSERT INTO {Answer.__tablename__} ({', '.join(ANSWER_COLUMNS)}) SELECT json_extract(value, '$[0]') + ?, "
    + ", ".join(f"json_extract(value, '$[{position}]')" for position in range(1, len(ANSWER_COLUMNS)))
    + " FROM json_each(?)")


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


def _customer_ids(connection: Connection, batch: ResponseBatch) -> list[int | None] | repeat:
    """Each response's customer id, the customers created when new (e-mail kept when given)."""
    if not batch.emails:
        return repeat(None)
    known = customer_ids(connection, batch.emails)[0]
    return [known.get(ref) if ref is not None else None for ref in batch.customers]


def bulk_cache(connection: Connection, *, on: bool) -> None:
    """A large page cache while a bulk write runs (SQLite's default 2 MB makes every index insert of a
    million-row import a disk read), back to the default afterwards; PostgreSQL sizes its own buffers."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA cache_size = {-262144 if on else -2000}")
