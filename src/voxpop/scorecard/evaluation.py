"""Scoring a scorecard for a period: each measure's value against the target in force, honest about noise, with its
trend read as a control chart, rolled up into objectives, perspectives and the scorecard.

Each table is read once per evaluation, and each measure's series is computed once: a formula measure reads the
series already computed for the measures it names. A locked review's period returns the snapshot taken at the lock.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, fields, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.analysis.periods import period_days, period_kind, period_label, period_series, period_shift
from voxpop.cases.models import Initiative
from voxpop.core import scoring
from voxpop.core.formula import FormulaError
from voxpop.core.spc import nelson_signals, xmr_chart
from voxpop.scorecard.measured import (
    MeasuredValue,
    ScorecardResult,
    ScoredMeasure,
    ScoredObjective,
    ScoredPerspective,
)
from voxpop.scorecard.models import (
    Measure,
    MeasureTarget,
    Objective,
    ObjectiveInitiative,
    Perspective,
    Review,
    Scorecard,
)
from voxpop.scorecard.sources import (
    SourceError,
    SurveyReads,
    cycle,
    describe_source,
    formula_of,
    formula_values,
    measure_series,
    unknown_name,
)

logger = logging.getLogger(__name__)
WITHIN_NOISE = "within noise of target"
NO_DATA, NO_TARGET = "no data", "no target"
STATUS_BY_COLOUR = {"green": "on target", "amber": "caution", "red": "off target"}
# A status rule sets a colour, not a score; for roll-ups its colour counts as the middle of its band.
SCORE_OF_RULE_COLOUR = {"green": 100.0, "amber": 50.0, "red": 0.0}
MAX_CASCADE_DEPTH = 5  # department scorecards below department scorecards; deeper is a loop in the definition


# --- scoring one value --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scored:
    """One value scored against its target row: score on 0..100 (None without data or target), colour, status."""

    score: float | None
    colour: str
    status: str
    within_noise: bool
    target: float | None


def target_in_force(targets: Iterable[MeasureTarget], period: str) -> MeasureTarget | None:
    """The target row in force in `period`: the one with the latest from_period on or before it."""
    start = period_days(period)[0]
    in_force = [row for row in targets if period_days(row.from_period)[0] <= start]
    return max(in_force, key=lambda row: period_days(row.from_period)[0], default=None)


def _shown_target(measure: Measure, row: MeasureTarget) -> float | None:
    return row.goal if measure.scoring == "goal_red_flag" and row.target is None else row.target


def _raw_score(measure: Measure, value: float,
               row: MeasureTarget | None) -> tuple[float | None, scoring.StatusRule | None]:
    """The score on 0..100 and, for status rules, the rule that holds; None when the row lacks what the type
    needs (a yes/no measure needs no row)."""
    kind = measure.scoring
    if row is None and kind != "yes_no":
        return None, None
    try:
        if kind == "linear":
            if row.minimum is None or row.maximum is None:
                return None, None
            direction = measure.direction if measure.direction in ("up", "down") else "up"
            return scoring.linear(value, minimum=row.minimum, maximum=row.maximum, direction=direction), None
        if kind == "progress":
            if row.baseline is None or row.target is None:
                return None, None
            return scoring.progress(value, baseline=row.baseline, target=row.target), None
        if kind == "goal_red_flag":
            if row.goal is None or row.red_flag is None:
                return None, None
            # Spider Impact scores 0..10; on 0..100 here so that it rolls up beside the others.
            return 10 * scoring.goal_red_flag(value, goal=row.goal, red_flag=row.red_flag), None
        if kind == "stabilise":
            if None in (row.low, row.high, row.minimum, row.maximum):
                return None, None
            return scoring.stabilise(value, low=row.low, high=row.high, minimum=row.minimum,
                                     maximum=row.maximum), None
        if kind == "yes_no":
            return scoring.yes_no(value), None
        if kind == "status_rules":
            rules = [scoring.StatusRule(rule["when"], rule["status"], rule.get("colour", "none"))
                     for rule in row.rules or []]
            found = scoring.status_by_rules(actual=value, target=row.target, rules=rules)
            if found is None:
                return None, None
            return SCORE_OF_RULE_COLOUR.get(found.colour), found
    except (ValueError, ZeroDivisionError, FormulaError):
        return None, None
    return None, None


def score_value(measure: Measure, value: MeasuredValue, row: MeasureTarget | None) -> Scored:
    """Score one measured value against the target row in force: no confident red or green when the target lies
    inside the value's interval."""
    shown = _shown_target(measure, row) if row else None
    if value.value is None:
        return Scored(None, "none", NO_DATA, False, shown)
    score, rule = _raw_score(measure, value.value, row)
    if rule is not None:
        colour, status = rule.colour, rule.status
    elif score is None:
        return Scored(None, "none", NO_TARGET, False, shown)
    else:
        colour = scoring.colour(scoring.bounded(score))
        status = STATUS_BY_COLOUR.get(colour, NO_TARGET)
    # A stabilised measure's target is its band: an interval across either edge cannot tell inside from outside.
    targets = (row.low, row.high) if measure.scoring == "stabilise" and row else (shown,)
    noisy = any(scoring.within_noise(target=target, ci_low=value.ci_low, ci_high=value.ci_high)
                for target in targets)
    if noisy:
        colour, status = "amber", WITHIN_NOISE
    return Scored(score, colour, status, noisy, shown)


