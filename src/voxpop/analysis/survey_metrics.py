"""The dashboard's numbers: the store counts (sufficient statistics per question), core.estimates computes.

This is the one place survey metrics are read for pages and the API. The database reduces answers to
counts, sums and sums of squares; no raw rows come into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from voxpop.collection.models import Answer, Response
from voxpop.core import estimates
from voxpop.core.estimates import Estimate
from voxpop.surveys.models import Question, Survey, SurveyVersion

CES2_AGREE = 5  # on CES 2.0's 1–7 agreement scale, 5–7 are the "agree" answers


@dataclass(frozen=True)
class QuestionStatistics:
    """Sufficient statistics of one scored question (pooled over versions with the same key and scale)."""

    survey_id: int
    key: str
    kind: str
    ces_version: str | None
    scale_min: int
    scale_max: int
    n: int
    promoters: int
    detractors: int
    top_two: int
    agree: int
    total: float


@dataclass
class SurveySummary:
    key: str
    title: str
    status: str
    responses: int
    last_response_at: datetime | None
    nps: Estimate | None = None
    csat: Estimate | None = None
    ces: Estimate | None = None
    ces_agree: Estimate | None = None
    ces_version: str | None = None
    ratings: dict[str, Estimate] = field(default_factory=dict)


def question_statistics(db_session: Session) -> list[QuestionStatistics]:
    """Counts per scored question. Grouping by kind, CES version and scale keeps unlike scales apart."""
    score = Answer.score
    rows = db_session.execute(
        select(
            SurveyVersion.survey_id,
            Question.key,
            Question.kind,
            Question.ces_version,
            Question.scale_min,
            Question.scale_max,
            func.count(score),
            func.sum(case((score >= 9, 1), else_=0)),
            func.sum(case((score <= 6, 1), else_=0)),
            func.sum(case((score >= Question.scale_max - 1, 1), else_=0)),
            func.sum(case((score >= CES2_AGREE, 1), else_=0)),
            func.sum(score),
        )
        .join(Question, Answer.question_id == Question.id)
        .join(SurveyVersion, Question.version_id == SurveyVersion.id)
        .where(Question.kind.in_(("nps", "csat", "ces", "rating")), score.is_not(None))
        .group_by(
            SurveyVersion.survey_id, Question.key, Question.kind, Question.ces_version, Question.scale_min, Question.scale_max
        )
        .order_by(SurveyVersion.survey_id, Question.key)
    ).all()
    return [
        QuestionStatistics(*row[:6], int(row[6]), int(row[7] or 0), int(row[8] or 0), int(row[9] or 0), int(row[10] or 0), float(row[11] or 0))
        for row in rows
    ]


def survey_summaries(db_session: Session, *, min_base: int) -> list[SurveySummary]:
    """Every survey with its response count and headline metrics."""
    counts = {
        survey_id: (count, last)
        for survey_id, count, last in db_session.execute(
            select(Response.survey_id, func.count(), func.max(Response.submitted_at)).group_by(Response.survey_id)
        )
    }
    surveys = db_session.scalars(select(Survey)).all()
    summaries: dict[int, SurveySummary] = {}
    for survey in surveys:
        count, last = counts.get(survey.id, (0, None))
        if isinstance(last, str):  # SQLite returns max() of a timestamp as text
            last = datetime.fromisoformat(last)
        summaries[survey.id] = SurveySummary(survey.key, survey.title, survey.status, count, last)
    for stats in question_statistics(db_session):
        summary = summaries[stats.survey_id]
        if stats.kind == "nps" and summary.nps is None:
            summary.nps = estimates.nps(
                promoters=stats.promoters,
                passives=stats.n - stats.promoters - stats.detractors,
                detractors=stats.detractors,
                min_base=min_base,
            )
        elif stats.kind == "csat" and summary.csat is None:
            summary.csat = estimates.top_box(top=stats.top_two, n=stats.n, min_base=min_base)
        elif stats.kind == "ces" and summary.ces is None:
            summary.ces = estimates.mean(n=stats.n, total=stats.total, min_base=min_base)
            summary.ces_version = stats.ces_version
            if stats.ces_version == "2.0":
                summary.ces_agree = estimates.top_box(top=stats.agree, n=stats.n, min_base=min_base)
        elif stats.kind == "rating":
            summary.ratings[stats.key] = estimates.mean(n=stats.n, total=stats.total, min_base=min_base)
    order = {"live": 0, "draft": 1, "closed": 2}
    return sorted(summaries.values(), key=lambda summary: (order[summary.status], summary.title))


@dataclass(frozen=True)
class Comment:
    survey_key: str
    survey_title: str
    question_key: str
    text: str
    submitted_at: datetime


def latest_comments(db_session: Session, *, limit: int = 10) -> list[Comment]:
    """The most recent free-text answers (untrusted text: every page must escape it)."""
    rows = db_session.execute(
        select(Survey.key, Survey.title, Question.key, Answer.text, Response.submitted_at)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .join(Survey, Response.survey_id == Survey.id)
        .where(Answer.text.is_not(None))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(limit)
    ).all()
    return [Comment(*row) for row in rows]
