"""The strategy map page: objectives by perspective, the cause-and-effect links and each link's test on the data.
JSON twin under /api/v1/scorecards/{key}/map.

Every staff role reads the map (the links are changed with the scorecard's definition, on the edit pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Request
from markupsafe import Markup
from pydantic import BaseModel
from sqlalchemy import select

from voxpop.core import lagged
from voxpop.scorecard import evaluation
from voxpop.scorecard.map_svg import strategy_map_svg
from voxpop.scorecard.measured import ScorecardResult
from voxpop.scorecard.models import Link, Scorecard
from voxpop.scorecard.strategy_map import LinkTest, test_links
from voxpop.scorecard.views import Key, Period, PeriodError, PeriodParam, Reader, choose_period, scorecard_kind
from voxpop.web.auth import DbDep, SettingsDep
from voxpop.web.problems import problem, problem_responses
from voxpop.web.templating import render

router = APIRouter()
api = APIRouter(tags=["staff"])  # mounted under /api/v1 by the app
HISTORY = 24  # periods of each measure's series a link is tested on
VERDICT_BADGES = {lagged.SUPPORTED: "ok", lagged.CONTRADICTED: "error", lagged.NOT_ENOUGH: "pending",
                  lagged.NO_LINK: "pending"}


class LaggedCorrelationPublic(BaseModel):
    lag: int
    n: int
    r: float | None
    ci_low: float | None
    ci_high: float | None


class PooledSlopePublic(BaseModel):
    lag: int
    slope: float
    se: float  # cluster-robust by unit
    ci_low: float
    ci_high: float
    p: float
    n: int
    units: int
    r: float


class MapObjectivePublic(BaseModel):
    objective_id: int
    key: str
    name: str
    perspective: str
    score: float | None
    colour: str
    status: str


class LinkTestPublic(BaseModel):
    link_id: int
    number: int  # as the map and the links table number the arrows
    cause_objective_id: int
    effect_objective_id: int
    cause: str
    effect: str
    cause_measure: str | None
    effect_measure: str | None
    period_kind: str
    polarity: Literal[1, -1]
    lag: int
    strength: str
    needed: int
    lagged: LaggedCorrelationPublic | None
    cross: list[LaggedCorrelationPublic]
    strongest_lag: int | None
    unit_attribute: str | None
    pooled: PooledSlopePublic | None
    verdict: Literal["supported", "contradicted", "not enough periods", "no link found"]
    sentence: str


class StrategyMapPublic(BaseModel):
    key: str
    name: str
    period: str
    locked: bool
    history: int  # periods of each series the links were tested on
    objectives: list[MapObjectivePublic]
    links: list[LinkTestPublic]


@dataclass(frozen=True)
class MapPage:
    scorecard_key: str
    period: Period
    result: ScorecardResult
    links: list[Link]
    tests: list[LinkTest]


def map_page_data(db, settings, key: str, asked: str, *, now: datetime) -> MapPage | None:
    """The scorecard's objectives evaluated for a period and its links tested; None for an unknown key."""
    with db.read() as db_session:
        scorecard = db_session.scalar(select(Scorecard).where(Scorecard.key == key))
        if scorecard is None:
            return None
        period = choose_period(asked, kind=scorecard_kind(db_session, scorecard), now=now, zone=settings.timezone)
        result = evaluation.evaluate(db_session, scorecard=scorecard, period=period.label, zone=settings.timezone,
                                     min_base=settings.min_base, now=now, history=1)
        links = list(db_session.scalars(select(Link).where(Link.scorecard_id == scorecard.id).order_by(Link.id)))
        tests = test_links(db_session, scorecard=scorecard, period=period.label, zone=settings.timezone,
                           min_base=settings.min_base, now=now, periods=HISTORY)
        for link in links:
            db_session.expunge(link)
    return MapPage(key, period, result, links, tests)


