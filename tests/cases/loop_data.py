"""Answers to the feedback survey written straight to the store, many at a time, at set times (tests/helpers'
FEEDBACK_SURVEY): the loop tests need months of answers, and recording each through the public path is slow."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import select

from voxpop.analysis.rollups import rebuild_store
from voxpop.collection.models import Answer, AttributeSet, AttributeSetValue, Response
from voxpop.surveys.models import Question, Survey, SurveyVersion


def add_answers(db, answers: Iterable[tuple[datetime, dict[str, int]]], *, channel: str | None = None) -> None:
    """One response per (submitted_at, {question: score}), then the rollups rebuilt (UTC days)."""
    with db.write() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == "feedback"))
        version = db_session.scalar(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                                    .order_by(SurveyVersion.number.desc()).limit(1))
        questions = dict(db_session.execute(select(Question.key, Question.id).where(Question.version_id == version.id)).all())
        attribute_set = None
        if channel:
            attribute_set = AttributeSet(fingerprint=uuid.uuid4().hex)
            db_session.add(attribute_set)
            db_session.flush()
            db_session.add(AttributeSetValue(set_id=attribute_set.id, name="channel", value=channel))
        for when, scores in answers:
            response = Response(public_id=str(uuid.uuid4()), survey_id=survey.id, version_id=version.id,
                                language="en", channel="api", submitted_at=when,
                                attribute_set_id=attribute_set.id if attribute_set else None)
            response.answers = [Answer(question_id=questions[key], score=score) for key, score in scores.items()]
            db_session.add(response)
    rebuild_store(db, zone="UTC")


def month_of(year: int, month: int, scores: dict[int, int], *, question: str = "nps", day: int = 10):
    """(submitted_at, answer) pairs: `count` answers of each score, on one day of the month at noon UTC."""
    when = datetime(year, month, day, 12, 0, tzinfo=timezone.utc)
    return [(when, {question: score}) for score, count in scores.items() for _ in range(count)]
