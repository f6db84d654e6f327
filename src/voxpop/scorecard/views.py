"""Scorecard pages: the list, a scorecard's tree with scores, status, trend and interval, and a measure's page.
JSON twins under /api/v1/scorecards.

Every staff role reads the scorecards; the links to what only some roles may do (edit) are shown to those roles
only, and the pages behind them check the role again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Annotated
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor

from voxpop.accounts.models import Department, User
from voxpop.analysis.periods import (
    period_days,
    period_kind,
    period_series,
    period_shift,
)
from voxpop.cases.initiatives import STAGE_LABELS
from voxpop.core.wording import as_sentence
from voxpop.scorecard import evaluation
from voxpop.scorecard.measured import ScorecardResult
from voxpop.scorecard.models import Commentary, Measure, MeasureTarget, Objective, Review, Scorecard
from voxpop.scorecard.periods import EARLIEST, PeriodError, check_period
from voxpop.scorecard.schemas import MeasureDetailPublic, ScorecardPublic, TargetInForcePublic, scorecard_public
from voxpop.web import charts
from voxpop.web.auth import DbDep, SettingsDep, require_role
from voxpop.web.navigation import ALL_STAFF
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app


class ScorecardKey(Convertor):
    """A scorecard's key in an address, never the bare word 'new': /scorecards/new is the edit pages' form, and
    this router is included before theirs, so /scorecards/{key} would otherwise answer it."""

    regex = "(?!new$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("scorecard_key", ScorecardKey())
EDITORS = ("admin", "manager")  # change the scorecard (engineer 7's edit pages check this again)
INITIATIVE_READERS = ("admin", "manager", "analyst", "viewer")  # who may open an initiative's page (cases)
Reader = Annotated[User, Depends(require_role(*ALL_STAFF))]
Key = Annotated[str, Path(max_length=64, description="The scorecard's key.")]
MeasureKey = Annotated[str, Path(max_length=64, description="The measure's key within the scorecard.")]
PeriodParam = Annotated[str, Query(max_length=20, description="A month (2026-11) or a quarter (2026-Q4); "
                                                              "default: the last period that has ended.")]
PICKER_PERIODS = 24  # the period picker offers this many periods back from the last that ended


# The list's and the measure page's shapes (the scorecard's own is schemas.ScorecardPublic).


class ScorecardSummaryPublic(BaseModel):
    key: str
    name: str
    description: str
    parent_key: str | None = Field(description="The scorecard this one cascades from (a department's from the "
                                               "organisation's); null for the organisation's.")
    parent: str | None
    department: str | None
    owner: str | None
    period: str = Field(description="The last period that has ended, which the score is for.")
    score: float | None = Field(description="0..100: the perspectives' roll-up; null without data.")
    colour: str = Field(description="green, amber, red, or none without a score.")
    locked: bool = Field(description="The period's review is locked: the score is its snapshot.")
    measures: int


class ScorecardListPublic(BaseModel):
    scorecards: list[ScorecardSummaryPublic] = Field(description="Each scorecard followed by those cascading from it.")


class CommentaryPublic(BaseModel):
    period: str
    analysis: str
    recommendation: str
    author: str | None
    updated_at: datetime


class MeasurePagePublic(MeasureDetailPublic):
    """A measure's detail with what its page says beside it: where it sits, its target rows and the commentary."""

    scorecard: str = Field(description="The scorecard's key.")
    objective: str = Field(description="The objective's name.")
    description: str
    period_kind: str = Field(description="month or quarter: the measure's own period.")
    target_rows: list[TargetInForcePublic] = Field(description="The targets as defined, each in force from its "
                                                               "period until the next row's.")
    commentary: CommentaryPublic | None = Field(description="The owner's analysis and recommendation for the period.")


