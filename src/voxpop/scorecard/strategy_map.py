"""Each arrow of the strategy map tested on the data: the cause's and the effect's measure series (and, where the
link names a unit attribute, the series per unit), the lagged correlation at the declared lag, the
cross-correlation over lags, the pooled regression across units, and a verdict in a plain sentence.
The statistics are voxpop.core.lagged's; this module reads the series and says what they found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.analysis.periods import period_days, period_kind, period_label, period_series
from voxpop.core import lagged
from voxpop.core.wording import counted
from voxpop.scorecard.models import Link, Measure, Objective, Scorecard
from voxpop.scorecard.sources import SourceError, SurveyReads, measure_series, unit_series

MAX_LAG = 6  # the cross-correlation looks this many periods ahead (or to the declared lag, if further)
POLARITY_WORDS = {1: "more cause, more effect", -1: "more cause, less effect"}


@dataclass(frozen=True)
class LinkTest:
    """One cause-and-effect link, as declared and as the data found it."""

    link_id: int
    cause_objective_id: int
    effect_objective_id: int
    cause: str  # the objectives' names
    effect: str
    cause_measure: str | None  # the measures whose series were tested; None when the objective has none
    effect_measure: str | None
    period_kind: str  # month | quarter: what a lag counts
    polarity: int  # +1 | -1
    lag: int
    strength: str  # weak | moderate | strong
    needed: int  # pairs of periods needed to see a link of the declared strength 8 times in 10
    lagged: lagged.LaggedCorrelation | None  # at the declared lag
    cross: tuple[lagged.LaggedCorrelation, ...]  # lags 0..K
    strongest_lag: int | None
    unit_attribute: str | None
    pooled: lagged.PooledSlope | None
    verdict: str  # supported | contradicted | not enough periods | no link found
    sentence: str


def _first_measures(db_session: Session, scorecard: Scorecard) -> dict[int, Measure]:
    measures = db_session.scalars(select(Measure).where(Measure.scorecard_id == scorecard.id)
                                  .order_by(Measure.position, Measure.id)).all()
    first: dict[int, Measure] = {}
    for measure in measures:
        first.setdefault(measure.objective_id, measure)
    return first


def _labels(period: str, kind: str, count: int) -> list[str]:
    """The `count` periods of `kind` ending with the one holding `period`'s last day."""
    return period_series(period_label(period_days(period)[1], kind), count)


def _values(series: dict, labels: list[str]) -> list[float | None]:
    return [series[label].value if label in series else None for label in labels]


def _interval(low: float, high: float, digits: int = 2) -> str:
    return f"{low:.{digits}f} to {high:.{digits}f}"


def _say(*, verdict: str, kind: str, lag: int, strength: str, needed: int, n: int,
         at_lag: lagged.LaggedCorrelation | None, pooled: lagged.PooledSlope | None, strongest: int | None,
         polarity: int, attribute: str | None) -> str:
    later = "in the same " + kind if lag == 0 else counted(lag, kind) + " later"
    pairs = counted(n, f"pair of {kind}s", f"pairs of {kind}s")
    if pooled is not None:
        found = (f"pooled over {counted(pooled.units, f'{attribute} unit')}, the effect {later} moves {pooled.slope:.3g} for each 1 "
                 f"the cause moves (95% CI {_interval(pooled.ci_low, pooled.ci_high, 3)}, p {pooled.p:.3f}) over {pairs}")
    elif at_lag is not None and at_lag.r is not None and at_lag.ci_low is not None:
        found = f"r {at_lag.r:.2f} with the effect {later} (95% CI {_interval(at_lag.ci_low, at_lag.ci_high)}) " \
                f"over {pairs}"
    else:
        found = f"only {pairs} with data on both sides"
    if verdict == lagged.SUPPORTED:
        text = f"Supported: {found}."
    elif verdict == lagged.CONTRADICTED:
        text = (f"Contradicted: declared {POLARITY_WORDS[polarity]}, but the data show the opposite sign; "
                f"{found}.")
    elif verdict == lagged.NOT_ENOUGH:
        text = (f"Not enough periods to tell: {found}; a {strength} link needs {counted(needed, 'pair')} "
                "to be seen 8 times in 10.")
    else:
        text = f"No link found: {found}, enough to see a {strength} link 8 times in 10."
    if strongest is not None and strongest != lag:
        text += f" The cross-correlation is strongest at a lag of {counted(strongest, kind)}."
    return text


