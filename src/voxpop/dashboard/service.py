"""The dashboard's one data function: the page and GET /api/v1/dashboard both show what it returns."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.analysis.periods import current_period
from voxpop.collection.filters import ResponseFilter, response_conditions
from voxpop.dashboard.metrics import (
    SurveySummary,
    answer_counts,
    latest_comments,
    rollup_counts,
    survey_summaries,
)
from voxpop.dashboard.schemas import DashboardPublic, LatestCommentPublic, MetricPublic, SurveySummaryPublic
from voxpop.dashboard.trends import survey_trends
from voxpop.surveys.models import Question, Survey, SurveyVersion
from voxpop.surveys.schemas import text_in

CES_NOTES = {"2.0": "1–7, higher is easier", "1.0": "1–5, lower is easier"}


def dashboard(*, db, min_base: int, timezone_name: str, now: datetime | None = None, comments: int = 10,
              response_filter: ResponseFilter = ResponseFilter()) -> DashboardPublic:
    """Every survey with its counts, headline metrics and monthly control chart, and the latest comments, of the
    responses the filter keeps."""
    current = current_period(now or datetime.now(timezone.utc), timezone_name)
    conditions = response_conditions(response_filter, zone=timezone_name)
    with db.read() as db_session:
        monthly = monthly_counts(db_session.connection(), response_filter, conditions=conditions, zone=timezone_name)
        summaries = survey_summaries(db_session, monthly, min_base=min_base, conditions=conditions)
        latest = latest_comments(db_session, limit=comments, conditions=conditions)
        questions = question_texts(db_session)
    trends = survey_trends(monthly, current=current, min_base=min_base)
    return DashboardPublic(
        surveys=[SurveySummaryPublic(key=summary.key, title=summary.title, status=summary.status,
                                     responses=summary.responses, last_response_at=summary.last_response_at,
                                     metrics=_metrics(summary, questions), trend=trends.get(summary.key))
                 for summary in summaries],
        latest_comments=[LatestCommentPublic(survey=comment.survey_key, survey_title=comment.survey_title,
                                             question=comment.question_key,
                                             question_text=questions.get((comment.survey_key, comment.question_key),
                                                                         comment.question_key),
                                             text=comment.text, submitted_at=comment.submitted_at)
                         for comment in latest],
        min_base=min_base,
        current_period=current,
        filter=response_filter.describe(),
    )


def monthly_counts(connection, response_filter: ResponseFilter, *, conditions: list, zone: str) -> list[dict]:
    """The monthly counts of every scored question: from the daily rollups when they can answer the filter (days,
    and the values of one attribute, as they hold one attribute per row), else from the answers."""
    if response_filter.answers or len(response_filter.attributes) > 1:
        return answer_counts(connection, conditions=conditions, zone=zone, period="month")
    where = (response_filter.attributes[0][0], list(response_filter.attributes[0][1])) if response_filter.attributes \
        else None
    return rollup_counts(connection, period="month", where=where, since=response_filter.since,
                         until=response_filter.until)


def question_texts(db_session: Session) -> dict[tuple[str, str], str]:
    """(survey key, question key) → the question's text in the survey's default language, from its newest
    version (an older version's question keeps its newest wording)."""
    rows = db_session.execute(
        select(Survey.key, Survey.default_language, Question.key, Question.spec)
        .join(SurveyVersion, SurveyVersion.survey_id == Survey.id)
        .join(Question, Question.version_id == SurveyVersion.id)
        .order_by(SurveyVersion.number)
    ).all()
    # Every version is read, oldest first, so the newest wording wins.
    return {(survey, key): text_in(spec.get("text"), language, "en") or key
            for survey, language, key, spec in rows}


def _metrics(summary: SurveySummary, questions: dict[tuple[str, str], str]) -> dict[str, MetricPublic]:
    metrics: dict[str, MetricPublic] = {}
    if summary.nps:
        metrics["nps"] = MetricPublic.of("nps", summary.nps, label="NPS", note="−100 to 100")
    if summary.csat:
        metrics["csat"] = MetricPublic.of("csat", summary.csat, label="CSAT", unit="%", note="top-two-box")
    if summary.ces:
        version = summary.ces_version or ""
        metrics["ces"] = MetricPublic.of("ces", summary.ces, label=f"CES {version} mean", note=CES_NOTES.get(version, ""),
                                 ces_version=summary.ces_version)
    if summary.ces_agree:
        metrics["ces_agree"] = MetricPublic.of("ces_agree", summary.ces_agree, label="CES agree", unit="%",
                                       note="answers 5–7")
    for key, rating in summary.ratings.items():
        metrics[f"mean:{key}"] = MetricPublic.of("mean", rating, label=questions.get((summary.key, key), key),
                                         note="mean rating")
    return metrics