@dataclass(frozen=True)
class Period:
    """The period a page shows, with its neighbours for the picker."""

    label: str
    kind: str
    latest: str  # the last period that has ended
    previous: str | None
    following: str | None  # None past the last period that has ended
    options: tuple[str, ...]  # newest first

    @property
    def choices(self) -> list[tuple[str, str]]:
        return [(option, option) for option in self.options]


def scorecard_kind(db_session: Session, scorecard: Scorecard) -> str:
    """Quarters when every measure is quarterly; months otherwise (a monthly measure needs its month shown)."""
    kinds = set(db_session.scalars(select(Measure.period).where(Measure.scorecard_id == scorecard.id)))
    return "quarter" if kinds == {"quarter"} else "month"


def choose_period(asked: str, *, kind: str, now: datetime, zone: str) -> Period:
    """The period asked for (default: the last that ended), checked; PeriodError says what to write instead."""
    latest = evaluation.review_period(now, zone, kind)
    label = asked.strip() or latest
    try:
        check_period(label, now=now, zone=zone)
    except PeriodError as exc:
        raise PeriodError(as_sentence(str(exc))) from None
    asked_kind = period_kind(label)
    if asked_kind != kind:
        latest = evaluation.review_period(now, zone, asked_kind)
    options = tuple(reversed(period_series(latest, PICKER_PERIODS)))
    if label not in options:
        options = tuple(sorted({label, *options}, reverse=True))
    previous = period_shift(label, -1)
    following = period_shift(label, 1) if label < latest else None
    return Period(label, asked_kind, latest, previous if previous >= EARLIEST else None, following, options)


def staff_name(user: User | None) -> str | None:
    """How the pages name a staff member: their name, else their e-mail."""
    return (user.name or user.email) if user else None


def _get_scorecard(db_session: Session, key: str) -> Scorecard | None:
    return db_session.scalar(select(Scorecard).where(Scorecard.key == key))


def _not_found(request: Request, title: str, detail: str):
    return render(request, "error.html", {"status": 404, "title": title, "detail": detail}, status_code=404)


def _no_scorecard(key: str) -> str:
    return f"There is no scorecard with the key '{key}'. The list of scorecards is at /scorecards."


def _now() -> datetime:
    return datetime.now(timezone.utc)


# The list ------------------------------------------------------------------------------------------------


def scorecard_list(db, settings, *, now: datetime) -> ScorecardListPublic:
    """Every scorecard, parents first, each with its parent, department, owner, measures and latest score."""
    listed = []
    with db.read() as db_session:
        scorecards = list(db_session.scalars(select(Scorecard).order_by(Scorecard.name)))
        by_id = {scorecard.id: scorecard for scorecard in scorecards}
        counts = dict(db_session.execute(select(Measure.scorecard_id, func.count()).group_by(Measure.scorecard_id)).all())
        for scorecard in scorecards:
            period = evaluation.review_period(now, settings.timezone, scorecard_kind(db_session, scorecard))
            result = evaluation.evaluate(db_session, scorecard=scorecard, period=period, zone=settings.timezone,
                                         min_base=settings.min_base, now=now, history=1)
            parent = by_id.get(scorecard.parent_id)
            department = db_session.get(Department, scorecard.department_id) if scorecard.department_id else None
            owner = db_session.get(User, scorecard.owner_id) if scorecard.owner_id else None
            listed.append(ScorecardSummaryPublic(
                key=scorecard.key, name=scorecard.name, description=scorecard.description or "",
                parent_key=parent.key if parent else None, parent=parent.name if parent else None,
                department=department.name if department else None, owner=staff_name(owner), period=period,
                score=result.score, colour=result.colour, locked=result.locked, measures=counts.get(scorecard.id, 0)))
    # The organisation's scorecards first, each followed by the departments' cascaded from it.
    children: dict[str | None, list[ScorecardSummaryPublic]] = {}
    for item in listed:
        children.setdefault(item.parent_key if item.parent_key in {i.key for i in listed} else None, []).append(item)
    ordered: list[ScorecardSummaryPublic] = []

    def walk(parent_key: str | None) -> None:
        for item in children.get(parent_key, []):
            if item not in ordered:
                ordered.append(item)
                walk(item.key)

    walk(None)
    return ScorecardListPublic(scorecards=ordered + [item for item in listed if item not in ordered])


