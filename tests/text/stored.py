"""Builders for the stored-comment tests: live responses through the collection service, and their analysis."""

from __future__ import annotations

from sqlalchemy import select

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
