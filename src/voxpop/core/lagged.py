"""Does a cause move an effect some periods later? The tests behind a strategy map's arrows: the lagged correlation
of two series with its Fisher-z interval, the cross-correlation over lags, a pooled regression across units, the
periods needed to see a link of a declared strength, and a verdict in words. Pure: series in, numbers out.

A series is a sequence of floats, one per period, oldest first; None or NaN is a period without data, and a pair is
used only where both the cause at t and the effect at t + lag have data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from voxpop.core.estimates import z_value

# Cohen's conventional correlations (Cohen, Statistical Power Analysis, 2nd ed., 1988, §3.2).
STRENGTHS = {"weak": 0.1, "moderate": 0.3, "strong": 0.5}

SUPPORTED, CONTRADICTED = "supported", "contradicted"
NOT_ENOUGH, NO_LINK = "not enough periods", "no link found"
VERDICTS = (SUPPORTED, CONTRADICTED, NOT_ENOUGH, NO_LINK)

# A centred sum of squares this small is a series that does not vary, so it correlates with nothing.
_CONSTANT = 1e-12


@dataclass(frozen=True)
class LaggedCorrelation:
    """Pearson's r of effect at t + lag against cause at t, over n pairs; r and interval None when undefined."""

    lag: int
    n: int
    r: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class PooledSlope:
    """The within-unit slope of effect at t + lag on cause at t, with its cluster-robust interval and p value."""

    lag: int
    slope: float
    se: float
    ci_low: float
    ci_high: float
    p: float
    n: int  # pairs across all units
    units: int  # units with at least two pairs (the others carry no within-unit information)
    r: float  # the correlation of the demeaned pairs, comparable with the declared strength


def _floats(series: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if value is None else float(value) for value in series], dtype=float)


