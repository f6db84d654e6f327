"""What a measure shows for a period, and what a scored scorecard is: the shapes the sources, the evaluation, the
strategy map, the pages, the PDF and the JSON twins share.

A period with no data is a MeasuredValue whose `value` is None: it is shown as such and left out of every
roll-up, never counted as zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MeasuredValue:
    """A measure's value for one period ('2026-11' or '2026-Q4') with its n and interval where it was counted."""

    period: str
    value: float | None  # None: no data for the period
    n: int | None = None  # responses, customers or cases counted; None for a value typed in without one
    ci_low: float | None = None
    ci_high: float | None = None
    low_base: bool = False
    origin: str = "live"  # live | manual | csv | formula
    note: str = ""  # why there is no value, or the entered value's comment

    @property
    def has_data(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class ScoredMeasure:
    """One measure in one period: its value, target, score and status, and the trend behind it."""

    measure_id: int
    key: str
    name: str
    unit: str
    direction: str  # up | down | middle
    scoring: str  # linear | progress | goal_red_flag | status_rules | stabilise | yes_no
    weight: float
    owner: str | None  # the owner's name or e-mail
    source: str  # the source in words: "NPS of relationship-nps (question nps), where segment is b2b"
    value: MeasuredValue
    target: float | None
    score: float | None  # 0..100; None without data (goal/red flag's 0..10 is shown as such, rolled up ×10)
    colour: str  # green | amber | red | none (no data or no target)
    status: str  # in words: "above target", "caution", "below plan", "within noise of target", "no data"
    within_noise: bool  # the target lies inside the value's interval: no confident red or green
    previous_colour: str | None  # the previous period's colour
    change_is_signal: bool | None  # a colour change the control chart calls a signal (None: no change)
    trend: tuple[MeasuredValue, ...] = ()  # the periods before and including this one, oldest first
    signals: tuple[str, ...] = ()  # the control chart's run rules that fire on this period, in words


@dataclass(frozen=True)
class ScoredObjective:
    objective_id: int
    key: str
    name: str
    owner: str | None
    weight: float
    score: float | None  # the weighted roll-up of its measures (and cascaded objectives) that have data
    colour: str
    measures: tuple[ScoredMeasure, ...] = ()
    cascaded: tuple[ScoredObjective, ...] = ()  # department objectives that roll up into this one
    initiatives: tuple[tuple[int, str, str], ...] = ()  # (initiative id, title, stage)


@dataclass(frozen=True)
class ScoredPerspective:
    perspective_id: int
    key: str
    name: str
    score: float | None
    colour: str
    objectives: tuple[ScoredObjective, ...] = ()


@dataclass(frozen=True)
class ScorecardResult:
    scorecard_id: int
    key: str
    name: str
    period: str
    score: float | None
    colour: str
    locked: bool  # a locked review's snapshot, not live values
    perspectives: tuple[ScoredPerspective, ...] = field(default_factory=tuple)