@router.get("/scorecards", include_in_schema=False)
def scorecards_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep):
    listed = scorecard_list(db, settings, now=_now())
    return render(request, "scorecard/list.html", {
        "listed": listed, "can_edit": user.role in EDITORS,
        "json_href": "/api/v1/scorecards"})


@api.get("/scorecards", response_model=ScorecardListPublic, responses=problem_responses(401, 403))
def scorecards_json(user: Reader, db: DbDep, settings: SettingsDep):
    """Every scorecard: its parent (a department's scorecard cascades from the organisation's), department, owner,
    number of measures, and its score (0 to 100) and colour for the last period that has ended."""
    return scorecard_list(db, settings, now=_now())


# A scorecard's tree -----------------------------------------------------------------------------------------


def figure(value: float) -> str:
    """A figure for people with as many decimals as its size needs (the tree's `num` macro reads alike)."""
    size = abs(value)
    return charts.number(value, 0 if size >= 100 else 1 if size >= 10 else 2)


def sparklines(result: ScorecardResult) -> dict[int, tuple[str, str]]:
    """Each measure's trend as a sparkline's points and its values in words, by measure id."""
    lines = {}
    for perspective in result.perspectives:
        for objective in perspective.objectives:
            for measure in objective.measures:
                known = [value for value in measure.trend if value.value is not None]
                if len(known) < 2:
                    continue
                values = [float(value.value) for value in known]
                # charts.sparkline draws from zero up; a series that goes below zero (an NPS) from its lowest value
                drawn = values if min(values) >= 0 else [value - min(values) for value in values]
                lines[measure.measure_id] = (charts.sparkline(drawn), (
                    f"{measure.name} over {len(known)} periods: from {figure(values[0])} in {known[0].period} "
                    f"to {figure(values[-1])} in {known[-1].period}"))
    return lines


def tree_context(result: ScorecardResult, *, min_base: int, key: str | None = None, period: str | None = None,
                 can_read_initiatives: bool = False,
                 cascade_from: dict[int, tuple[str, str]] | None = None) -> dict[str, object]:
    """What templates/_tree.html reads beside `result`; without `key` and `period` (the PDF) nothing links."""
    linked = key is not None and period is not None
    return {"result": result, "sparklines": sparklines(result), "min_base": min_base, "stages": STAGE_LABELS,
            "can_read_initiatives": can_read_initiatives and linked, "cascade_from": cascade_from or {},
            "measure_href": f"/scorecards/{quote(key)}/measures/" if linked else None,
            "period_query": f"?period={period}" if linked else ""}


@dataclass(frozen=True)
class ScorecardPage:
    scorecard: Scorecard
    period: Period
    result: ScorecardResult
    locked_at: datetime | None
    locked_by: str | None
    cascade_from: dict[int, tuple[str, str]]  # a cascaded objective's id: its scorecard's key and name


