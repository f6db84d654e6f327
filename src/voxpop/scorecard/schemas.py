"""The API shapes of a scored scorecard and of a measure's detail, mirroring scorecard.measured: the pages and their
JSON twins are filled from one ScorecardResult, so what a person sees is what a script fetches."""

from __future__ import annotations

from pydantic import BaseModel, Field

from voxpop.scorecard.evaluation import MeasureDetail
from voxpop.scorecard.measured import MeasuredValue, ScorecardResult, ScoredMeasure, ScoredObjective

COLOUR = "green, amber or red from the score (red below 33.33, amber below 66.67), or none without a score."


class MeasuredValuePublic(BaseModel):
    """A measure's value for one period, with its n and interval where it was counted."""

    period: str = Field(description="'2026-11' (a month) or '2026-Q4' (a quarter).")
    value: float | None = Field(description="Null: no data for the period, left out of every roll-up.")
    n: int | None = Field(None, description="Responses, customers or cases counted; null for a typed-in value.")
    ci_low: float | None = None
    ci_high: float | None = None
    low_base: bool = Field(False, description="n is below the workspace's minimum base.")
    origin: str = Field("live", description="live, manual, csv or formula.")
    note: str = Field("", description="Why there is no value, or the entered value's comment.")

    @classmethod
    def of(cls, value: MeasuredValue) -> MeasuredValuePublic:
        return cls(period=value.period, value=value.value, n=value.n, ci_low=value.ci_low, ci_high=value.ci_high,
                   low_base=value.low_base, origin=value.origin, note=value.note)


class ScoredMeasurePublic(BaseModel):
    id: int
    key: str
    name: str
    unit: str
    direction: str = Field(description="up, down or middle.")
    scoring: str = Field(description="linear, progress, goal_red_flag, status_rules, stabilise or yes_no.")
    weight: float
    owner: str | None
    source: str = Field(description="Where the value comes from, in words.")
    value: MeasuredValuePublic
    target: float | None
    score: float | None = Field(description="0..100 (a goal / red flag measure's 0..10 ×10); null without data or "
                                            "target. Linear and progress may pass 100; roll-ups clamp to 0..100.")
    colour: str = Field(description=COLOUR)
    status: str = Field(description="In words: on target, caution, off target, a status rule's words, within noise "
                                    "of target, no data, no target.")
    within_noise: bool = Field(description="The target lies inside the value's interval: no confident red or green.")
    previous_colour: str | None = Field(description="The previous period's colour.")
    change_is_signal: bool | None = Field(description="The colour changed and the control chart flags this period "
                                                      "(false: likely noise); null when the colour did not change.")
    signals: list[str] = Field(description="The control chart's run rules that fire on this period, in words.")
    trend: list[MeasuredValuePublic] = Field(description="The periods up to and including this one, oldest first.")

    @classmethod
    def of(cls, measure: ScoredMeasure) -> ScoredMeasurePublic:
        return cls(id=measure.measure_id, key=measure.key, name=measure.name, unit=measure.unit,
                   direction=measure.direction, scoring=measure.scoring, weight=measure.weight, owner=measure.owner,
                   source=measure.source, value=MeasuredValuePublic.of(measure.value), target=measure.target,
                   score=measure.score, colour=measure.colour, status=measure.status,
                   within_noise=measure.within_noise, previous_colour=measure.previous_colour,
                   change_is_signal=measure.change_is_signal, signals=list(measure.signals),
                   trend=[MeasuredValuePublic.of(value) for value in measure.trend])


class InitiativeRefPublic(BaseModel):
    id: int
    title: str
    stage: str = Field(description="plan, do, check, act or closed.")