def test_link(db_session: Session, *, link: Link, objectives: dict[int, Objective], first: dict[int, Measure],
              period: str, zone: str, min_base: int, now: datetime, periods: int = 24,
              reads: SurveyReads | None = None) -> LinkTest:
    """One link tested on its measures' series over `periods` periods ending at `period`; `reads` shares the
    sources' reads across the links of one map."""
    cause_measure = db_session.get(Measure, link.cause_measure_id) if link.cause_measure_id else \
        first.get(link.cause_id)
    effect_measure = db_session.get(Measure, link.effect_measure_id) if link.effect_measure_id else \
        first.get(link.effect_id)
    needed = lagged.periods_needed(link.strength if link.strength in lagged.STRENGTHS else "moderate")
    kind = (effect_measure.period if effect_measure else None) or period_kind(period)
    declared = dict(link_id=link.id, cause_objective_id=link.cause_id, effect_objective_id=link.effect_id,
                    cause=objectives[link.cause_id].name, effect=objectives[link.effect_id].name,
                    cause_measure=cause_measure.name if cause_measure else None,
                    effect_measure=effect_measure.name if effect_measure else None, period_kind=kind,
                    polarity=1 if link.polarity >= 0 else -1, lag=link.lag, strength=link.strength, needed=needed,
                    unit_attribute=link.unit_attribute)
    if cause_measure is None or effect_measure is None:
        missing = objectives[link.cause_id if cause_measure is None else link.effect_id].name
        return LinkTest(**declared, lagged=None, cross=(), strongest_lag=None, pooled=None,
                        verdict=lagged.NOT_ENOUGH,
                        sentence=f"Not enough periods to tell: the objective {missing!r} has no measure to test.")
    if cause_measure.period != effect_measure.period:
        return LinkTest(**declared, lagged=None, cross=(), strongest_lag=None, pooled=None,
                        verdict=lagged.NOT_ENOUGH,
                        sentence=f"Not enough periods to tell: {cause_measure.name!r} is measured by "
                                 f"{cause_measure.period} and {effect_measure.name!r} by {effect_measure.period}; "
                                 "link measures of the same period to test the arrow.")
    labels = _labels(period, kind, periods)
    read = dict(periods=labels, zone=zone, min_base=min_base, now=now, reads=reads or SurveyReads())
    try:
        cause_series = measure_series(db_session, measure=cause_measure, **read)
        effect_series = measure_series(db_session, measure=effect_measure, **read)
    except SourceError as error:  # a source the data no longer fits (a survey deleted): said, not a 500
        return LinkTest(**declared, lagged=None, cross=(), strongest_lag=None, pooled=None,
                        verdict=lagged.NOT_ENOUGH,
                        sentence=f"Not enough periods to tell: a measure's source cannot be read: {error} "
                                 f"({error.field}).")
    for measure, series in ((cause_measure, cause_series), (effect_measure, effect_series)):
        if all(series[label].value is None for label in labels if label in series):
            notes = sorted({series[label].note for label in labels if label in series and series[label].note})
            return LinkTest(**declared, lagged=None, cross=(), strongest_lag=None, pooled=None,
                            verdict=lagged.NOT_ENOUGH,
                            sentence=f"Not enough periods to tell: {measure.name!r} has no value in the "
                                     f"{counted(len(labels), kind)} up to {labels[-1]}"
                                     + (f" ({notes[0]})." if len(notes) == 1 else "."))
    cause, effect = _values(cause_series, labels), _values(effect_series, labels)
    cross = lagged.cross_correlation(cause, effect, max_lag=max(MAX_LAG, link.lag))
    at_lag = cross[link.lag]
    strongest = lagged.strongest_lag(cross)
    pooled, unit_note = None, ""
    if link.unit_attribute:
        try:
            cause_units = unit_series(db_session, measure=cause_measure, attribute=link.unit_attribute, **read)
            effect_units = unit_series(db_session, measure=effect_measure, attribute=link.unit_attribute, **read)
        except SourceError as error:
            unit_note = f" No pooled test by {link.unit_attribute}: {error}"
        else:
            pooled = lagged.pooled_regression({unit: _values(values, labels) for unit, values in cause_units.items()},
                                              {unit: _values(values, labels) for unit, values in effect_units.items()},
                                              lag=link.lag)
            if pooled is None:
                unit_note = f" No pooled test by {link.unit_attribute}: fewer than two units have data on both sides."
    if pooled is not None:
        n, low, high = pooled.n, pooled.ci_low, pooled.ci_high
    else:
        n, low, high = at_lag.n, at_lag.ci_low, at_lag.ci_high
    verdict = lagged.verdict(polarity=declared["polarity"], ci_low=low, ci_high=high, n=n, needed=needed)
    sentence = _say(verdict=verdict, kind=kind, lag=link.lag, strength=link.strength, needed=needed, n=n,
                    at_lag=at_lag, pooled=pooled, strongest=strongest, polarity=declared["polarity"],
                    attribute=link.unit_attribute) + unit_note
    return LinkTest(**declared, lagged=at_lag, cross=cross, strongest_lag=strongest, pooled=pooled, verdict=verdict,
                    sentence=sentence)


def test_links(db_session: Session, *, scorecard: Scorecard, period: str, zone: str, min_base: int, now: datetime,
               periods: int = 24) -> list[LinkTest]:
    """Every link of the scorecard tested on its measures' series over `periods` periods ending at `period`."""
    period_kind(period)  # DaysError naming the period when it is not one
    links = db_session.scalars(select(Link).where(Link.scorecard_id == scorecard.id).order_by(Link.id)).all()
    objectives = {objective.id: objective for objective in
                  db_session.scalars(select(Objective).where(Objective.scorecard_id == scorecard.id))}
    first = _first_measures(db_session, scorecard)
    reads = SurveyReads()  # two links from one measure, or loop measures of one department, read it once
    return [test_link(db_session, link=link, objectives=objectives, first=first, period=period, zone=zone,
                      min_base=min_base, now=now, periods=periods, reads=reads) for link in links]


test_link.__test__ = False  # pytest: these are the strategy map's tests of the data, not unit tests
test_links.__test__ = False
