"""How many are needed, and how sure is a median: the sample size to detect a difference of two shares, and a
distribution-free interval for a median. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats

from voxpop.core.estimates import z_value


def sample_size_two_proportions(*, p1: float, p2: float, power: float = 0.80, alpha: float = 0.05,
                                continuity: bool = False) -> int:
    """Subjects per arm to detect p1 against p2 with a two-sided z test at level `alpha` and the given power:
    n = (z₁₋α/₂·√(2p̄q̄) + z₁₋β·√(p₁q₁ + p₂q₂))² / (p₁ − p₂)², and with `continuity` Fleiss' correction
    n′ = n/4·(1 + √(1 + 4/(n·|p₁ − p₂|)))² (Fleiss, Levin & Paik, Statistical Methods for Rates and
    Proportions, 3rd ed., 2003, eqs. 4.14 and 4.19)."""
    for name, value in (("p1", p1), ("p2", p2)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be a share between 0 and 1 (exclusive), got {value}")
    if p1 == p2:
        raise ValueError("p1 and p2 are equal: no sample is large enough to detect no difference")
    if not 0.0 < power < 1.0 or not 0.0 < alpha < 1.0:
        raise ValueError("power and alpha must be between 0 and 1 (exclusive)")
    z_alpha, z_beta = z_value(1 - alpha), float(stats.norm.ppf(power))
    pooled = (p1 + p2) / 2
    delta = abs(p1 - p2)
    n = (z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2
    n /= delta * delta
    if continuity:
        n = n / 4 * (1 + math.sqrt(1 + 4 / (n * delta))) ** 2
    return math.ceil(n - 1e-9)


@dataclass(frozen=True)
class Median:
    """A median with its distribution-free interval; the bounds are None when n is too small for one."""

    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    confidence: float
    coverage: float | None  # the interval's exact coverage, at least `confidence`


def median_interval(values: Sequence[float], *, confidence: float = 0.95) -> Median:
    """The sample median with the order-statistic interval [x₍ᵣ₎, x₍ₙ₋ᵣ₊₁₎], r the largest rank with
    P(Binomial(n, ½) ≤ r − 1) ≤ (1 − confidence)/2, so its coverage is at least `confidence` for any
    continuous distribution (Conover, Practical Nonparametric Statistics, 3rd ed., 1999, §3.2)."""
    ordered = sorted(float(value) for value in values)
    n = len(ordered)
    if n == 0:
        return Median(None, 0, None, None, confidence, None)
    middle = n // 2
    value = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    tail = (1 - confidence) / 2
    rank = int(stats.binom.ppf(tail, n, 0.5))  # smallest k with P(X ≤ k) ≥ tail
    if stats.binom.cdf(rank, n, 0.5) <= tail:
        rank += 1
    if rank < 1:  # n ≤ 5 at 95%: even [min, max] covers less than asked
        return Median(value, n, None, None, confidence, None)
    coverage = 1 - 2 * float(stats.binom.cdf(rank - 1, n, 0.5))
    return Median(value, n, ordered[rank - 1], ordered[n - rank], confidence, coverage)