def _status(colour: str) -> str:
    return evaluation.STATUS_BY_COLOUR.get(colour, evaluation.NO_DATA)


def strategy_map_public(data: MapPage) -> StrategyMapPublic:
    """The map's objectives and tested links as the JSON twin sends them."""
    objectives = [MapObjectivePublic(objective_id=objective.objective_id, key=objective.key, name=objective.name,
                                     perspective=perspective.name, score=objective.score, colour=objective.colour,
                                     status=_status(objective.colour))
                  for perspective in data.result.perspectives for objective in perspective.objectives]
    numbers = {link.id: number for number, link in enumerate(data.links, start=1)}
    links = [LinkTestPublic(
        link_id=test.link_id, number=numbers.get(test.link_id, 0), cause_objective_id=test.cause_objective_id,
        effect_objective_id=test.effect_objective_id, cause=test.cause, effect=test.effect,
        cause_measure=test.cause_measure, effect_measure=test.effect_measure, period_kind=test.period_kind,
        polarity=test.polarity, lag=test.lag, strength=test.strength, needed=test.needed,
        lagged=LaggedCorrelationPublic(**vars(test.lagged)) if test.lagged else None,
        cross=[LaggedCorrelationPublic(**vars(item)) for item in test.cross], strongest_lag=test.strongest_lag,
        unit_attribute=test.unit_attribute, pooled=PooledSlopePublic(**vars(test.pooled)) if test.pooled else None,
        verdict=test.verdict, sentence=test.sentence) for test in data.tests]
    return StrategyMapPublic(key=data.scorecard_key, name=data.result.name, period=data.period.label,
                             locked=data.result.locked, history=HISTORY, objectives=objectives, links=links)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@router.get("/scorecards/{key}/map", include_in_schema=False)
def map_page(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    try:
        data = map_page_data(db, settings, key, period, now=_now())
    except PeriodError as error:
        return render(request, "scorecard/map.html", {"data": None, "error": str(error), "key": key,
                                                       "asked": period}, status_code=400)
    if data is None:
        return render(request, "error.html", {"status": 404, "title": "No such scorecard", "detail":
                      f"There is no scorecard with the key '{key}'. The list of scorecards is at /scorecards."},
                      status_code=404)
    shown = data.period.label
    return render(request, "scorecard/map.html", {
        "data": data, "result": data.result, "period": data.period, "key": key, "error": None,
        # strategy_map_svg escapes every name and word it writes, so its markup is safe to place as it is.
        "svg": Markup(strategy_map_svg(data.result, data.links, data.tests)),  # noqa: S704
        "public": strategy_map_public(data), "badges": VERDICT_BADGES,
        "period_choices": [(label, label) for label in data.period.options],
        "scorecard_href": f"/scorecards/{key}?period={shown}",
        "json_href": f"/api/v1/scorecards/{key}/map?period={shown}"})


@api.get("/scorecards/{key}/map", response_model=StrategyMapPublic, responses=problem_responses(401, 403, 404, 422))
def map_json(request: Request, user: Reader, db: DbDep, settings: SettingsDep, key: Key, period: PeriodParam = ""):
    """The strategy map for a period: each objective with its perspective, score and status, and each
    cause-and-effect link tested on its measures' last 24 periods: the lagged correlation at the declared lag
    (Fisher-z interval), the cross-correlation over lags 0 to 6, the pooled fixed-effects regression across units
    where the link names a unit attribute, the pairs needed for the declared strength, and the verdict."""
    try:
        data = map_page_data(db, settings, key, period, now=_now())
    except PeriodError as error:
        return problem(422, str(error), code="invalid-period", instance=request.url.path,
                       errors=[{"field": "period", "message": str(error)}])
    if data is None:
        return problem(404, f"There is no scorecard with the key '{key}'. The list of scorecards is at "
                            "/api/v1/scorecards.", code="no-such-scorecard", instance=request.url.path)
    return strategy_map_public(data)