# --- the trend as a control chart ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartSignal:
    """A run rule that fires on the measure's control chart, over these periods."""

    rule: str  # "nelson-1".."nelson-8"
    description: str  # the rule and its direction in words
    periods: tuple[str, ...]


@dataclass(frozen=True)
class TrendChart:
    """An XmR chart over the periods with data: centre line and natural process limits, and its signals."""

    periods: tuple[str, ...]
    values: tuple[float, ...]
    centre: float | None
    lower: float | None
    upper: float | None
    signals: tuple[ChartSignal, ...]


def trend_chart(series: Iterable[MeasuredValue]) -> TrendChart:
    """The individuals chart of the periods with data, and the Nelson signals read on it."""
    points = [value for value in series if value.value is not None]
    periods, observations = tuple(p.period for p in points), tuple(float(p.value) for p in points)
    if len(points) < 2:
        return TrendChart(periods, observations, None, None, None, ())
    chart = xmr_chart(observations=observations).individuals
    signals = tuple(
        ChartSignal(signal.rule.id,
                    signal.rule.description + (f", {signal.direction}wards" if signal.direction else ""),
                    tuple(periods[i] for i in signal.points))
        for signal in nelson_signals(chart=chart))
    return TrendChart(periods, observations, chart.centre[0], chart.lower[0], chart.upper[0], signals)


# --- the series ---------------------------------------------------------------------------------------------------

def measure_period(measure: Measure, period: str) -> str:
    """The measure's own period for a review period: a quarterly measure in a monthly review shows the quarter
    holding the month; a monthly measure in a quarterly review shows the quarter's last month."""
    if period_kind(period) == measure.period:
        return period
    first, last = period_days(period)
    return period_label(first if measure.period == "quarter" else last, measure.period)