def lagged_pairs(cause: Sequence[float | None], effect: Sequence[float | None], *, lag: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The (cause at t, effect at t + lag) pairs where both have data."""
    if lag < 0:
        raise ValueError(f"lag must be 0 or more periods, got {lag}")
    x, y = _floats(cause), _floats(effect)
    length = min(len(x), len(y) - lag)
    if length <= 0:
        return np.empty(0), np.empty(0)
    x, y = x[:length], y[lag:lag + length]
    both = ~(np.isnan(x) | np.isnan(y))
    return x[both], y[both]


def fisher_interval(r: float, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """tanh(atanh(r) ± z/√(n − 3)) (Fisher 1921; e.g. r 0.5, n 50 → 0.257 to 0.684)."""
    if n < 4:
        raise ValueError(f"a Fisher-z interval needs at least 4 pairs, got {n}")
    centre, half = math.atanh(max(min(r, 1 - 1e-15), -1 + 1e-15)), z_value(confidence) / math.sqrt(n - 3)
    return math.tanh(centre - half), math.tanh(centre + half)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    if sxx <= _CONSTANT * max(1.0, float(x @ x)) or syy <= _CONSTANT * max(1.0, float(y @ y)):
        return None
    return max(-1.0, min(1.0, float(dx @ dy) / math.sqrt(sxx * syy)))


def lagged_correlation(cause: Sequence[float | None], effect: Sequence[float | None], *, lag: int,
                       confidence: float = 0.95) -> LaggedCorrelation:
    """Pearson's r of effect at t + lag against cause at t with its Fisher-z interval (None below 4 pairs, or when
    a series does not vary)."""
    x, y = lagged_pairs(cause, effect, lag=lag)
    n = len(x)
    r = _pearson(x, y) if n >= 3 else None
    if r is None or n < 4:
        return LaggedCorrelation(lag, n, r, None, None)
    return LaggedCorrelation(lag, n, r, *fisher_interval(r, n, confidence=confidence))


def cross_correlation(cause: Sequence[float | None], effect: Sequence[float | None], *, max_lag: int,
                      confidence: float = 0.95) -> tuple[LaggedCorrelation, ...]:
    """The lagged correlation at each lag 0..max_lag."""
    return tuple(lagged_correlation(cause, effect, lag=lag, confidence=confidence) for lag in range(max_lag + 1))


def strongest_lag(correlations: Sequence[LaggedCorrelation]) -> int | None:
    """The lag whose |r| is largest among those with an interval (None when none has one)."""
    defined = [item for item in correlations if item.r is not None and item.ci_low is not None]
    return max(defined, key=lambda item: abs(item.r), default=None).lag if defined else None


def pooled_regression(cause_by_unit: Mapping[str, Sequence[float | None]],
                      effect_by_unit: Mapping[str, Sequence[float | None]], *, lag: int,
                      confidence: float = 0.95) -> PooledSlope | None:
    """Fixed-effects (within-unit demeaned) OLS of effect at t + lag on cause at t across units, with a
    cluster-robust standard error by unit (Liang & Zeger 1986; CR1, G/(G − 1)·(N − 1)/(N − K) with K = 1 since the
    unit means are nested in the clusters, and t with G − 1 df, as Cameron & Miller 2015 §IV.A, §VI advise). Clustered, not plain OLS, because a unit's
    periods are not independent (a segment's NPS drifts), and plain OLS would then claim links too often.
    None with fewer than 2 units carrying two pairs each, or when the cause does not vary within units."""
    xs, ys, groups = [], [], []
    for unit in sorted(set(cause_by_unit) & set(effect_by_unit)):
        x, y = lagged_pairs(cause_by_unit[unit], effect_by_unit[unit], lag=lag)
        if len(x) >= 2:
            xs.append(x - x.mean())
            ys.append(y - y.mean())
            groups.append(len(x))
    units = len(groups)
    if units < 2:
        return None
    x, y = np.concatenate(xs), np.concatenate(ys)
    n = len(x)
    sxx = float(x @ x)
    if sxx <= _CONSTANT * max(1.0, n) or n < 3:
        return None
    slope = float(x @ y) / sxx
    residuals = y - slope * x
    bounds = np.cumsum([0, *groups])
    meat = sum(float(x[a:b] @ residuals[a:b]) ** 2 for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    se = math.sqrt(units / (units - 1) * meat) / sxx
    df = units - 1
    quantile = float(stats.t.ppf(0.5 + confidence / 2, df))
    if se == 0:
        p = 0.0 if slope else 1.0
    else:
        p = float(2 * stats.t.sf(abs(slope / se), df))
    syy = float(y @ y)
    r = float(x @ y) / math.sqrt(sxx * syy) if syy > 0 else 0.0
    return PooledSlope(lag, slope, se, slope - quantile * se, slope + quantile * se, p, n, units, r)


def periods_needed(strength: str, *, power: float = 0.80, alpha: float = 0.05) -> int:
    """Pairs needed to detect r of the declared strength (Cohen's 0.1 / 0.3 / 0.5) with a two-sided test:
    n = ((z₁₋α/₂ + z_power)/atanh r)² + 3 (Fisher z; Cohen 1988 §3.4): 783, 85 and 30 at 80% and α 0.05."""
    if strength not in STRENGTHS:
        raise ValueError(f"strength must be one of {', '.join(STRENGTHS)}, not {strength!r}")
    z = z_value(1 - alpha) + float(stats.norm.ppf(power))
    return math.ceil((z / math.atanh(STRENGTHS[strength])) ** 2 + 3)


def verdict(*, polarity: int, ci_low: float | None, ci_high: float | None, n: int, needed: int) -> str:
    """Supported or contradicted when the interval excludes 0 (with the declared sign, or against it); otherwise
    not enough periods below the pairs needed, and no link found from there on."""
    if ci_low is not None and ci_high is not None and (ci_low > 0 or ci_high < 0):
        return SUPPORTED if (ci_low > 0) == (polarity > 0) else CONTRADICTED
    return NOT_ENOUGH if n < needed else NO_LINK
