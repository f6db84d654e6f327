"""Builders for the stored-comment tests: live responses through the collection service, and their analysis."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, text

from tests.helpers import apply_survey
from voxpop.collection.service import version_questions
from voxpop.collection.writer import insert_response
from voxpop.surveys.models import Survey
from voxpop.text.flows import catch_up


def submit(db, answers: dict, attributes: dict | None = None, survey_key: str = "feedback") -> None:
    """One live response, stored as a submission stores it (the pipeline does not run here)."""
    with db.read() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == survey_key))
        if survey is None:
            apply_survey(db)
            survey = db_session.scalar(select(Survey).where(Survey.key == survey_key))
        version_id = survey.current_version.id
        questions = version_questions(db_session=db_session, version_id=version_id)
        survey_id = survey.id
    with db.write_connection() as connection:
        insert_response(db_session=connection, survey_id=survey_id, version_id=version_id, questions=questions,
                        answers=answers, language="en", channel="web", attributes=attributes or {})


def analyse(db, *, keep_original: bool = False) -> None:
    catch_up(db, keep_original=keep_original)


def months_of_comments(db, delivery: list[int], *, per_month: int = 20, detractor: int = 5) -> None:
    """per_month analysed comments in each month from January 2025, delivery[i] of them (from detractors scoring
    `detractor`) about a late parcel in month i+1, the rest praise from promoters."""
    months = []
    for month, late in enumerate(delivery, start=1):
        for i in range(per_month):
            comment = f"The parcel arrived late, order {month}-{i}" if i < late else f"Nice staff, visit {month}-{i}"
            submit(db, {"nps": detractor if i < late else 9, "why_low" if i < late else "why_high": comment})
            months.append(month)
    analyse(db)
    with db.write_engine.begin() as connection:
        ids = connection.execute(text("SELECT id FROM responses ORDER BY id")).scalars().all()
        for response_id, month in zip(ids, months):
            connection.execute(text("UPDATE responses SET submitted_at = :when WHERE id = :id"),
                               {"when": datetime(2025, month, 10, 12, tzinfo=timezone.utc).replace(tzinfo=None),
                                "id": response_id})
