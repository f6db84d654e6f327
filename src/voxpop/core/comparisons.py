"""Is a difference real? Two-sample tests on sufficient statistics, and Holm's adjustment for many at once."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from voxpop.core.estimates import NPS_SCALE, nps_variance, z_value


@dataclass(frozen=True)
class Difference:
    """A − B on the metric's scale, with its standard error, interval, test statistic and p-value.

    `significant` means p < 1 − confidence; callers show it only when neither side is a low base."""

    difference: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    confidence: float
    significant: bool
    test: str


def _two_sided_normal(z: float) -> float:
    return float(2.0 * stats.norm.sf(abs(z)))


def nps_difference(
    *, a: tuple[int, int, int], b: tuple[int, int, int], confidence: float = 0.95
) -> Difference:
    """Difference of two NPS from (promoters, passives, detractors): z = Δ / √(σ₁²/n₁ + σ₂²/n₂), with the
    trinomial variances (Rocks 2016)."""
    (p1, m1, d1), (p2, m2, d2) = a, b
    n1, n2 = p1 + m1 + d1, p2 + m2 + d2
    if not n1 or not n2:
        raise ValueError("both groups need at least one answer to compare their NPS")
    delta = (p1 - d1) / n1 - (p2 - d2) / n2
    se = math.sqrt(nps_variance(promoters=p1, detractors=d1, n=n1) / n1 + nps_variance(promoters=p2, detractors=d2, n=n2) / n2)
    return _normal_difference(NPS_SCALE * delta, NPS_SCALE * se, confidence, "nps-z")


def proportion_difference(*, a: tuple[int, int], b: tuple[int, int], confidence: float = 0.95) -> Difference:
    """Difference of two shares in % from (successes, n): the z test uses the pooled proportion, the
    interval the unpooled standard error (Agresti, Categorical Data Analysis, 3rd ed., §1.4 and §3.1)."""
    (x1, n1), (x2, n2) = a, b
    if not n1 or not n2:
        raise ValueError("both groups need at least one answer to compare their shares")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se_test = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    z = (p1 - p2) / se_test if se_test else 0.0
    half = z_value(confidence) * se
    p_value = _two_sided_normal(z) if se_test else 1.0
    return Difference(
        100 * (p1 - p2), 100 * se, 100 * (p1 - p2 - half), 100 * (p1 - p2 + half), z, p_value, confidence,
        p_value < 1 - confidence, "two-proportion-z",
    )


def mean_difference(
    *, a: tuple[int, float, float], b: tuple[int, float, float], confidence: float = 0.95
) -> Difference:
    """Welch's t for two means from (n, Σx, Σx²), with Welch–Satterthwaite degrees of freedom (Welch 1947)."""
    (n1, s1, q1), (n2, s2, q2) = a, b
    if n1 < 2 or n2 < 2:
        raise ValueError("Welch's t needs at least two answers in each group")
    mean1, mean2 = s1 / n1, s2 / n2
    var1 = max(q1 - s1 * s1 / n1, 0.0) / (n1 - 1)
    var2 = max(q2 - s2 * s2 / n2, 0.0) / (n2 - 1)
    w1, w2 = var1 / n1, var2 / n2
    se = math.sqrt(w1 + w2)
    if se == 0:
        equal = mean1 == mean2
        return Difference(mean1 - mean2, 0.0, mean1 - mean2, mean1 - mean2, 0.0 if equal else math.inf,
                          1.0 if equal else 0.0, confidence, not equal, "welch-t")
    df = (w1 + w2) ** 2 / (w1 * w1 / (n1 - 1) + w2 * w2 / (n2 - 1))
    t = (mean1 - mean2) / se
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    p_value = float(2 * stats.t.sf(abs(t), df))
    return Difference(mean1 - mean2, se, mean1 - mean2 - half, mean1 - mean2 + half, t, p_value, confidence,
                      p_value < 1 - confidence, "welch-t")


def _normal_difference(delta: float, se: float, confidence: float, test: str) -> Difference:
    half = z_value(confidence) * se
    z = delta / se if se else (0.0 if delta == 0 else math.copysign(math.inf, delta))
    p_value = _two_sided_normal(z) if se else (1.0 if delta == 0 else 0.0)
    return Difference(delta, se, delta - half, delta + half, z, p_value, confidence, p_value < 1 - confidence, test)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order (Holm 1979, Scand. J. Statistics 6(2))."""
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