class _Series:
    """Each measure's series computed once per evaluation; formula measures from the series of the measures they
    name."""

    def __init__(self, db_session: Session, *, measures: Iterable[Measure], zone: str, min_base: int,
                 now: datetime):
        self.db_session, self.zone, self.min_base, self.now = db_session, zone, min_base, now
        self.by_key: dict[tuple[int, str], Measure] = {(m.scorecard_id, m.key): m for m in measures}
        self.computed: dict[tuple[int | str, tuple[str, ...]], dict[str, MeasuredValue]] = {}
        self.reads = SurveyReads()  # measures on one survey and attribute share one read of the rollups

    def of(self, measure: Measure, periods: list[str], *, naming: tuple[int, ...] = ()) -> dict[str, MeasuredValue]:
        # Two measures reading the same live source (one NPS scored two ways) share one read of it.
        kind = (measure.source or {}).get("kind", "manual")
        by = measure.id if kind in ("manual", "formula") else json.dumps(measure.source, sort_keys=True)
        cache_key = (by, tuple(periods))
        if cache_key not in self.computed:
            if (measure.source or {}).get("kind") == "formula":
                series = self._formula(measure, periods, naming + (measure.id,))
            else:
                series = _measure_series(self.db_session, measure=measure, periods=periods, zone=self.zone,
                                         min_base=self.min_base, now=self.now, reads=self.reads)
            self.computed[cache_key] = series
        return self.computed[cache_key]

    def _formula(self, measure: Measure, periods: list[str], naming: tuple[int, ...]) -> dict[str, MeasuredValue]:
        def empty(error: SourceError) -> dict[str, MeasuredValue]:
            return {p: MeasuredValue(p, None, origin="formula", note=str(error)) for p in periods}
        try:
            formula = formula_of(measure)
        except SourceError as error:
            return empty(error)
        inputs = {}
        for name in formula.names:
            named = self.by_key.get((measure.scorecard_id, name))
            if named is None:
                return empty(unknown_name(name))
            if named.id in naming:
                return empty(cycle(measure.key, [name]))
            inputs[name] = self.of(named, periods, naming=naming)
        return formula_values(formula, inputs, periods)


def _measure_series(db_session: Session, *, measure: Measure, periods: list[str], zone: str, min_base: int,
                    now: datetime, reads: SurveyReads) -> dict[str, MeasuredValue]:
    try:
        return measure_series(db_session, measure=measure, periods=periods, zone=zone, min_base=min_base, now=now,
                              reads=reads)
    except SourceError as error:  # a source the data no longer fits (a survey deleted): said on the measure
        return {p: MeasuredValue(p, None, note=f"{error} ({error.field})") for p in periods}


# --- the whole scorecard ------------------------------------------------------------------------------------------

@dataclass
class _Structure:
    """The rows of one evaluation, each table read once."""

    objectives: list[Objective]
    measures_of: dict[int, list[Measure]]
    targets_of: dict[int, list[MeasureTarget]]
    owners: dict[int, str]
    initiatives_of: dict[int, list[tuple[int, str, str]]]
    cascaded_into: dict[int, list[Objective]]


def _structure(db_session: Session, scorecard: Scorecard) -> _Structure:
    objectives = list(db_session.scalars(select(Objective).where(Objective.scorecard_id == scorecard.id)))
    cascaded_into: dict[int, list[Objective]] = defaultdict(list)
    frontier = [o.id for o in objectives]
    for _ in range(MAX_CASCADE_DEPTH):
        if not frontier:
            break
        below = list(db_session.scalars(select(Objective).where(Objective.rolls_up_to_id.in_(frontier))
                                        .order_by(Objective.position, Objective.id)))
        seen = {o.id for o in objectives}
        below = [o for o in below if o.id not in seen]
        for child in below:
            cascaded_into[child.rolls_up_to_id].append(child)
        objectives += below
        frontier = [o.id for o in below]
    ids = [o.id for o in objectives]
    scorecard_ids = {o.scorecard_id for o in objectives} | {scorecard.id}
    measures = list(db_session.scalars(select(Measure).where(Measure.scorecard_id.in_(scorecard_ids))
                                       .order_by(Measure.position, Measure.id)))
    measures_of: dict[int, list[Measure]] = defaultdict(list)
    for m in measures:
        measures_of[m.objective_id].append(m)
    targets_of: dict[int, list[MeasureTarget]] = defaultdict(list)
    if measures:
        for row in db_session.scalars(select(MeasureTarget).where(
                MeasureTarget.measure_id.in_([m.id for m in measures]))):
            targets_of[row.measure_id].append(row)
    owner_ids = {o.owner_id for o in objectives} | {m.owner_id for m in measures}
    owners = {user.id: user.name or user.email
              for user in db_session.scalars(select(User).where(User.id.in_(owner_ids - {None})))}
    initiatives_of: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    if ids:
        for objective_id, initiative in db_session.execute(
                select(ObjectiveInitiative.objective_id, Initiative)
                .join(Initiative, Initiative.id == ObjectiveInitiative.initiative_id)
                .where(ObjectiveInitiative.objective_id.in_(ids)).order_by(Initiative.id)).all():
            initiatives_of[objective_id].append((initiative.id, initiative.title, initiative.stage))
    return _Structure(objectives, measures_of, targets_of, owners, initiatives_of, cascaded_into)


