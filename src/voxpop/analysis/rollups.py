"""Maintaining and reading the daily rollups (see analysis.models.ScoreRollup)."""

from __future__ import annotations

from functools import cache
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy import Connection, delete, func, insert, literal, select, text

from voxpop.analysis.engine import count_if, local_period, naive_utc
from voxpop.analysis.models import ScoreRollup
from voxpop.core.counts import ALL, CES2_AGREE_MIN, COUNTS, CUTS
from voxpop.store.database import conflict_insert


def add(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Add rows to the rollups: insert, or add the counts to the row already there (an upsert)."""
    if rows:
        connection.execute(_upsert(connection.dialect.name), rows)


@cache
def _upsert(dialect_name: str):
    # Built once per dialect: this runs in every response's transaction, inside the single writer.
    table = ScoreRollup.__table__
    statement = conflict_insert(dialect_name, table)
    return statement.on_conflict_do_update(
        index_elements=["question_id", "day", "attribute", "value"],
        set_={name: table.c[name] + statement.excluded[name] for name in COUNTS},
    )


def rebuild(ibis_connection, write_connection: Connection, *, zone: str) -> int:
    """Recompute every rollup from the answers (after an import, or a change of VOXPOP_TIMEZONE)."""
    answers = ibis_connection.table("answers").select("question_id", "response_id", "score")
    questions = ibis_connection.table("questions").select(question_id="id", kind="kind", scale_max="scale_max")
    responses = ibis_connection.table("responses").select(response_id="id", submitted_at="submitted_at")
    scored = (answers.join(questions, "question_id").join(responses, "response_id")
              .filter(lambda t: t.kind.isin(["nps", "csat", "ces", "rating"]) & t.score.notnull()))
    bounds = scored.aggregate(first=scored.submitted_at.min(), last=scored.submitted_at.max()).execute()
    write_connection.execute(delete(ScoreRollup.__table__))
    if bounds["first"].isna().iloc[0]:
        return 0
    first, last = (naive_utc(bounds[name].iloc[0]) for name in ("first", "last"))
    scored = scored.mutate(day=local_period(scored.submitted_at, "day", zone=zone, first=first, last=last))
    attributes = ibis_connection.table("response_attributes").select(
        response_id="response_id", attribute="name", value="value")
    totals = scored.mutate(attribute=ibis.literal(ALL), value=ibis.literal(ALL))
    sliced = scored.join(attributes, "response_id")
    rows = 0
    for part in (totals, sliced):
        counted = _counts(part).execute().to_dict("records")
        for record in counted:
            record["day"] = record["day"].date() if hasattr(record["day"], "date") else record["day"]
        if counted:
            write_connection.execute(insert(ScoreRollup.__table__), counted)
        rows += len(counted)
    return rows


def _counts(table: ir.Table) -> ir.Table:
    score = table.score.cast("float64")
    return table.group_by("question_id", "day", "attribute", "value").aggregate(
        n=score.count(), total=score.sum(), total_squares=(score * score).sum(),
        promoters=count_if(score >= CUTS.promoter_min), detractors=count_if(score <= CUTS.detractor_max),
        top_two=count_if(score >= table.scale_max - 1), agree=count_if(score >= CES2_AGREE_MIN),
    )


def rebuild_store(db, *, zone: str) -> int:
    """Rebuild the rollups of a voxpop store in one transaction; returns the number of rollup rows."""
    from voxpop.analysis.sources import store_connection

    connection = store_connection(db.url)
    try:
        with db.write_connection() as write_connection:
            return rebuild(connection, write_connection, zone=zone)
    finally:
        connection.disconnect()


def rollup_differences(db, *, zone: str) -> tuple[int, int]:
    """How many daily rollup rows differ from a rebuild from the answers, and how many rows the rebuild makes.
    The rebuild runs in a savepoint that is rolled back: the store is left as it was (`voxpop db check`)."""
    from voxpop.analysis.sources import store_connection

    def rows(connection) -> set[tuple]:
        return {tuple(row) for row in connection.execute(select(ScoreRollup.__table__))}

    reader = store_connection(db.url)
    try:
        with db.write_connection() as connection:
            if not db.is_sqlite:
                # Response writers add to the rollups in their own transaction: hold them off, so the answers
                # the rebuild reads and the rollups read here are the same moment's.
                connection.execute(text("LOCK TABLE score_rollups IN SHARE ROW EXCLUSIVE MODE"))
            kept = rows(connection)
            savepoint = connection.begin_nested()
            rebuild(reader, connection, zone=zone)
            rebuilt = rows(connection)
            savepoint.rollback()
    finally:
        reader.disconnect()
    # A row is keyed by question, day, attribute and value: one that is wrong, missing or extra counts once.
    return len({row[:4] for row in kept ^ rebuilt}), len(rebuilt)


def month_start(day, dialect: str):
    """The first day of a date's (or timestamp's) month as ISO text, the way each store writes it."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-01", day)
    return func.to_char(day, literal("YYYY-MM-01"))
