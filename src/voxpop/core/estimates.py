"""Customer metrics from sufficient statistics, each with its base and its uncertainty. Pure: counts in,
estimates out. Every value is on the scale users read: NPS −100..100, shares in %, means on the item scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from voxpop.core.counts import NpsCuts  # noqa: F401 (defined with the rollups' counting rules, light to import)

NPS_SCALE = 100.0

# scipy.special's ndtri at the usual confidence levels, digit for digit (tests/core/test_estimates.py compares them):
# importing scipy.special takes longer (0.2 s) than a command's whole work on a small export, and Python's
# statistics.NormalDist differs from it in the last digit at about two levels in three. Other levels ask scipy.
Z_VALUES = {0.8: 1.2815515655446004, 0.9: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}


@dataclass(frozen=True)
class Estimate:
    """A metric's value with its base n, standard error and confidence interval.

    `low_base` is set when n is below the workspace minimum: pages then say "not enough responses"
    instead of showing a bold number. With no answers at all, value and interval are None."""

    value: float | None
    n: int
    low_base: bool
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None


@lru_cache(maxsize=64)  # a dashboard asks for the same quantile hundreds of times; scipy's ppf costs 0.1 ms
def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile, e.g. 1.96 for 0.95."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence}")
    if confidence in Z_VALUES:
        return Z_VALUES[confidence]
    # scipy.stats' norm.ppf is ndtri (times 1, plus 0); scipy.special imports in a third of scipy.stats' time.
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2.0))


@lru_cache(maxsize=4096)
def t_value(confidence: float, df: int) -> float:
    """Two-sided Student t quantile with `df` degrees of freedom (scipy.stats' t.ppf is stdtrit)."""
    from scipy.special import stdtrit  # here, not at the top: see Z_VALUES

    return float(stdtrit(df, 0.5 + confidence / 2.0))


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def nps_variance(*, promoters: float, detractors: float, n: float) -> float:
    """Trinomial variance of one answer's NPS contribution: p_P + p_D − (p_P − p_D)² (Rocks 2016)."""
    p_promoters, p_detractors = promoters / n, detractors / n
    return p_promoters + p_detractors - (p_promoters - p_detractors) ** 2


def nps(
    *,
    promoters: int,
    passives: int,
    detractors: int,
    min_base: int,
    confidence: float = 0.95,
    method: str = "adjusted-wald",
) -> Estimate:
    """Net Promoter Score (Reichheld 2003): % promoters − % detractors; skipped answers are never in n.

    se is the trinomial standard error. The default interval is the adjusted Wald of Rocks (2016, The
    American Statistician 70(4)): add 3/4 promoter, 1.5 passives and 3/4 detractor; method="wald" gives the
    plain Wald interval."""
    n = promoters + passives + detractors
    if n == 0:
        return Estimate(value=None, n=0, low_base=True, confidence=confidence)
    z = z_value(confidence)
    value = (promoters - detractors) / n
    se = math.sqrt(nps_variance(promoters=promoters, detractors=detractors, n=n) / n)
    if method == "wald":
        centre, half = value, z * se
    elif method == "adjusted-wald":
        adjusted_n = n + 3
        centre = (promoters - detractors) / adjusted_n
        half = z * math.sqrt(nps_variance(promoters=promoters + 0.75, detractors=detractors + 0.75, n=adjusted_n) / adjusted_n)
    else:
        raise ValueError(f"unknown NPS interval method {method!r}; use 'adjusted-wald' or 'wald'")
    # At very small n the adjusted centre shrinks so far towards 0 that the interval can miss the observed
    # value (one promoter: NPS 100, interval to 98.5); widening it to include the value is conservative.
    low, high = min(_clip(centre - half, -1, 1), value), max(_clip(centre + half, -1, 1), value)
    return Estimate(
        value=NPS_SCALE * value, n=n, low_base=n < min_base, se=NPS_SCALE * se,
        ci_low=NPS_SCALE * low, ci_high=NPS_SCALE * high, confidence=confidence,
    )


def wilson_interval(successes: float, n: float, confidence: float) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927, JASA 22(158)), on 0..1."""
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Exactly 0 and 1 at the edges: rounding would otherwise put the bound a hair inside p.
    return min(max(0.0, centre - half), p), max(min(1.0, centre + half), p)


def proportion(*, successes: int, n: int, min_base: int, confidence: float = 0.95) -> Estimate:
    """A share in %, such as CSAT's top-two-box or CES 2.0's % agree, with a Wilson interval."""
    if n == 0:
        return Estimate(value=None, n=0, low_base=True, confidence=confidence)
    if not 0 <= successes <= n:
        raise ValueError(f"successes ({successes}) must be between 0 and n ({n})")
    p = successes / n
    low, high = wilson_interval(successes, n, confidence)
    return Estimate(
        value=100.0 * p, n=n, low_base=n < min_base, se=100.0 * math.sqrt(p * (1 - p) / n),
        ci_low=100.0 * low, ci_high=100.0 * high, confidence=confidence,
    )


def top_box(*, top: int, n: int, min_base: int, confidence: float = 0.95) -> Estimate:
    """CSAT as the share answering in the top two boxes (4–5 on 1–5), in %, with a Wilson interval."""
    return proportion(successes=top, n=n, min_base=min_base, confidence=confidence)


def mean(*, n: int, total: float, total_squares: float, min_base: int, confidence: float = 0.95) -> Estimate:
    """Mean of a rating with a Student t interval from n, Σx and Σx² (e.g. CES on its own scale)."""
    if n == 0:
        return Estimate(value=None, n=0, low_base=True, confidence=confidence)
    value = total / n
    if n == 1:
        return Estimate(value=value, n=1, low_base=1 < min_base, confidence=confidence)
    # max(…, 0): Σx² − (Σx)²/n can come out a hair below zero in floating point for constant data.
    variance = max(total_squares - total * total / n, 0.0) / (n - 1)
    se = math.sqrt(variance / n)
    half = t_value(confidence, n - 1) * se
    return Estimate(
        value=value, n=n, low_base=n < min_base, se=se, ci_low=value - half, ci_high=value + half,
        confidence=confidence,
    )


# Weighted estimates -------------------------------------------------------------------------------------------------
# After raking, each answer counts with its weight. The intervals use Kish's approximation: the weighted estimate
# has the sampling variance of an unweighted one from n_eff = (Σw)² / Σw² answers (Kish 1965, Survey Sampling,
# §11.7), so the unweighted formulas run on the weighted shares at n_eff. Equal weights give n_eff = n and exactly
# the unweighted figures. `n` stays the number of answers; low_base is judged on n_eff, the information they carry.


def weighted_nps(*, promoters: float, passives: float, detractors: float, n: int, effective_n: float, min_base: int,
                 confidence: float = 0.95) -> Estimate:
    """NPS from the summed weights of promoters, passives and detractors, with the adjusted Wald interval of
    `nps` at Kish's effective n."""
    total = promoters + passives + detractors
    if n == 0 or total <= 0:
        return Estimate(value=None, n=0, low_base=True, confidence=confidence)
    scale = effective_n / total
    found = nps(promoters=promoters * scale, passives=passives * scale, detractors=detractors * scale,  # type: ignore[arg-type]
                min_base=min_base, confidence=confidence)
    return Estimate(value=NPS_SCALE * (promoters - detractors) / total, n=n, low_base=effective_n < min_base,
                    se=found.se, ci_low=found.ci_low, ci_high=found.ci_high, confidence=confidence)


