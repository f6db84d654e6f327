"""Raking: unit weights fitted so that the weighted sample reproduces known margins on several categorical
variables at once, and Kish's effective sample size of the result. Pure: labels and targets in, weights out.

Raking is iterative proportional fitting (Deming & Stephan 1940, Ann. Math. Statist. 11(4)) applied to unit
weights: each pass scales the weights of every category of one variable so its weighted total meets the target,
variable after variable, until every margin holds. It converges whenever each target category has respondents
(Bishop, Fienberg & Holland 1975, §3.5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

TOLERANCE = 1e-6  # largest gap between a weighted margin and its target, as a share of the total
MAX_ITERATIONS = 1000  # passes over all variables (trimming rounds included)


class RakingError(ValueError):
    """The margins cannot be met as asked; the message says which variable and category, and what to do."""


@dataclass(frozen=True)
class Raked:
    """Weights in the units' order (summing to the targets' total), how many passes it took, the largest gap
    left between a weighted margin and its target (in the targets' units), and how many weights were capped."""

    weights: np.ndarray
    iterations: int
    largest_gap: float
    capped: int

    @property
    def effective_n(self) -> float:
        return effective_sample_size(self.weights)

    @property
    def design_effect(self) -> float:
        return design_effect(self.weights)


def effective_sample_size(weights: Sequence[float] | np.ndarray) -> float:
    """Kish's effective sample size (Σw)² / Σw² (Kish 1965, Survey Sampling, §11.7): n for equal weights."""
    w = np.asarray(weights, dtype=float)
    squares = float(np.dot(w, w))
    return float(w.sum()) ** 2 / squares if squares else 0.0


def design_effect(weights: Sequence[float] | np.ndarray) -> float:
    """Kish's design effect of unequal weighting, n / n_eff = 1 + CV² of the weights (Kish 1992, JOS 8(2))."""
    w = np.asarray(weights, dtype=float)
    effective = effective_sample_size(w)
    return len(w) / effective if effective else float("nan")


def rake(
    categories: Mapping[str, Sequence],
    targets: Mapping[str, Mapping[str, float]],
    *,
    design_weights: Sequence[float] | None = None,
    total: float | None = None,
    cap: float | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
) -> Raked:
    """Weights for the units whose category on each variable is `categories[variable][unit]`, so that the
    weighted count of every category equals `targets[variable][category]`.

    Design weights are the starting weights (1 each by default). The targets of every variable must sum alike
    (counts of one audience, or shares); `total` rescales each variable's targets to that total (then sums
    within 1.1% of each other pass, for shares rounded in print). `cap` trims: a weight
    above cap × the mean weight is cut to it and the rest are raked again, until both the cap and the margins
    hold (the usual trim-and-rerake of e.g. anesrake). RakingError when a category has units but no target,
    a target has no units, the margins disagree, or the margins are not met within `max_iterations` passes."""
    if not targets:
        raise RakingError("give at least one variable to rake on")
    units = _unit_count(categories, targets)
    start = np.ones(units) if design_weights is None else np.asarray(design_weights, dtype=float)
    if start.shape != (units,):
        raise RakingError(f"there are {units} units but {start.size} design weights")
    if units == 0:
        raise RakingError("there are no units to weight")
    if not np.all(np.isfinite(start)) or np.any(start <= 0):
        raise RakingError("design weights must be positive numbers")
    grand_total = _grand_total(targets, total)
    margins = [_margin(name, categories[name], targets[name], grand_total, total) for name in targets]
    if cap is not None and cap <= 1:
        raise RakingError(f"the cap is a multiple of the mean weight and must be above 1, not {cap}")
    weights, capped = start * (grand_total / start.sum()), 0
    limit = None if cap is None else cap * grand_total / units
    for iteration in range(1, max_iterations + 1):
        for index, wanted, _ in margins:
            reached = np.bincount(index, weights=weights, minlength=len(wanted))
            weights = weights * (wanted / reached)[index]
        if limit is not None:
            over = weights > limit * (1 + tolerance)
            capped = max(capped, int(over.sum()))
            weights = np.minimum(weights, limit)
        gap, where = _largest_gap(weights, margins, list(targets))
        if gap <= tolerance * grand_total:
            return Raked(weights, iteration, gap, capped)
    trimmed = f" with every weight capped at {cap} × the mean" if cap is not None else ""
    raise RakingError(f"the weights did not meet the margins within {max_iterations} passes{trimmed}: the largest "
                      f"remaining gap is {gap:.4g} on {where}; loosen the cap, merge small categories, or rake on "
                      "fewer variables")


def _unit_count(categories: Mapping[str, Sequence], targets: Mapping[str, Mapping[str, float]]) -> int:
    missing = [name for name in targets if name not in categories]
    if missing:
        raise RakingError(f"no unit has a value for {', '.join(map(repr, missing))}; give each unit's category")
    sizes = {name: len(categories[name]) for name in targets}
    if len(set(sizes.values())) > 1:
        raise RakingError(f"the variables list different numbers of units: {sizes}")
    return next(iter(sizes.values()))


def _grand_total(targets: Mapping[str, Mapping[str, float]], total: float | None) -> float:
    sums = {}
    for name, margin in targets.items():
        values = list(margin.values())
        if not values or any(not np.isfinite(value) or value < 0 for value in values):
            raise RakingError(f"the targets of {name!r} must be numbers of zero or more")
        sums[name] = float(sum(values))
        if sums[name] <= 0:
            raise RakingError(f"the targets of {name!r} sum to zero")
    first = next(iter(sums.values()))
    # Shares rounded to two decimals may sum to 0.99 or 1.01: a margin off by more than that is a mistake.
    slack = 1e-9 if total is None else 0.011
    if any(abs(value - first) > slack * max(first, 1e-12) for value in sums.values()):
        listed = ", ".join(f"{name} {value:g}" for name, value in sums.items())
        raise RakingError(f"the margins do not sum alike ({listed}); each variable's targets must add up to the "
                          "same total (all counts of one population, or all shares)")
    if total is not None:
        if total <= 0:
            raise RakingError(f"the total must be positive, not {total}")
        return float(total)
    return first


def _margin(name: str, labels: Sequence, margin: Mapping[str, float], grand_total: float,
            total: float | None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The units' category indices and the target of each category (those with no units and a zero target
    dropped), scaled to the grand total when a total was given."""
    present = {str(label) for label in labels}
    wanted = {str(category): float(value) for category, value in margin.items()}
    untargeted = sorted(present - set(wanted))
    if untargeted:
        raise RakingError(f"{name} {untargeted[0]!r} has units but no target; give it a target or leave those units "
                          "out")
    empty = sorted(category for category, value in wanted.items() if value > 0 and category not in present)
    if empty:
        raise RakingError(f"the target category {name} {empty[0]!r} has no respondents, so no weight can represent "
                          "it; merge it with a neighbouring category or leave it out of the margins")
    zero = sorted(category for category, value in wanted.items() if value == 0 and category in present)
    if zero:
        raise RakingError(f"{name} {zero[0]!r} has a target of 0 but has units; leave those units out instead")
    order = sorted(present)
    position = {category: index for index, category in enumerate(order)}
    index = np.fromiter((position[str(label)] for label in labels), dtype=np.intp, count=len(labels))
    scale = grand_total / sum(wanted.values()) if total is not None else 1.0
    return index, np.array([wanted[category] * scale for category in order]), order


def _largest_gap(weights: np.ndarray, margins: list[tuple[np.ndarray, np.ndarray, list[str]]],
                 names: list[str]) -> tuple[float, str]:
    gap, where = 0.0, ""
    for name, (index, wanted, order) in zip(names, margins):
        reached = np.bincount(index, weights=weights, minlength=len(wanted))
        differences = np.abs(reached - wanted)
        largest = int(differences.argmax())
        if differences[largest] >= gap:
            gap, where = float(differences[largest]), f"{name} {order[largest]!r}"
    return gap, where