class ScoredObjectivePublic(BaseModel):
    id: int
    key: str
    name: str
    owner: str | None
    weight: float
    score: float | None = Field(description="Weighted roll-up of its measures and cascaded objectives with data.")
    colour: str = Field(description=COLOUR)
    measures: list[ScoredMeasurePublic]
    cascaded: list[ScoredObjectivePublic] = Field(description="Department objectives that roll up into this one.")
    initiatives: list[InitiativeRefPublic]

    @classmethod
    def of(cls, objective: ScoredObjective) -> ScoredObjectivePublic:
        return cls(id=objective.objective_id, key=objective.key, name=objective.name, owner=objective.owner,
                   weight=objective.weight, score=objective.score, colour=objective.colour,
                   measures=[ScoredMeasurePublic.of(m) for m in objective.measures],
                   cascaded=[cls.of(c) for c in objective.cascaded],
                   initiatives=[InitiativeRefPublic(id=i, title=title, stage=stage)
                                for i, title, stage in objective.initiatives])


class ScoredPerspectivePublic(BaseModel):
    id: int
    key: str
    name: str
    score: float | None = Field(description="Roll-up of its objectives with data, by objective weight.")
    colour: str = Field(description=COLOUR)
    objectives: list[ScoredObjectivePublic]


class ScorecardPublic(BaseModel):
    id: int
    key: str
    name: str
    period: str
    score: float | None = Field(description="Roll-up of the perspectives with data, weighed alike.")
    colour: str = Field(description=COLOUR)
    locked: bool = Field(description="The period's review is locked: these are the scores taken at the lock.")
    perspectives: list[ScoredPerspectivePublic]


def scorecard_public(result: ScorecardResult) -> ScorecardPublic:
    """The scored scorecard as its JSON twin returns it."""
    return ScorecardPublic(
        id=result.scorecard_id, key=result.key, name=result.name, period=result.period, score=result.score,
        colour=result.colour, locked=result.locked,
        perspectives=[ScoredPerspectivePublic(id=p.perspective_id, key=p.key, name=p.name, score=p.score,
                                              colour=p.colour,
                                              objectives=[ScoredObjectivePublic.of(o) for o in p.objectives])
                      for p in result.perspectives])


class TargetInForcePublic(BaseModel):
    period: str
    target: float | None = None
    baseline: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    goal: float | None = None
    red_flag: float | None = None
    low: float | None = None
    high: float | None = None
    rules: list[dict] = Field(default_factory=list, description="Ordered status rules: when, status, colour.")


class ChartSignalPublic(BaseModel):
    rule: str = Field(description="nelson-1 .. nelson-8.")
    description: str
    periods: list[str]


class TrendChartPublic(BaseModel):
    """An XmR (individuals) chart over the periods with data."""

    periods: list[str]
    values: list[float]
    centre: float | None = Field(description="Null with fewer than 2 periods with data.")
    lower: float | None = Field(description="Centre − 2.66 × the mean moving range.")
    upper: float | None
    signals: list[ChartSignalPublic]


class MeasureDetailPublic(BaseModel):
    measure: ScoredMeasurePublic
    series: list[MeasuredValuePublic]
    targets: list[TargetInForcePublic] = Field(description="The target and thresholds in force, one per period.")
    chart: TrendChartPublic

    @classmethod
    def of(cls, detail: MeasureDetail) -> MeasureDetailPublic:
        chart = detail.chart
        return cls(
            measure=ScoredMeasurePublic.of(detail.measure),
            series=[MeasuredValuePublic.of(v) for v in detail.series],
            targets=[TargetInForcePublic(period=t.period, target=t.target, baseline=t.baseline, minimum=t.minimum,
                                         maximum=t.maximum, goal=t.goal, red_flag=t.red_flag, low=t.low, high=t.high,
                                         rules=list(t.rules)) for t in detail.targets],
            chart=TrendChartPublic(periods=list(chart.periods), values=list(chart.values), centre=chart.centre,
                                   lower=chart.lower, upper=chart.upper,
                                   signals=[ChartSignalPublic(rule=s.rule, description=s.description,
                                                              periods=list(s.periods)) for s in chart.signals]))


def measure_detail_public(detail: MeasureDetail) -> MeasureDetailPublic:
    """A measure's detail as its JSON twin returns it."""
    return MeasureDetailPublic.of(detail)
