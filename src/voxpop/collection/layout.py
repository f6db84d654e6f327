"""Responses laid out for the writer (collection.writer): a batch's columns, its answers as JSON and its rollup
increments, made where time is to spare. An import lays its batches out in its parsing process (imports.batches),
so this module stays light to import: no Ibis or pandas, which take seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from voxpop.analysis.questions import QuestionRef
from voxpop.collection.answers import OTHER_TEXT
from voxpop.collection.attributes import Combination
from voxpop.collection.models import Response
from voxpop.core.counts import counted_rows
from voxpop.store.ids import public_ids
from voxpop.surveys.schemas import OTHER, SCORED_KINDS

BATCH = 2000  # responses per bulk statement: large enough to amortise statements, small enough to bound memory
KNOWN_SETS = 100_000  # attribute sets remembered (an attribute unique to each response would grow them without end)

Questions = Mapping[str, QuestionRef]  # one survey version's questions by key (each with its row id)


@dataclass
class ResponseBatch:
    """Up to BATCH responses, a row of `keys`, `public_ids`, `submitted` ... each; answers name their response
    by its position in the batch (`owner`). A key repeated within the batch is kept once."""

    keys: list[str | None] = field(default_factory=list)  # idempotency keys
    public_ids: list[str] = field(default_factory=list)
    submitted: list[Any] = field(default_factory=list)  # as the driver takes them
    days: list[int] = field(default_factory=list)  # the local day's ordinal, for the rollups
    languages: list[str] = field(default_factory=list)
    customers: list[str | None] = field(default_factory=list)  # external ids
    emails: dict[str, str | None] = field(default_factory=dict)
    # (owner, question id, score, choice, text) rows, the answers table's columns with the owner for the response
    # id, while filling; then a JSON array of them, which SQLite expands itself (json_each) and which pickles as
    # one string rather than five lists of thousands.
    answers: list[tuple] | str = field(default_factory=list)
    rollups: list[dict[str, Any]] = field(default_factory=list)  # the increments, if every response is new
    slices: list[Combination] = field(default_factory=list)  # each response's attributes


class BatchLayout:
    """Appends responses to a batch's columns, and counts their rollup increments. Built without a store (in an
    import's parsing process too): `dialect` is the store's SQLAlchemy dialect class, to write times as its
    driver takes them; `questions` None lays out only the keys (a dry run for a survey not created yet)."""

    def __init__(self, questions: Questions | None, *, zone: str, language: str = "en", dialect: type | None = None):
        # (id, kind) by key: the per-answer loop below unpacks a tuple, not two attribute reads, a million times
        self.questions = None if questions is None else {key: (ref.id, ref.kind) for key, ref in questions.items()}
        self.local = ZoneInfo(zone)
        self.language = language
        self.stamp = None
        if dialect is not None:
            dialect = dialect()
            self.stamp = (sqlite_stamp if dialect.name == "sqlite" else
                          Response.__table__.c.submitted_at.type.dialect_impl(dialect).bind_processor(dialect))
        self.canonical: dict[tuple, tuple] = {}  # one tuple per distinct attribute set: pickled once a batch
        self.highs = {ref.id: ref.scale_max for ref in (questions or {}).values()}
        self.seen: set[str | None] = set()  # the keys of the batch being filled
        self.scored: dict[tuple, int] = {}  # (question id, day, score, attributes) -> answers, in that batch

    def add(self, batch: ResponseBatch, key: str | None, submitted_at: datetime, answers: Mapping[str, Any],
            attributes: Mapping[str, str], *, customer: str | None = None, email: str | None = None,
            language: str | None = None) -> None:
        """Append one validated response: a score, a text, or a choice or list of choices per question key;
        `customer` is the customer's external id (created with `email` when new)."""
        if key in self.seen:
            return  # a response repeated in one batch counts once
        self.seen.add(key)
        owner = len(batch.keys)
        batch.keys.append(key)
        batch.submitted.append(self.stamp(submitted_at) if self.stamp else submitted_at)
        batch.days.append(day := submitted_at.astimezone(self.local).toordinal())
        batch.languages.append(language or self.language)
        batch.customers.append(customer)
        if customer is not None:
            batch.emails[customer] = email  # the batch's last response of a customer gives the e-mail
        sliced = tuple(attributes.items())
        if len(self.canonical) > KNOWN_SETS:
            self.canonical.clear()  # attributes unique to each response: sharing tuples saves nothing then
        sliced = self.canonical.setdefault(sliced, sliced)
        batch.slices.append(sliced)
        if self.questions is None:
            return
        for question_key, value in answers.items():
            question = self.questions.get(question_key)
            if question is None:
                if question_key.endswith(OTHER_TEXT):
                    continue  # the words typed under "Other" ("bought.other"): written with that choice's row, below
                raise KeyError(f"{question_key!r} is not a question of this survey version")
            question_id, kind = question
            if kind in SCORED_KINDS:
                batch.answers.append((owner, question_id, value, None, None))
                counted = question_id, day, value, sliced
                self.scored[counted] = self.scored.get(counted, 0) + 1
            elif kind == "text" and not isinstance(value, list):
                batch.answers.append((owner, question_id, None, None, value))
            else:  # a choice, or one row per chosen option; "Other" keeps the respondent's words in its text
                chosen = value if isinstance(value, list) else (value,)
                other = answers.get(question_key + OTHER_TEXT) if OTHER in chosen else None
                batch.answers.extend((owner, question_id, None, item, other if item == OTHER else None)
                                     for item in chosen)

    def increments(self) -> list[dict[str, Any]]:
        """The rollup increments of the batch being filled."""
        return counted_rows(self.scored, self.highs)

    def finished(self, batch: ResponseBatch) -> ResponseBatch:
        """The batch as `insert_batch` takes it (and as it crosses from a parsing process): its public ids made,
        its answers as JSON, its rollup increments counted; the layout is ready for the next batch."""
        batch.public_ids = public_ids(len(batch.keys))
        batch.answers = json.dumps(batch.answers, ensure_ascii=False, separators=(",", ":"))
        batch.rollups = self.increments()
        self.seen, self.scored = set(), {}
        return batch


def sqlite_stamp(moment: datetime) -> str:
    """A time as SQLAlchemy's SQLite DATETIME stores it (naive UTC, microseconds), formatted in C: the bind
    processor takes a few microseconds a row (tests/collection/test_writer.py checks they agree)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column; attach a time zone first")
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")
