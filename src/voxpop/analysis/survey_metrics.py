"""The dashboard's numbers: the store counts (sufficient statistics per question), core.estimates computes.

This is the one place survey metrics are read for pages and the API. The engine (Ibis, on the store itself)
reduces answers to counts, sums and sums of squares; no raw rows come into Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voxpop.analysis.engine import MetricSpec, Row, estimate_rows
from voxpop.analysis.models import ALL
from voxpop.analysis.sources import question_catalogue
from voxpop.collection.models import Answer, Response
from voxpop.core import spc
from voxpop.core.estimates import Estimate
from voxpop.core.spc import ControlChart, Signal
from voxpop.surveys.models import Question, Survey

STATUS_ORDER = {"live": 0, "draft": 1, "closed": 2}  # live surveys first on the dashboard


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


def survey_estimates(connection, *, min_base: int, confidence: float = 0.95, period: str | None = None,
                     attribute: str | None = None, survey: str | None = None, kind: str | None = None) -> list[Row]:
    """Each scored question's metric per survey (per month, per value of one `attribute`), from the daily
    rollups: the store keeps the sufficient statistics per day, so this reads small rows, never the
    answers. One query per kind and scale, so unlike scales and CES versions are never pooled."""
    if period not in (None, "month"):
        raise ValueError("the dashboard reads months from the daily rollups")
    table = connection.table("score_rollups")
    table = table.filter(table.attribute == (attribute or ALL)).join(question_catalogue(connection), "question_id")
    if survey is not None:
        table = table.filter(table.survey == survey)
    if kind is not None:
        table = table.filter(table.kind == kind)
    groups = ["survey", "question"]
    if attribute:
        table = table.mutate(**{attribute: table.value})
        groups.append(attribute)
    if period:
        table = table.mutate(period=table.day.truncate("M"))
        groups.append("period")
    variants = table.select("kind", "scale_min", "scale_max", "ces_version").distinct().execute()
    rows: list[Row] = []
    for variant in variants.to_dict("records"):
        kind, low, high = variant["kind"], int(variant["scale_min"]), int(variant["scale_max"])
        version = variant["ces_version"] if isinstance(variant["ces_version"], str) else None
        subset = table.filter(table.kind == kind, table.scale_min == low, table.scale_max == high)
        if version:
            subset = subset.filter(subset.ces_version == version)
        spec = MetricSpec.create("mean" if kind == "rating" else kind, (low, high), ces_version=version)
        counted = subset.group_by(groups).aggregate(
            n=subset.n.sum(), total=subset.total.sum(), total_squares=subset.total_squares.sum(),
            promoters=subset.promoters.sum(), detractors=subset.detractors.sum(), top=subset.top_two.sum(),
            agree=subset.agree.sum(),
        ).execute().to_dict("records")
        rows += estimate_rows(counted, spec, by=groups, min_base=min_base, confidence=confidence, method="adjusted-wald")
    return rows


@dataclass(frozen=True)
class Trend:
    """A survey's headline metric per month on its control chart, with the Nelson signals."""

    survey: str
    metric: str
    periods: tuple[str, ...]
    n: tuple[int, ...]
    chart: ControlChart
    signals: tuple[Signal, ...]


def monthly_trends(connection, *, min_base: int, min_periods: int = 3) -> dict[str, Trend]:
    """Per survey (months of the workspace time zone, as the rollups keep days), the first NPS question's monthly NPS chart; else CSAT on a p-chart (Laney's p′ when the
    months vary more than binomially); else CES on an individuals chart of its monthly means."""
    series: dict[tuple[str, str, str], list[Row]] = {}
    for row in survey_estimates(connection, min_base=min_base, period="month"):
        if row.estimate.n and not row.metric.endswith("agree"):
            series.setdefault((row.keys["survey"], row.metric, row.keys["question"]), []).append(row)
    preference = {"nps": 0, "csat": 1, "ces2.0": 2, "ces1.0": 2}
    trends: dict[str, Trend] = {}
    for (survey, metric, _), rows in sorted(series.items(), key=lambda item: (preference.get(item[0][1], 9), item[0])):
        if survey in trends or metric not in preference or len(rows) < min_periods:
            continue
        rows.sort(key=lambda row: row.keys["period"])
        n = [row.estimate.n for row in rows]
        if metric == "nps":
            chart = spc.nps_chart(promoters=[row.extra["promoters"] for row in rows],
                                  passives=[row.extra["passives"] for row in rows],
                                  detractors=[row.extra["detractors"] for row in rows])
        elif metric == "csat":
            top = [round(row.estimate.value * row.estimate.n / 100) for row in rows]
            laney = spc.laney_advisable(nonconforming=top, sizes=n)
            chart = (spc.laney_p_chart if laney else spc.p_chart)(nonconforming=top, sizes=n)
        else:
            chart = spc.xmr_chart(observations=[row.estimate.value for row in rows]).individuals
        trends[survey] = Trend(survey, metric, tuple(row.keys["period"] for row in rows), tuple(n), chart,
                               spc.nelson_signals(chart=chart))
    return trends


def survey_summaries(db_session: Session, connection, *, min_base: int) -> list[SurveySummary]:
    """Every survey with its response count and headline metrics (the first question of each kind)."""
    counts = {
        survey_id: (count, last)
        for survey_id, count, last in db_session.execute(
            select(Response.survey_id, func.count(), func.max(Response.submitted_at)).group_by(Response.survey_id)
        )
    }
    summaries: dict[str, SurveySummary] = {}
    for survey in db_session.scalars(select(Survey)).all():
        count, last = counts.get(survey.id, (0, None))
        summaries[survey.key] = SurveySummary(survey.key, survey.title, survey.status, count, last)
    for row in survey_estimates(connection, min_base=min_base):
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