def scorecard_page_data(db, settings, key: str, asked: str, *, now: datetime) -> ScorecardPage | None:
    """The scorecard evaluated for a period, with what the page says around it; None for an unknown key."""
    with db.read() as db_session:
        scorecard = _get_scorecard(db_session, key)
        if scorecard is None:
            return None
        period = choose_period(asked, kind=scorecard_kind(db_session, scorecard), now=now, zone=settings.timezone)
        result = evaluation.evaluate(db_session, scorecard=scorecard, period=period.label, zone=settings.timezone,
                                     min_base=settings.min_base, now=now)
        review = db_session.scalar(select(Review).where(Review.scorecard_id == scorecard.id,
                                                        Review.period == period.label))
        locked_by = db_session.get(User, review.locked_by_id) if review and review.locked_by_id else None
        cascaded = [child.objective_id for perspective in result.perspectives for objective in perspective.objectives
                    for child in objective.cascaded]
        cascade_from = {objective_id: (key_, name) for objective_id, key_, name in db_session.execute(
            select(Objective.id, Scorecard.key, Scorecard.name).join(Scorecard, Scorecard.id == Objective.scorecard_id)
            .where(Objective.id.in_(cascaded)))} if cascaded else {}
        locked_at = review.locked_at if review else None
        locked_by_name = staff_name(locked_by)  # read inside the session: the user row is not loaded after it
        db_session.expunge(scorecard)
    return ScorecardPage(scorecard, period, result, locked_at, locked_by_name, cascade_from)


@router.get("/scorecards/{key:scorecard_key}", include_in_schema=False)
def scorecard_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key,
                   period: PeriodParam = ""):
    try:
        data = scorecard_page_data(db, settings, key, period, now=_now())
    except PeriodError as error:
        return render(request, "scorecard/scorecard.html", {"error": str(error), "key": key, "data": None,
                                                             "asked": period}, status_code=400)
    if data is None:
        return _not_found(request, "No such scorecard", _no_scorecard(key))
    shown, quoted = data.period.label, quote(key)
    return render(request, "scorecard/scorecard.html", {
        "data": data, "period": data.period, "key": key, "error": None, "timezone": settings.timezone,
        "map_href": f"/scorecards/{quoted}/map?period={shown}",
        "review_href": f"/scorecards/{quoted}/review?period={shown}",
        "pdf_href": f"/scorecards/{quoted}/export.pdf?period={shown}",
        "csv_href": f"/scorecards/{quoted}/export.csv?period={shown}",
        "edit_href": f"/scorecards/{quoted}/edit" if user.role in EDITORS else None,
        "schedules_href": f"/scorecards/{quoted}/schedules" if user.role in EDITORS else None,
        "json_href": f"/api/v1/scorecards/{quoted}?period={shown}",
    } | tree_context(data.result, min_base=settings.min_base, key=key, period=shown,
                     can_read_initiatives=user.role in INITIATIVE_READERS, cascade_from=data.cascade_from))


@api.get("/scorecards/{key}", response_model=ScorecardPublic, responses=problem_responses(401, 403, 404, 422))
def scorecard_json(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key,
                   period: PeriodParam = ""):
    """The scorecard for a period: each perspective, objective and measure with its value, interval and n, target,
    score (0 to 100), colour and status in words ("within noise of target" when the target lies inside the value's
    interval), the trend and whether a colour change is a control-chart signal. A locked period is its snapshot."""
    try:
        data = scorecard_page_data(db, settings, key, period, now=_now())
    except PeriodError as error:
        return problem(422, str(error), code="invalid-period", instance=request.url.path,
                       errors=[{"field": "period", "message": str(error)}])
    if data is None:
        return problem(404, _no_scorecard(key), code="no-such-scorecard", instance=request.url.path)
    return scorecard_public(data.result)


# A measure's page -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasurePage:
    scorecard: Scorecard
    measure: Measure
    period: Period
    detail: evaluation.MeasureDetail
    targets: tuple[MeasureTarget, ...]  # oldest first
    objective: str
    owner: str | None
    commentary: Commentary | None
    commentary_author: str | None