def weighted_top_box(*, top: float, total: float, n: int, effective_n: float, min_base: int,
                     confidence: float = 0.95) -> Estimate:
    """A weighted share in % (CSAT top-two-box) from the summed weights of the top answers and of all answers,
    with a Wilson interval at Kish's effective n."""
    if n == 0 or total <= 0:
        return Estimate(value=None, n=0, low_base=True, confidence=confidence)
    p = min(max(top / total, 0.0), 1.0)
    low, high = wilson_interval(p * effective_n, effective_n, confidence)
    return Estimate(value=100.0 * p, n=n, low_base=effective_n < min_base,
                    se=100.0 * math.sqrt(p * (1 - p) / effective_n), ci_low=100.0 * low, ci_high=100.0 * high,
                    confidence=confidence)


def weighted_mean(*, total_weight: float, weighted_total: float, weighted_squares: float, n: int, effective_n: float,
                  min_base: int, confidence: float = 0.95) -> Estimate:
    """A weighted mean Σwx / Σw from Σw, Σwx and Σwx², with a Student t interval at Kish's effective n: the
    weighted variance Σw(x − x̄)² / Σw times n_eff / (n_eff − 1), over n_eff, on n_eff − 1 degrees of freedom."""
    if n == 0 or total_weight <= 0:
        return Estimate(value=None, n=0, low_base=True, confidence=confidence)
    value = weighted_total / total_weight
    if n == 1 or effective_n <= 1:
        return Estimate(value=value, n=n, low_base=effective_n < min_base, confidence=confidence)
    spread = max(weighted_squares - weighted_total * weighted_total / total_weight, 0.0) / total_weight
    if spread <= 1e-12 * weighted_squares / total_weight:  # constant answers: only rounding left in the difference
        spread = 0.0
    se = math.sqrt(spread * effective_n / (effective_n - 1) / effective_n)
    from scipy.special import stdtrit  # here, not at the top: see Z_VALUES

    half = float(stdtrit(effective_n - 1, 0.5 + confidence / 2.0)) * se
    return Estimate(value=value, n=n, low_base=effective_n < min_base, se=se, ci_low=value - half,
                    ci_high=value + half, confidence=confidence)
