"""The first staff dashboard: surveys with response counts, NPS, CSAT, CES and the latest comments.

The HTML page and its JSON twin read the same numbers from analysis.survey_metrics.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request

from voxpop.analysis.survey_metrics import (
    SurveySummary,
    Trend,
    latest_comments,
    monthly_trends,
    rollup_counts,
    survey_summaries,
)
from voxpop.core.estimates import Estimate
from voxpop.dashboard.charts import HEIGHT, WIDTH, draw
from voxpop.surveys.views import SURVEY_EDITORS
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep, csrf_token
from voxpop.web.templating import render

router = APIRouter()


def _estimate(metric: str, estimate: Estimate | None) -> dict[str, Any] | None:
    return None if estimate is None else {"metric": metric, **asdict(estimate)}


def _summary_json(summary: SurveySummary) -> dict[str, Any]:
    metrics = {
        "nps": _estimate("nps", summary.nps),
        "csat": _estimate("csat", summary.csat),
        "ces": _estimate("ces", summary.ces) | {"ces_version": summary.ces_version} if summary.ces else None,
        "ces_agree": _estimate("ces_agree", summary.ces_agree),
    } | {f"mean:{key}": _estimate("mean", rating) for key, rating in summary.ratings.items()}
    return {
        "key": summary.key,
        "title": summary.title,
        "status": summary.status,
        "responses": summary.responses,
        "last_response_at": summary.last_response_at.isoformat() if summary.last_response_at else None,
        "metrics": {name: value for name, value in metrics.items() if value is not None},
    }


def _trend_json(trend: Trend | None) -> dict[str, Any] | None:
    if trend is None:
        return None
    chart = trend.chart
    return {
        "metric": trend.metric,
        "chart": chart.chart,
        "points": [
            {"period": period, "n": n, "value": value, "centre": centre, "lower": lower, "upper": upper}
            for period, n, value, centre, lower, upper in zip(trend.periods, trend.n, chart.values, chart.centre,
                                                              chart.lower, chart.upper)
        ],
        "signals": [
            {"rule": signal.rule.id, "description": signal.rule.description, "direction": signal.direction,
             "periods": [trend.periods[index] for index in signal.points]}
            for signal in trend.signals
        ],
    }


def _dashboard_data(db, settings) -> tuple[list[SurveySummary], list, dict[str, Trend]]:
    with db.read() as db_session:
        monthly = rollup_counts(db_session.connection(), period="month")
        summaries = survey_summaries(db_session, monthly, min_base=settings.min_base)
        comments = latest_comments(db_session, limit=10)
    return summaries, comments, monthly_trends(monthly, min_base=settings.min_base)


@router.get("/dashboard", include_in_schema=False)
def dashboard(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep):
    summaries, comments, trends = _dashboard_data(db, settings)
    return render(request, "dashboard/dashboard.html",
        {
            "summaries": summaries,
            "comments": comments,
            "charts": {key: draw(trend) for key, trend in trends.items()},
            "chart_size": (WIDTH, HEIGHT),
            "can_edit": user.role in SURVEY_EDITORS,
            "min_base": settings.min_base,
            "timezone": settings.timezone,
        },
    )


@router.get("/api/v1/dashboard", tags=["staff"])
def dashboard_json(user: CurrentUser, db: DbDep, settings: SettingsDep) -> dict[str, Any]:
    """The dashboard's data: every survey with its counts and metrics, and the latest comments."""
    summaries, comments, trends = _dashboard_data(db, settings)
    return {
        "surveys": [_summary_json(summary) | {"trend": _trend_json(trends.get(summary.key))} for summary in summaries],
        "latest_comments": [
            {
                "survey": comment.survey_key,
                "question": comment.question_key,
                "text": comment.text,
                "submitted_at": comment.submitted_at.isoformat(),
            }
            for comment in comments
        ],
        "min_base": settings.min_base,
    }