def measure_page_data(db, settings, key: str, measure_key: str, asked: str, *,
                      now: datetime) -> MeasurePage | str:
    """The measure's detail for a period, its targets and the owner's commentary; a sentence when there is none."""
    with db.read() as db_session:
        scorecard = _get_scorecard(db_session, key)
        if scorecard is None:
            return _no_scorecard(key)
        measure = db_session.scalar(select(Measure).where(Measure.scorecard_id == scorecard.id,
                                                          Measure.key == measure_key))
        if measure is None:
            return f"The scorecard '{key}' has no measure with the key '{measure_key}'."
        period = choose_period(asked, kind=measure.period, now=now, zone=settings.timezone)
        detail = evaluation.measure_detail(db_session, measure=measure, period=period.label, zone=settings.timezone,
                                           min_base=settings.min_base, now=now)
        targets = tuple(db_session.scalars(select(MeasureTarget).where(MeasureTarget.measure_id == measure.id)
                                           .order_by(MeasureTarget.from_period)))
        commentary = db_session.scalar(select(Commentary).where(Commentary.measure_id == measure.id,
                                                                Commentary.period == period.label))
        author = db_session.get(User, commentary.author_id) if commentary and commentary.author_id else None
        objective = db_session.get(Objective, measure.objective_id)
        owner = db_session.get(User, measure.owner_id) if measure.owner_id else None
        words = (objective.name if objective else "", staff_name(owner))
        db_session.expunge_all()
    return MeasurePage(scorecard, measure, period, detail, targets, *words, commentary, staff_name(author))


DIRECTIONS = {"up": "Higher is better", "down": "Lower is better", "middle": "Best in the middle (a band)"}
SCORINGS = {
    "linear": "Linear performance: where the value lies between the minimum and the maximum (BSC Designer)",
    "progress": "Progress from the baseline to the target (BSC Designer)",
    "goal_red_flag": "Goal and red flag, 0 to 10 (Spider Impact)",
    "status_rules": "Ordered status rules: the first that holds sets the status (ClearPoint)",
    "stabilise": "Stabilise: best inside the band, worse towards the minimum or the maximum",
    "yes_no": "Yes or no",
}


def period_words(period: str, *, short: bool = True) -> str:
    """'2026-11' as 'Nov 2026' (an axis) or 'November 2026'; '2026-Q4' as 'Q4 2026'."""
    if period_kind(period) == "quarter":
        return f"{period[5:]} {period[:4]}"
    return charts.month_label(f"{period}-01", short=short)


def value_rows(measure: Measure, detail: evaluation.MeasureDetail,
               targets: tuple[MeasureTarget, ...]) -> tuple[list[dict[str, object]], tuple[str, str] | None]:
    """Each period of the series from the first with data, newest first, scored against the target in force then;
    and the first and last period of the run without data before it (one line on the page, not twenty)."""
    series = list(detail.series)
    first = next((index for index, value in enumerate(series) if value.value is not None), len(series))
    empty = (series[0].period, series[first - 1].period) if first > 1 else None
    if first == 1:
        first = 0
    rows = []
    for value in reversed(series[first:]):
        scored = evaluation.score_value(measure, value, evaluation.target_in_force(targets, value.period))
        rows.append({"value": value, "target": scored.target, "score": scored.score, "scoring": measure.scoring,
                     "colour": scored.colour, "status": scored.status, "within_noise": scored.within_noise})
    return rows, empty


def measure_chart(measure: Measure, detail: evaluation.MeasureDetail, *, today: date) -> charts.Chart | None:
    """The series as an XmR chart: the evaluation's centre line and natural process limits, its signals marked on
    the last period of each run; a period still running is drawn hollow, without limits."""
    chart = detail.chart
    if len(chart.periods) < 2:
        return None
    signalled = {signal.periods[-1] for signal in chart.signals}
    by_period = {value.period: value for value in detail.series}
    unit = measure.unit or ""
    points = []
    for period, observed in zip(chart.periods, chart.values):
        value = by_period[period]
        running = period_days(period)[1] >= today
        title = f"{period_words(period, short=False)}{' so far' if running else ''}: {figure(observed)}{unit if unit == '%' else ''}"
        if value.ci_low is not None and value.ci_high is not None:
            title += f" (95% CI {figure(value.ci_low)} to {figure(value.ci_high)})"
        if value.n is not None:
            title += f", n = {value.n:,}"
        limits = (None, None, None) if running else (chart.centre, chart.lower, chart.upper)
        points.append(charts.ControlPoint(period_words(period), observed, title, *limits,
                                          signalled=period in signalled and not running, partial=running))
    kind = "quarter" if measure.period == "quarter" else "month"
    return charts.control_chart(points, title=f"{measure.name} by {kind}, with its control chart's natural process "
                                              "limits", y_title=measure.name + (f" ({unit})" if unit else ""),
                                unit="%" if unit == "%" else "")


