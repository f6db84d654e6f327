import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from voxpop.core.lagged import (
    CONTRADICTED,
    NO_LINK,
    NOT_ENOUGH,
    SUPPORTED,
    cross_correlation,
    fisher_interval,
    lagged_correlation,
    lagged_pairs,
    periods_needed,
    pooled_regression,
    strongest_lag,
    verdict,
)

ALPHA = 0.05
SEEDS = 400
# A correct 5% test claims a link in at most this many of 400 null runs, but for a 1-in-1000 chance.
FALSE_CLAIMS_BOUND = int(stats.binom.ppf(0.999, SEEDS, ALPHA))


def test_fisher_interval_matches_the_published_example():
    # r 0.5 over 50 pairs: 95% CI 0.257 to 0.684 as tables print it (from z rounded to 3 places); exact 0.6833
    low, high = fisher_interval(0.5, 50)
    assert low == pytest.approx(0.257, abs=1e-3) and high == pytest.approx(0.684, abs=1e-3)


def test_periods_needed_per_declared_strength():
    assert [periods_needed(strength) for strength in ("weak", "moderate", "strong")] == [783, 85, 30]
    with pytest.raises(ValueError, match="strength must be one of"):
        periods_needed("huge")


def test_pairs_skip_periods_without_data_and_shift_by_the_lag():
    cause = [1.0, 2.0, None, 4.0, 5.0]
    effect = [None, 10.0, 20.0, 30.0, float("nan")]
    x, y = lagged_pairs(cause, effect, lag=1)
    assert list(x) == [1.0, 2.0] and list(y) == [10.0, 20.0]
    assert lagged_correlation(cause, effect, lag=1).r is None  # two pairs: no r
    with pytest.raises(ValueError, match="lag must be 0 or more"):
        lagged_pairs(cause, effect, lag=-1)


def test_a_constant_series_correlates_with_nothing():
    found = lagged_correlation([3.0] * 10, list(range(10)), lag=0)
    assert found.n == 10 and found.r is None and found.ci_low is None


def test_cross_correlation_finds_the_planted_lag():
    rng = np.random.default_rng(7)
    cause = rng.normal(size=60)
    effect = [None, None] + list(0.8 * cause[:-2] + rng.normal(scale=0.6, size=58))
    correlations = cross_correlation(list(cause), effect, max_lag=6)
    assert [item.lag for item in correlations] == list(range(7))
    assert strongest_lag(correlations) == 2
    at_lag = correlations[2]
    assert at_lag.n == 58 and at_lag.ci_low > 0
    needed = periods_needed("strong")
    assert verdict(polarity=1, ci_low=at_lag.ci_low, ci_high=at_lag.ci_high, n=at_lag.n, needed=needed) == SUPPORTED
    assert verdict(polarity=-1, ci_low=at_lag.ci_low, ci_high=at_lag.ci_high, n=at_lag.n,
                   needed=needed) == CONTRADICTED


def test_the_verdict_says_not_enough_periods_before_no_link():
    assert verdict(polarity=1, ci_low=-0.2, ci_high=0.5, n=20, needed=30) == NOT_ENOUGH
    assert verdict(polarity=1, ci_low=-0.2, ci_high=0.5, n=30, needed=30) == NO_LINK
    assert verdict(polarity=1, ci_low=None, ci_high=None, n=3, needed=30) == NOT_ENOUGH
    assert verdict(polarity=-1, ci_low=-0.6, ci_high=-0.1, n=12, needed=85) == SUPPORTED


def test_unrelated_series_claim_a_link_no_more_often_than_the_error_rate():
    claims = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng(seed)
        found = lagged_correlation(list(rng.normal(size=40)), list(rng.normal(size=40)), lag=1)
        if verdict(polarity=1, ci_low=found.ci_low, ci_high=found.ci_high, n=found.n,
                   needed=periods_needed("strong")) in (SUPPORTED, CONTRADICTED):
            claims += 1
    assert claims <= FALSE_CLAIMS_BOUND


def _panel(rng, *, units, periods, lag, effect):
    causes, effects = {}, {}
    for unit in range(units):
        level = rng.normal(scale=5.0)  # each unit's own level: the fixed effect the demeaning removes
        cause = rng.normal(size=periods) + level
        follows = effect * (cause[:periods - lag] - level) + rng.normal(size=periods - lag) + 3 * level
        causes[f"unit {unit}"] = list(cause)
        effects[f"unit {unit}"] = [None] * lag + list(follows)
    return causes, effects


