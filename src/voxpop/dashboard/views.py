"""The staff dashboard and its JSON twin, both from dashboard.service.dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request

from voxpop.collection.filter_params import FilterDep, filter_form
from voxpop.collection.filters import FilterError
from voxpop.dashboard.schemas import DashboardPublic, TrendPublic
from voxpop.dashboard.service import dashboard
from voxpop.surveys.views import SURVEY_EDITORS
from voxpop.text.labels import as_sentence
from voxpop.text.views import filter_error
from voxpop.web import charts
from voxpop.web.auth import CurrentUser, DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.tables import csv_response
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter()  # mounted under /api/v1 by the app
DIGITS = {"nps": 0, "csat": 1, "ces": 2, "ces_agree": 1, "mean": 2}  # decimals a tile shows, per metric
SCALES = {"nps": " (−100 to 100)", "ces2.0": " (1–7, higher is easier)", "ces1.0": " (1–5, lower is easier)"}


@dataclass(frozen=True)
class TrendDrawing:
    chart: charts.Chart
    rows: tuple[tuple[str, ...], ...]  # the table twin: month, n, value, interval, lower and upper limit
    partial: str  # the month that has not ended, in words; empty when every month has


def draw_trend(trend: TrendPublic, survey_title: str) -> TrendDrawing:
    """The trend's control chart and its table: shares as percentages, signals marked on a run's last month."""
    scale = 100 if trend.chart in ("p", "laney-p") else 1
    unit, digits = ("%", 1) if scale == 100 else ("", 0) if trend.metric == "nps" else ("", 2)
    signalled = {signal.periods[-1] for signal in trend.signals}

    def figure(value: float | None, with_unit: bool = True) -> str:
        return "–" if value is None else charts.number(value, digits, unit if with_unit else "")

    points, rows = [], []
    for point in trend.points:
        month = charts.month_label(point.period, short=False)
        own = point.estimate
        title = (charts.estimate_title(month, trend.label, own, unit=unit, digits=digits,
                                       note=" so far" if point.partial else "") if own is not None
                 else f"{month}: {trend.label} {figure(point.value * scale)}, n = {point.n:,}")
        limits = [None if value is None else value * scale for value in (point.centre, point.lower, point.upper)]
        points.append(charts.ControlPoint(charts.month_label(point.period), point.value * scale, title, *limits,
                                          signalled=point.period in signalled, partial=point.partial))
        interval = ("–" if own is None or own.ci_low is None
                    else f"{figure(own.ci_low, False)} to {figure(own.ci_high)}")
        rows.append((month + (" (so far)" if point.partial else ""), f"{point.n:,}", figure(point.value * scale),
                     interval, figure(limits[1]), figure(limits[2])))
    bounds = {"nps": (-100.0, 100.0)}.get(trend.metric, (0.0, 100.0) if scale == 100 else (None, None))
    chart = charts.control_chart(points, title=f"{trend.label} by month for {survey_title}, with control limits",
                                 y_title=trend.label + (" (%)" if scale == 100 else SCALES.get(trend.metric, "")),
                                 unit=unit, floor=bounds[0], ceiling=bounds[1])
    partial = next((charts.month_label(point.period, short=False) for point in trend.points if point.partial), "")
    return TrendDrawing(chart, tuple(rows), partial)


def dashboard_table(data: DashboardPublic) -> tuple[list[str], list[list[object]]]:
    """The survey cards' figures as CSV rows: each survey's responses, then each metric with its interval and base."""
    rows: list[list[object]] = []
    for survey in data.surveys:
        rows.append([survey.key, survey.title, "responses", "Responses", survey.responses, None, None, survey.responses,
                     False])
        rows += [[survey.key, survey.title, name, metric.label, metric.value, metric.ci_low, metric.ci_high, metric.n,
                  metric.low_base] for name, metric in survey.metrics.items()]
    return ["survey", "title", "metric", "label", "value", "ci_low", "ci_high", "n", "low_base"], rows


@router.get("/dashboard", include_in_schema=False)
def dashboard_page(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, responses: FilterDep,
                   format: Annotated[Literal["html", "csv"], Query(description="csv for the survey cards' figures as "
                                                                                   "CSV.")] = "html"):
    error, field_error = None, {}
    with db.read() as db_session:
        form = filter_form(responses, db_session)
    try:
        response_filter = responses.parse()
    except FilterError as exc:
        error, field_error = filter_error(exc, form)  # worded as the form labels its fields
    # A filter that cannot be read shows the form with its error, and no figures that would look unfiltered.
    data = None if error else dashboard(db=db, min_base=settings.min_base, timezone_name=settings.timezone,
                                        response_filter=response_filter)
    if data is not None and format == "csv":
        return csv_response("dashboard", *dashboard_table(data))
    query = f"?{request.url.query}" if request.url.query else ""
    return render(request, "dashboard/dashboard.html", {
        "dashboard": data, "form": form, "error": error, "field_error": field_error,
        "filtered": bool(query), "json_href": f"/api/v1/dashboard{query}",
        "csv_href": "/dashboard?" + urlencode([*((name, value) for name, value in request.query_params.multi_items()
                                                 if name != "format"), ("format", "csv")]),
        "trends": {survey.key: draw_trend(survey.trend, survey.title) for survey in data.surveys if survey.trend}
        if data else {},
        "digits": DIGITS,
        "can_edit": user.role in SURVEY_EDITORS,
        "timezone": settings.timezone,
    }, status_code=400 if error else 200)


@api.get("/dashboard", tags=["staff"], response_model=DashboardPublic, responses=problem_responses(401, 422))
def dashboard_json(request: Request, user: CurrentUser, db: DbDep, settings: SettingsDep, responses: FilterDep):
    """Every survey with its counts, metrics (value, interval, n) and monthly control chart, where the month that
    has not ended is a partial point outside the limits and the run rules; and the latest comments, redacted;
    all of the responses the filter (days or period, attributes, answers to another question) keeps."""
    try:
        response_filter = responses.parse()
    except FilterError as exc:
        return problem(422, as_sentence(str(exc)), code="invalid-filter", instance=request.url.path,
                       errors=[{"field": exc.parameter or "", "message": as_sentence(str(exc))}])
    return dashboard(db=db, min_base=settings.min_base, timezone_name=settings.timezone,
                     response_filter=response_filter)