@router.get("/scorecards/{key}/measures/{measure_key}", include_in_schema=False)
def measure_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key,
                 measure_key: MeasureKey, period: PeriodParam = ""):
    try:
        data = measure_page_data(db, settings, key, measure_key, period, now=_now())
    except PeriodError as error:
        return render(request, "scorecard/measure.html", {"error": str(error), "key": key, "data": None,
                                                           "asked": period}, status_code=400)
    if isinstance(data, str):
        return _not_found(request, "No such measure", data)
    shown, quoted = data.period.label, quote(key)
    today = _now().astimezone(ZoneInfo(settings.timezone)).date()
    owner = data.measure.owner_id is not None and data.measure.owner_id == user.id
    rows, empty_before = value_rows(data.measure, data.detail, data.targets)
    return render(request, "scorecard/measure.html", {
        "data": data, "detail": data.detail, "m": data.detail.measure, "period": data.period, "key": key,
        "error": None, "timezone": settings.timezone, "min_base": settings.min_base,
        "directions": DIRECTIONS, "scorings": SCORINGS, "rows": rows, "empty_before": empty_before,
        "chart": measure_chart(data.measure, data.detail, today=today),
        "can_comment": owner or user.role == "admin", "period_title": period_words(shown, short=False),
        "scorecard_href": f"/scorecards/{quoted}?period={shown}",
        "review_href": f"/scorecards/{quoted}/review?period={shown}",
        "picker_href": f"/scorecards/{quoted}/measures/{quote(measure_key)}",
        "json_href": f"/api/v1/scorecards/{quoted}/measures/{quote(measure_key)}?period={shown}"})


@api.get("/scorecards/{key}/measures/{measure_key}", response_model=MeasurePagePublic,
         responses=problem_responses(401, 403, 404, 422))
def measure_json(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key, measure_key: MeasureKey,
                 period: PeriodParam = ""):
    """One measure: its definition, its series with each period's value, interval, n, target, score and status, its
    control chart's limits and signals, and the owner's commentary for the period."""
    try:
        data = measure_page_data(db, settings, key, measure_key, period, now=_now())
    except PeriodError as error:
        return problem(422, str(error), code="invalid-period", instance=request.url.path,
                       errors=[{"field": "period", "message": str(error)}])
    if isinstance(data, str):
        return problem(404, data, code="no-such-measure", instance=request.url.path)
    return measure_page_public(data)


def measure_page_public(data: MeasurePage) -> MeasurePagePublic:
    detail = MeasureDetailPublic.of(data.detail)
    commentary = data.commentary
    return MeasurePagePublic(
        **dict(detail), scorecard=data.scorecard.key, objective=data.objective,
        description=data.measure.description or "", period_kind=data.measure.period,
        target_rows=[TargetInForcePublic(period=row.from_period, target=row.target, baseline=row.baseline,
                                         minimum=row.minimum, maximum=row.maximum, goal=row.goal,
                                         red_flag=row.red_flag, low=row.low, high=row.high, rules=list(row.rules or []))
                     for row in data.targets],
        commentary=CommentaryPublic(period=commentary.period, analysis=commentary.analysis or "",
                                    recommendation=commentary.recommendation or "", author=data.commentary_author,
                                    updated_at=commentary.updated_at) if commentary else None)