def test_pooled_slope_equals_plain_ols_with_unit_dummies():
    rng = np.random.default_rng(3)
    causes, effects = _panel(rng, units=6, periods=10, lag=1, effect=0.4)
    pooled = pooled_regression(causes, effects, lag=1)
    rows, targets, sandwich_groups = [], [], []
    names = sorted(causes)
    for index, unit in enumerate(names):
        x, y = lagged_pairs(causes[unit], effects[unit], lag=1)
        for cause, effect in zip(x, y, strict=True):
            dummies = [1.0 if other == index else 0.0 for other in range(len(names))]
            rows.append([cause, *dummies])
            targets.append(effect)
            sandwich_groups.append(index)
    design, target = np.array(rows), np.array(targets)
    coefficients, *_ = np.linalg.lstsq(design, target, rcond=None)
    assert pooled.slope == pytest.approx(coefficients[0], rel=1e-9)
    # the cluster-robust variance from the full dummy regression's sandwich, CR1-scaled by G/(G − 1)
    bread = np.linalg.inv(design.T @ design)
    residuals = target - design @ coefficients
    groups = np.array(sandwich_groups)
    meat = sum(np.outer(design[groups == g].T @ residuals[groups == g], design[groups == g].T @ residuals[groups == g])
               for g in range(len(names)))
    variance = len(names) / (len(names) - 1) * (bread @ meat @ bread)
    assert pooled.se == pytest.approx(math.sqrt(variance[0, 0]), rel=1e-6)
    assert pooled.n == 54 and pooled.units == 6


def test_pooled_regression_needs_two_units():
    assert pooled_regression({"a": [1.0, 2.0, 3.0]}, {"a": [1.0, 2.0, 4.0]}, lag=0) is None
    assert pooled_regression({"a": [1.0], "b": [2.0]}, {"a": [1.0], "b": [3.0]}, lag=0) is None


def test_pooling_units_finds_an_effect_one_short_series_misses():
    pooled_found = single_found = 0
    runs = 100
    for seed in range(runs):
        rng = np.random.default_rng(1000 + seed)
        causes, effects = _panel(rng, units=10, periods=12, lag=1, effect=0.35)
        pooled = pooled_regression(causes, effects, lag=1)
        pooled_found += pooled.ci_low > 0
        single = lagged_correlation(causes["unit 0"], effects["unit 0"], lag=1)
        single_found += single.ci_low is not None and single.ci_low > 0
    assert pooled_found >= 0.8 * runs
    assert single_found <= 0.4 * runs


def test_pooled_regression_on_unrelated_units_claims_a_link_no_more_often_than_the_error_rate():
    claims = 0
    for seed in range(SEEDS):
        rng = np.random.default_rng(5000 + seed)
        causes, effects = _panel(rng, units=10, periods=12, lag=1, effect=0.0)
        pooled = pooled_regression(causes, effects, lag=1)
        claims += pooled.ci_low > 0 or pooled.ci_high < 0
    assert claims <= FALSE_CLAIMS_BOUND


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=6, max_size=30), st.integers(0, 3), st.integers(0, 10_000))
def test_r_is_a_correlation_inside_its_interval(cause, lag, seed):
    effect = list(np.random.default_rng(seed).normal(size=len(cause)))
    found = lagged_correlation(cause, effect, lag=lag)
    if found.r is not None:
        assert -1.0 <= found.r <= 1.0
        if found.ci_low is not None:
            assert found.ci_low <= found.r + 1e-12 and found.r <= found.ci_high + 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.floats(-1e3, 1e3), min_size=5, max_size=5),
       st.lists(st.floats(-1e3, 1e3), min_size=5, max_size=5))
def test_a_units_own_level_changes_nothing_in_the_pooled_slope(seed, cause_levels, effect_levels):
    rng = np.random.default_rng(seed)
    causes, effects = _panel(rng, units=5, periods=8, lag=1, effect=0.5)
    before = pooled_regression(causes, effects, lag=1)
    shifted_causes = {unit: [None if v is None else v + level for v in values]
                      for (unit, values), level in zip(sorted(causes.items()), cause_levels, strict=True)}
    shifted_effects = {unit: [None if v is None else v + level for v in values]
                       for (unit, values), level in zip(sorted(effects.items()), effect_levels, strict=True)}
    after = pooled_regression(shifted_causes, shifted_effects, lag=1)
    assert after.slope == pytest.approx(before.slope, abs=1e-6) and after.se == pytest.approx(before.se, abs=1e-6)