def _scored_measure(measure: Measure, structure: _Structure, series_of: _Series, period: str,
                    history: int) -> ScoredMeasure:
    own_period = measure_period(measure, period)
    periods = period_series(own_period, max(history, 2))  # the previous period too, for its colour
    series = series_of.of(measure, periods)
    targets = structure.targets_of.get(measure.id, [])
    value = series[own_period]
    scored = score_value(measure, value, target_in_force(targets, own_period))
    previous_period = period_shift(own_period, -1)
    previous = score_value(measure, series[previous_period], target_in_force(targets, previous_period)) \
        if previous_period in series else None
    previous_colour = previous.colour if previous else None
    trend = tuple(series[p] for p in periods)
    signals = ()
    if value.value is not None:
        signals = tuple(s.description for s in trend_chart(trend).signals if own_period in s.periods)
    change_is_signal = None
    if previous_colour not in (None, "none") and scored.colour != "none" and previous_colour != scored.colour:
        change_is_signal = bool(signals)
    return ScoredMeasure(
        measure_id=measure.id, key=measure.key, name=measure.name, unit=measure.unit, direction=measure.direction,
        scoring=measure.scoring, weight=measure.weight, owner=structure.owners.get(measure.owner_id),
        source=describe_source(measure.source or {}), value=value, target=scored.target, score=scored.score,
        colour=scored.colour, status=scored.status, within_noise=scored.within_noise,
        previous_colour=previous_colour, change_is_signal=change_is_signal, trend=trend, signals=signals)


def _rolled_up(scores: list[float | None], weights: list[float]) -> tuple[float | None, str]:
    score = scoring.roll_up([None if s is None else scoring.bounded(s) for s in scores], weights)
    return score, scoring.colour(score)


def _scored_objective(objective: Objective, structure: _Structure, series_of: _Series, period: str,
                      history: int) -> ScoredObjective:
    measures = tuple(_scored_measure(m, structure, series_of, period, history)
                     for m in structure.measures_of.get(objective.id, []))
    cascaded = tuple(_scored_objective(child, structure, series_of, period, history)
                     for child in structure.cascaded_into.get(objective.id, []))
    score, colour = _rolled_up([m.score for m in measures] + [c.score for c in cascaded],
                               [m.weight for m in measures] + [c.weight for c in cascaded])
    return ScoredObjective(
        objective_id=objective.id, key=objective.key, name=objective.name,
        owner=structure.owners.get(objective.owner_id), weight=objective.weight, score=score, colour=colour,
        measures=measures, cascaded=cascaded, initiatives=tuple(structure.initiatives_of.get(objective.id, [])))


def locked_snapshot(db_session: Session, *, scorecard: Scorecard, period: str) -> ScorecardResult | None:
    """The scorecard as it was scored when the period's review was locked, or None while it is open."""
    review = db_session.scalars(select(Review).where(Review.scorecard_id == scorecard.id,
                                                     Review.period == period)).first()
    if review is None or review.locked_at is None or not review.snapshot:
        return None
    try:
        return replace(result_from_json(review.snapshot), locked=True)
    except SnapshotError as error:
        # Better live values, said as not locked, than a page that fails: the lock itself still holds.
        logger.warning("the snapshot of %s for %s cannot be read (%s); scoring it live", scorecard.key, period, error)
        return None


