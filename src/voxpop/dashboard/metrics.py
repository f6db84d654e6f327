"""The dashboard's numbers: the store counts (sufficient statistics per question), core.estimates computes.

It belongs to the dashboard domain, not to analysis, because it reads the surveys', responses' and comments'
tables by name; analysis only ever reduces a table it is given. This is the one place survey metrics are read
for pages and the API. They come from the daily rollups
(analysis.models.ScoreRollup), which the engine builds and each response's transaction keeps: one plain SQL
query sums a few thousand small rows per request, so a dashboard costs the same at 10M responses as at 10K.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Float, case, cast, func, literal, select
from sqlalchemy.orm import Session

from voxpop.analysis import control
from voxpop.analysis.engine import MetricSpec, Row, estimate_rows
from voxpop.analysis.models import ALL, ScoreRollup
from voxpop.analysis.rollups import COUNTS, month_start
from voxpop.collection.models import Answer, Response
from voxpop.core import spc
from voxpop.core.counts import CES2_AGREE_MIN, CUTS
from voxpop.core.estimates import Estimate
from voxpop.core.spc import ControlChart, Signal
from voxpop.surveys.models import Question, Survey, SurveyVersion

STATUS_ORDER = {"live": 0, "draft": 1, "closed": 2}  # live surveys first on the dashboard
VARIANT = ("kind", "scale_min", "scale_max", "ces_version")  # answers pool only within one kind and scale


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


def rollup_counts(connection: Connection, *, period: str | None = None, attribute: str | None = None,
                  where: tuple[str, list[str]] | None = None, survey: str | None = None,
                  kind: str | None = None, since: date | None = None, until: date | None = None) -> list[dict[str, Any]]:
    """The summed rollups per survey and question (per month of the workspace zone, per value of one
    `attribute`), restricted to `where` = (attribute, values) and to the days since..until (both included, in
    the workspace zone, as the rollups' days are). The rollups hold one attribute per row, so `attribute` and
    `where` must name the same one."""
    if period not in (None, "month"):
        raise ValueError("the dashboard reads months from the daily rollups")
    sliced = attribute or (where[0] if where else None)
    if attribute and where and where[0] != attribute:
        raise ValueError("the rollups slice by one attribute at a time; compute across two from the answers")
    rollup = ScoreRollup.__table__
    groups = [Survey.key.label("survey"), Question.key.label("question"), *(getattr(Question, name) for name in VARIANT)]
    if attribute:
        groups.append(rollup.c.value.label(attribute))
    if period:
        groups.append(month_start(rollup.c.day, connection.dialect.name).label("period"))
    statement = (
        select(*groups, *(func.sum(rollup.c[name]).label(name) for name in COUNTS))
        .join_from(rollup, Question, Question.id == rollup.c.question_id)
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .join(Survey, Survey.id == SurveyVersion.survey_id)
        .where(rollup.c.attribute == (sliced or ALL))
        .group_by(*groups)
    )
    if where:
        statement = statement.where(rollup.c.value.in_(where[1]))
    if since is not None:
        statement = statement.where(rollup.c.day >= since)
    if until is not None:
        statement = statement.where(rollup.c.day <= until)
    if survey is not None:
        statement = statement.where(Survey.key == survey)
    if kind is not None:
        statement = statement.where(Question.kind == kind)
    return [dict(record) for record in connection.execute(statement).mappings()]


def answer_counts(connection: Connection, *, conditions: list[ColumnElement[bool]], zone: str,
                  period: str | None = None) -> list[dict[str, Any]]:
    """What rollup_counts gives, counted from the answers of the responses that meet `conditions` (the response
    filter's): for a filter the rollups cannot answer, two attributes or an answer test. One grouped query; the
    month of each response in the workspace `zone` comes from the UTC instants its months start at."""
    if period not in (None, "month"):
        raise ValueError("the dashboard counts months")
    columns = [Survey.key.label("survey"), Question.key.label("question"), *(getattr(Question, name) for name in VARIANT)]
    if period:
        first, last = connection.execute(select(func.min(Response.submitted_at), func.max(Response.submitted_at))
                                         .where(*conditions)).one()
        if first is None:
            return []
        columns.append(local_months(Response.submitted_at, zone, first, last).label("period"))
    # Grouped outside: PostgreSQL would not take the months' CASE, with its parameters, as the same expression twice.
    scored = (
        select(*columns, Answer.score)
        .join_from(Answer, Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Question.kind.in_(("nps", "csat", "ces", "rating")), Answer.score.is_not(None), *conditions)
    ).subquery("scored")
    groups = [scored.c[column.name] for column in columns]
    score = cast(scored.c.score, Float)
    statement = select(
        *groups, func.count(scored.c.score).label("n"), func.sum(score).label("total"),
        func.sum(score * score).label("total_squares"),
        *(func.count(case((test, 1))).label(name) for name, test in (
            ("promoters", scored.c.score >= CUTS.promoter_min), ("detractors", scored.c.score <= CUTS.detractor_max),
            ("top_two", scored.c.score >= scored.c.scale_max - 1), ("agree", scored.c.score >= CES2_AGREE_MIN))),
    ).group_by(*groups)
    return [dict(record) for record in connection.execute(statement).mappings()]


def local_months(moment, zone: str, first: datetime, last: datetime):
    """The first day (ISO text, as month_start writes it) of the month in `zone` of a UTC timestamp column, for
    instants from `first` to `last`: a CASE over the instants the months start at, which every store can run
    (SQLite has no time zones)."""
    local = ZoneInfo(zone)
    start, end = first.astimezone(local).date().replace(day=1), last.astimezone(local).date()
    starts = []
    while start <= end:
        starts.append(start)
        start = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    whens = [(moment >= datetime(day.year, day.month, 1, tzinfo=local), literal(day.isoformat()))
             for day in reversed(starts[1:])]
    return case(*whens, else_=literal(starts[0].isoformat())) if whens else literal(starts[0].isoformat())


def over_periods(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Monthly counts summed into one row per group: the totals, without a second read of the rollups."""
    totals: dict[tuple, dict[str, Any]] = {}
    for record in records:
        key = tuple(value for name, value in record.items() if name != "period" and name not in COUNTS)
        if key not in totals:
            totals[key] = {name: value for name, value in record.items() if name != "period"}
        else:
            for name in COUNTS:
                totals[key][name] += record[name]
    return list(totals.values())


def estimates_from_counts(records: list[dict[str, Any]], *, min_base: int, confidence: float = 0.95) -> list[Row]:
    """Each question's metric per group, from summed rollups; one spec per kind and scale, so unlike scales
    and CES versions are never pooled."""
    variants: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        variants[tuple(record[name] for name in VARIANT)].append(record | {"top": record["top_two"]})
    rows: list[Row] = []
    for (kind, low, high, version), counted in variants.items():
        spec = MetricSpec.create("mean" if kind == "rating" else kind, (int(low), int(high)), ces_version=version)
        by = [name for name in counted[0] if name not in VARIANT and name not in COUNTS and name != "top"]
        rows += estimate_rows(counted, spec, by=by, min_base=min_base, confidence=confidence, method="adjusted-wald")
    return rows


def survey_estimates(connection: Connection, *, min_base: int, confidence: float = 0.95, period: str | None = None,
                     attribute: str | None = None, where: tuple[str, list[str]] | None = None,
                     survey: str | None = None, kind: str | None = None) -> list[Row]:
    """Each scored question's metric per survey (per month, per value of one `attribute`), from the rollups."""
    records = rollup_counts(connection, period=period, attribute=attribute, where=where, survey=survey, kind=kind)
    return estimates_from_counts(records, min_base=min_base, confidence=confidence)


@dataclass(frozen=True)
class Trend:
    """A survey's headline metric per month on its control chart, with the Nelson signals."""

    survey: str
    metric: str
    question: str  # the charted question's key
    periods: tuple[str, ...]
    n: tuple[int, ...]
    chart: ControlChart
    signals: tuple[Signal, ...]


def monthly_trends(monthly: list[dict[str, Any]], *, min_base: int, min_periods: int = 3) -> dict[str, Trend]:
    """Per survey, from `rollup_counts(period="month")` (months of the workspace time zone): the first NPS
    question's monthly chart; else CSAT's; else CES's, each on the chart `analysis.control.draw` chooses
    (CES 2.0 as its % agreeing on a p-chart, CES 1.0 as its mean on an XmR chart)."""
    series: dict[tuple[str, str, str], list[Row]] = {}
    for row in estimates_from_counts(monthly, min_base=min_base):
        if row.estimate.n and control.is_charted(row.metric):
            series.setdefault((row.keys["survey"], row.metric, row.keys["question"]), []).append(row)
    preference = {"nps": 0, "csat": 1, "ces2.0_agree": 2, "ces1.0": 2}
    trends: dict[str, Trend] = {}
    for (survey, metric, question), rows in sorted(series.items(), key=lambda item: (preference.get(item[0][1], 9), item[0])):
        if survey in trends or metric not in preference or len(rows) < min_periods:
            continue
        rows.sort(key=lambda row: row.keys["period"])
        n = [row.estimate.n for row in rows]
        chart, _ = control.draw(rows)
        trends[survey] = Trend(survey, metric, question, tuple(row.keys["period"] for row in rows), tuple(n), chart,
                               spc.nelson_signals(chart=chart))
    return trends


def survey_summaries(db_session: Session, monthly: list[dict[str, Any]], *, min_base: int,
                     conditions: list[ColumnElement[bool]] | None = None) -> list[SurveySummary]:
    """Every survey with its response count and headline metrics (the first question of each kind), from
    `rollup_counts(period="month")` summed over the months; responses counted among those meeting `conditions`
    (the response filter's), when given."""
    counts = {
        survey_id: (count, last)
        for survey_id, count, last in db_session.execute(
            select(Response.survey_id, func.count(), func.max(Response.submitted_at)).where(*(conditions or ()))
            .group_by(Response.survey_id)
        )
    }
    summaries: dict[str, SurveySummary] = {}
    for survey in db_session.scalars(select(Survey)).all():
        count, last = counts.get(survey.id, (0, None))
        summaries[survey.key] = SurveySummary(survey.key, survey.title, survey.status, count, last)
    for row in estimates_from_counts(over_periods(monthly), min_base=min_base):
        summary = summaries[row.keys["survey"]]
        if row.metric == "nps" and summary.nps is None:
            summary.nps = row.estimate
        elif row.metric == "csat" and summary.csat is None:
            summary.csat = row.estimate
        elif row.metric.startswith("ces") and row.metric.endswith("agree"):
            summary.ces_agree = summary.ces_agree or row.estimate
        elif row.metric.startswith("ces") and summary.ces is None:
            summary.ces, summary.ces_version = row.estimate, row.metric.removeprefix("ces")
        elif row.metric == "mean":
            summary.ratings.setdefault(row.keys["question"], row.estimate)
    return sorted(summaries.values(), key=lambda summary: (STATUS_ORDER[summary.status], summary.title))


@dataclass(frozen=True)
class Comment:
    survey_key: str
    survey_title: str
    question_key: str
    text: str
    submitted_at: datetime


def latest_comments(db_session: Session, *, limit: int = 10,
                    conditions: list[ColumnElement[bool]] | None = None) -> list[Comment]:
    """The most recent free-text answers of the responses meeting `conditions` (all, when not given), redacted:
    the stored analysis's text, or, for a comment the background worker has not reached yet, redacted here
    (untrusted text: every page must still escape it)."""
    from voxpop.text.models import CommentAnalysis
    from voxpop.text.redaction import redact

    rows = db_session.execute(
        select(Survey.key, Survey.title, Question.key, Answer.text, CommentAnalysis.text, Response.submitted_at)
        .join(Response, Answer.response_id == Response.id)
        .join(Question, Answer.question_id == Question.id)
        .join(Survey, Response.survey_id == Survey.id)
        .outerjoin(CommentAnalysis, CommentAnalysis.answer_id == Answer.id)
        .where(Answer.text.is_not(None), *(conditions or ()))
        .order_by(Response.submitted_at.desc(), Response.id.desc())
        .limit(limit)
    ).all()
    return [Comment(survey, title, question, analysed if analysed is not None else redact(raw).text, submitted_at)
            for survey, title, question, raw, analysed, submitted_at in rows]
