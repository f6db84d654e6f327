"""Scoring a measure against its target, as the balanced-scorecard tools document it, and rolling scores up.

Linear and progress give the anchors' percentage unclamped (past the target is over 100%); `bounded` clamps a
score to 0..100 for roll-ups and colours. Goal / red flag is on Spider Impact's 0..10 and clamps there; a
roll-up reads it ×10. Colours come from the score as it is shown, to two decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from voxpop.core.formula import Formula, FormulaError, evaluate, parse_formula

DIRECTIONS = ("up", "down")
COLOURS = ("green", "amber", "red", "none")
RED_BELOW = 33.33  # the score as shown; a goal/red flag measure at its red flag (3.33 / 10) is amber, not red
AMBER_BELOW = 66.67  # and at its goal (6.67 / 10) green
OTHERWISE = "otherwise"  # a status rule that always holds, ClearPoint's last line
RULE_NAMES = frozenset({"actual", "target"})


def linear(value: float, *, minimum: float, maximum: float, direction: str = "up") -> float:
    """Percent of the range: (V − Min)/(Max − Min), or (Max − V)/(Max − Min) to minimise (BSC Designer "linear
    performance")."""
    if direction not in DIRECTIONS:
        raise ValueError(f"linear scoring takes the direction 'up' or 'down', not '{direction}'")
    if maximum == minimum:
        raise ValueError(f"linear scoring needs a maximum different from the minimum (both are {minimum:g})")
    share = (value - minimum) if direction == "up" else (maximum - value)
    return 100.0 * (share / (maximum - minimum))


def progress(value: float, *, baseline: float, target: float) -> float:
    """Percent of the way from baseline to target: (V − Baseline)/(Target − Baseline); a target below the
    baseline means lower is better (BSC Designer "progress")."""
    if target == baseline:
        raise ValueError(f"progress scoring needs a target different from the baseline (both are {target:g})")
    return 100.0 * ((value - baseline) / (target - baseline))


def goal_red_flag(value: float, *, goal: float, red_flag: float) -> float:
    """0..10: clamp(10/3 + (10/3)·(V − RF)/(G − RF), 0, 10); a goal below the red flag means lower is better
    (Spider Impact "Goal/Red Flag" scoring)."""
    if goal == red_flag:
        raise ValueError(f"goal / red flag scoring needs a goal different from the red flag (both are {goal:g})")
    score = 10 / 3 + (10 / 3) * ((value - red_flag) / (goal - red_flag))
    return min(10.0, max(0.0, score))


def stabilise(value: float, *, low: float, high: float, minimum: float, maximum: float) -> float:
    """Best in the middle: 100 inside [low, high], falling linearly to 0 at minimum below and at maximum above
    (BSC Designer "linear performance" on each side of the band)."""
    if not minimum < low <= high < maximum:
        raise ValueError("stabilise scoring needs minimum < low ≤ high < maximum; got "
                         f"minimum {minimum:g}, low {low:g}, high {high:g}, maximum {maximum:g}")
    if value < low:
        return max(0.0, linear(value, minimum=minimum, maximum=low))
    if value > high:
        return max(0.0, linear(value, minimum=high, maximum=maximum, direction="down"))
    return 100.0


def yes_no(value: float | bool) -> float:
    """100 for yes (1), 0 for no (0) (BSC Designer's binary "yes/no" measure)."""
    if value not in (0, 1):
        raise ValueError(f"a yes/no measure takes 1 (yes) or 0 (no), not {value!r}")
    return 100.0 if value else 0.0


def bounded(percent: float) -> float:
    """The score clamped to 0..100, so one measure far past its target cannot carry a roll-up alone."""
    return min(100.0, max(0.0, percent))


def roll_up(scores: Sequence[float | None], weights: Sequence[float]) -> float | None:
    """Weighted mean over the children with data, normalised by their weights only; None when none has data
    (BSC Designer "weighted average" performance of a container)."""
    if len(scores) != len(weights):
        raise ValueError(f"a roll-up needs one weight per score; got {len(scores)} scores and {len(weights)} weights")
    if any(weight < 0 for weight in weights):
        raise ValueError("a roll-up's weights must be zero or more; set a negative weight to 0 to leave it out")
    pairs = [(score, weight) for score, weight in zip(scores, weights, strict=True) if score is not None]
    total = sum(weight for _, weight in pairs)
    if not total:
        return None
    return sum(score * weight for score, weight in pairs) / total


def colour(score: float | None) -> str:
    """Red below 33.33, amber below 66.67, green from 66.67, on the score as shown to two decimals; "none"
    without a score (the thresholds split 0..100 in thirds, as Spider Impact's 0..10 scale does)."""
    if score is None:
        return "none"
    shown = round(score, 2)
    if shown < RED_BELOW:
        return "red"
    return "amber" if shown < AMBER_BELOW else "green"


def within_noise(*, target: float | None, ci_low: float | None, ci_high: float | None) -> bool:
    """True when the target lies inside the value's interval (inclusive): the data cannot tell it from target."""
    if target is None or ci_low is None or ci_high is None:
        return False
    return ci_low <= target <= ci_high


@dataclass(frozen=True)
class StatusRule:
    """One ordered status rule: a condition over `actual` and `target` ("actual >= 0.9 * target", or
    "otherwise"), the status it sets in words, and its colour."""

    when: str
    status: str
    colour: str

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise ValueError(f"the status rule '{self.when}' has the colour '{self.colour}'; "
                             f"use one of {', '.join(COLOURS)}")
        if not self.status.strip():
            raise ValueError(f"the status rule '{self.when}' needs a status in words, such as 'caution'")
        if self.when.strip() != OTHERWISE:
            unknown = [name for name in _condition(self.when).names if name not in RULE_NAMES]
            if unknown:
                raise FormulaError(f"the status rule '{self.when}' reads '{unknown[0]}'; a rule can read only "
                                   "actual and target")


@lru_cache(maxsize=256)
def _condition(when: str) -> Formula:
    return parse_formula(when)


def status_by_rules(*, actual: float | None, target: float | None, rules: Sequence[StatusRule]) -> StatusRule | None:
    """The first rule that holds, in order; None when none holds or there is no actual (ClearPoint "status
    calculations"). A rule that cannot be computed for this period (it reads a target the period does not have,
    or divides by zero) is passed over."""
    if actual is None:
        return None
    values = {"actual": actual} if target is None else {"actual": actual, "target": target}
    for rule in rules:
        if rule.when.strip() == OTHERWISE:
            return rule
        condition = _condition(rule.when)
        if not all(name in values for name in condition.names):
            continue
        try:
            holds = evaluate(condition, values)
        except FormulaError:
            continue
        if holds:
            return rule
    return None