def evaluate(db_session: Session, *, scorecard: Scorecard, period: str, zone: str, min_base: int, now: datetime,
             history: int = 12) -> ScorecardResult:
    """Score the scorecard for a period (its snapshot once the period's review is locked); DaysError for a period
    that is not one."""
    period_kind(period)
    snapshot = locked_snapshot(db_session, scorecard=scorecard, period=period)
    if snapshot is not None:
        return snapshot
    structure = _structure(db_session, scorecard)
    series_of = _Series(db_session, measures=(m for ms in structure.measures_of.values() for m in ms), zone=zone,
                        min_base=min_base, now=now)
    perspectives = db_session.scalars(select(Perspective).where(Perspective.scorecard_id == scorecard.id)
                                      .order_by(Perspective.position, Perspective.id)).all()
    own = sorted((o for o in structure.objectives if o.scorecard_id == scorecard.id),
                 key=lambda o: (o.position, o.id))
    scored_perspectives = []
    for perspective in perspectives:
        objectives = tuple(_scored_objective(o, structure, series_of, period, history)
                           for o in own if o.perspective_id == perspective.id)
        score, colour = _rolled_up([o.score for o in objectives], [o.weight for o in objectives])
        scored_perspectives.append(ScoredPerspective(
            perspective_id=perspective.id, key=perspective.key, name=perspective.name, score=score, colour=colour,
            objectives=objectives))
    # Kaplan and Norton weigh the perspectives alike unless a scorecard says otherwise; ours do not say.
    score, colour = _rolled_up([p.score for p in scored_perspectives], [1.0] * len(scored_perspectives))
    return ScorecardResult(scorecard_id=scorecard.id, key=scorecard.key, name=scorecard.name, period=period,
                           score=score, colour=colour, locked=False, perspectives=tuple(scored_perspectives))


def review_period(now: datetime, zone: str, kind: str) -> str:
    """The last month or quarter that has ended in the time zone `zone`: the one a review looks at."""
    return period_shift(period_label(now.astimezone(ZoneInfo(zone)).date(), kind), -1)


# --- one measure, in detail ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetInForce:
    """The target and thresholds in force in one period (None where no target row applies yet)."""

    period: str
    target: float | None = None
    baseline: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    goal: float | None = None
    red_flag: float | None = None
    low: float | None = None
    high: float | None = None
    rules: tuple[dict, ...] = ()


@dataclass(frozen=True)
class MeasureDetail:
    """A measure's page: the scored period, the series behind it with the targets in force, and its control chart."""

    measure: ScoredMeasure
    series: tuple[MeasuredValue, ...]
    targets: tuple[TargetInForce, ...]  # one per period of the series
    chart: TrendChart


def measure_detail(db_session: Session, *, measure: Measure, period: str, zone: str, min_base: int, now: datetime,
                   history: int = 24) -> MeasureDetail:
    """The measure for a review period, with its series over `history` periods, targets and control chart."""
    period_kind(period)
    scorecard = db_session.get(Scorecard, measure.scorecard_id)
    structure = _structure(db_session, scorecard)
    siblings = [m for ms in structure.measures_of.values() for m in ms]
    series_of = _Series(db_session, measures=siblings, zone=zone, min_base=min_base, now=now)
    scored = _scored_measure(measure, structure, series_of, period, history)
    targets = structure.targets_of.get(measure.id, [])

    def in_force(p: str) -> TargetInForce:
        row = target_in_force(targets, p)
        if row is None:
            return TargetInForce(p)
        return TargetInForce(p, row.target, row.baseline, row.minimum, row.maximum, row.goal, row.red_flag, row.low,
                             row.high, tuple(row.rules or ()))

    return MeasureDetail(measure=scored, series=scored.trend, targets=tuple(in_force(v.period) for v in scored.trend),
                         chart=trend_chart(scored.trend))


# --- a result as JSON, for the locked snapshot -------------------------------------------------------------------

def _plain(value):
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def result_to_json(result: ScorecardResult) -> dict:
    """The scored scorecard as plain JSON (what a locked review keeps)."""
    return _plain(result)


class SnapshotError(ValueError):
    """A stored snapshot that cannot be read back as a scored scorecard."""


# A field a snapshot of an older shape lacks takes its dataclass default, else the value of "nothing known".
_MISSING = {"colour": "none", "status": NO_DATA, "unit": "", "direction": "up", "scoring": "linear", "weight": 1.0,
            "source": "", "key": "", "name": "", "period": "", "locked": True, "within_noise": False}


def _built(cls, data, nested: dict | None = None):
    """A dataclass from a snapshot's mapping: unknown fields ignored, missing ones defaulted, nested ones built."""
    if not isinstance(data, dict):
        raise SnapshotError(f"a {cls.__name__} in the snapshot is {type(data).__name__}, not a mapping")
    given = {}
    for f in fields(cls):
        if f.name in data:
            given[f.name] = data[f.name]
        elif f.name in _MISSING:
            given[f.name] = _MISSING[f.name]
        elif f.default is MISSING and f.default_factory is MISSING:
            given[f.name] = None
    for name, build in (nested or {}).items():
        if name in given:
            given[name] = build(given[name])
    for f in fields(cls):  # a number of another type would fail later, on the page
        number = given.get(f.name)
        if f.type in ("float | None", "float", "int | None", "int") and number is not None and (
                isinstance(number, bool) or not isinstance(number, int | float)):
            raise SnapshotError(f"{cls.__name__}.{f.name} in the snapshot is {number!r}, not a number")
    return cls(**given)


def _many(build):
    def each(items):
        if items is None:
            return ()
        if not isinstance(items, list | tuple):
            raise SnapshotError(f"a list in the snapshot is {type(items).__name__}")
        return tuple(build(item) for item in items)
    return each


def _measured(data) -> MeasuredValue:
    return _built(MeasuredValue, data)


def _measure_from(data) -> ScoredMeasure:
    return _built(ScoredMeasure, data, {"value": lambda v: _measured(v if v is not None else {}),
                                        "trend": _many(_measured), "signals": _many(str)})


def _objective_from(data) -> ScoredObjective:
    return _built(ScoredObjective, data, {"measures": _many(_measure_from), "cascaded": _many(_objective_from),
                                          "initiatives": _many(tuple)})


def result_from_json(data: dict) -> ScorecardResult:
    """A scored scorecard from result_to_json's JSON, of this shape or an older one (fields it lacks take their
    defaults, fields it has that are no longer known are ignored); SnapshotError when it cannot be read at all."""
    perspective = lambda p: _built(ScoredPerspective, p, {"objectives": _many(_objective_from)})  # noqa: E731
    try:
        return _built(ScorecardResult, data, {"perspectives": _many(perspective)})
    except (TypeError, ValueError) as error:  # a value of the wrong type deeper down
        raise SnapshotError(f"the snapshot cannot be read: {error}") from None


# --- a result as a table (the CLI's table and CSV, the CSV export) ----------------------------------------------

SCORE_TABLE_HEADER = ("perspective", "objective", "measure", "unit", "period", "value", "n", "ci_low", "ci_high",
                      "target", "score", "colour", "status", "within_noise", "change_is_signal", "signals")


def shown_score(measure: ScoredMeasure) -> str:
    """The score as a person reads it: '25.00' on 0..100, or '6.67 / 10' for goal / red flag scoring; '–' for
    none."""
    if measure.score is None:
        return "–"
    return f"{measure.score / 10:.2f} / 10" if measure.scoring == "goal_red_flag" else f"{measure.score:.2f}"


def score_table(result: ScorecardResult) -> tuple[tuple[str, ...], list[list]]:
    """One row per measure (cascaded objectives' measures under their parent objective): header and rows."""
    rows = []

    def add(perspective: ScoredPerspective, objective: ScoredObjective, under: str = "") -> None:
        for m in objective.measures:
            rows.append([perspective.name, under + objective.name, m.name, m.unit, m.value.period, m.value.value,
                         m.value.n, m.value.ci_low, m.value.ci_high, m.target,
                         None if m.score is None else round(m.score, 2), m.colour, m.status, m.within_noise,
                         m.change_is_signal, "; ".join(m.signals)])
        for child in objective.cascaded:
            add(perspective, child, under + objective.name + " › ")

    for perspective in result.perspectives:
        for objective in perspective.objectives:
            add(perspective, objective)
    return SCORE_TABLE_HEADER, rows
