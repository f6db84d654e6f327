"""Weighted NPS, CSAT and mean with Kish-effective-n intervals: hand-worked values, and equal weights giving exactly
the unweighted estimate and interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from voxpop.core import estimates
from voxpop.core.raking import effective_sample_size


def _sums(scores, weights):
    scores, weights = np.asarray(scores, dtype=float), np.asarray(weights, dtype=float)
    return {"promoters": weights[scores >= 9].sum(), "passives": weights[(scores >= 7) & (scores <= 8)].sum(),
            "detractors": weights[scores <= 6].sum(), "n": len(scores), "effective_n": effective_sample_size(weights)}


def test_weighted_nps_by_hand():
    # Scores 10, 10, 8, 3 with weights 1, 1, 2, 4: Σw = 8, promoters 2/8, detractors 4/8 → NPS −25.
    # n_eff = 64 / 22 = 2.909; the adjusted Wald at n_eff: P' = 0.25·2.909 + 0.75 = 1.477 and D' = 0.5·2.909 +
    # 0.75 = 2.205 of n' = 5.909, so the interval is centred on −12.3 (not −25: few effective answers shrink it).
    sums = _sums([10, 10, 8, 3], [1, 1, 2, 4])
    estimate = estimates.weighted_nps(**sums, min_base=2)
    assert estimate.value == pytest.approx(-25.0)
    assert (estimate.ci_low + estimate.ci_high) / 2 == pytest.approx(100 * (1.477 - 2.205) / 5.909, abs=0.05)
    n_eff = 64 / 22
    p, d, n_adj = (0.25 * n_eff + 0.75), (0.5 * n_eff + 0.75), n_eff + 3
    p, d = p / n_adj, d / n_adj
    half = stats.norm.ppf(0.975) * math.sqrt((p + d - (p - d) ** 2) / n_adj)
    assert estimate.ci_low == pytest.approx(100 * (p - d - half))
    assert estimate.ci_high == pytest.approx(100 * (p - d + half))
    assert estimate.se == pytest.approx(100 * math.sqrt((0.25 + 0.5 - 0.25 ** 2) / n_eff))
    assert (estimate.n, estimate.low_base) == (4, False)


def test_weighted_top_box_by_hand():
    # Top-two-box weights 3 of 4 in total weight, n_eff 2.909: 75% with Wilson at 0.75·2.909 of 2.909.
    estimate = estimates.weighted_top_box(top=6, total=8, n=4, effective_n=64 / 22, min_base=30)
    low, high = estimates.wilson_interval(0.75 * 64 / 22, 64 / 22, 0.95)
    assert estimate.value == pytest.approx(75.0)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((100 * low, 100 * high))
    assert estimate.low_base  # 2.9 effective answers, below 30


def test_weighted_mean_by_hand():
    # Ratings 5, 4, 2, 1 weighted 1, 1, 2, 4: Σw = 8, Σwx = 17, mean 2.125. Σw(x − x̄)² = 8.265625 + 3.515625 +
    # 0.03125 + 5.0625 = 16.875; variance 16.875 / 8 · n_eff/(n_eff − 1) = 2.109375 · 64/42 = 3.2143 with n_eff =
    # 64/22 = 2.909; se = √(3.2143 / 2.909) = 1.0511; t on 1.909 degrees of freedom.
    x, w = np.array([5, 4, 2, 1.0]), np.array([1, 1, 2, 4.0])
    n_eff = 64 / 22
    estimate = estimates.weighted_mean(total_weight=w.sum(), weighted_total=(w * x).sum(),
                                       weighted_squares=(w * x * x).sum(), n=4, effective_n=n_eff, min_base=2)
    assert estimate.value == pytest.approx(2.125)
    variance = 16.875 / 8 * n_eff / (n_eff - 1)
    assert variance == pytest.approx(3.2143, abs=1e-4)
    assert estimate.se == pytest.approx(1.0511, abs=1e-4)
    assert estimate.se == pytest.approx(math.sqrt(variance / n_eff))
    half = stats.t.ppf(0.975, n_eff - 1) * estimate.se
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((2.125 - half, 2.125 + half))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10), min_size=2, max_size=80),
       st.floats(min_value=0.1, max_value=20.0))
def test_equal_weights_give_the_unweighted_nps_and_mean(scores, weight):
    weights = [weight] * len(scores)
    promoters = sum(s >= 9 for s in scores)
    detractors = sum(s <= 6 for s in scores)
    plain = estimates.nps(promoters=promoters, passives=len(scores) - promoters - detractors, detractors=detractors,
                          min_base=30)
    weighted = estimates.weighted_nps(**_sums(scores, weights), min_base=30)
    assert (weighted.value, weighted.ci_low, weighted.ci_high, weighted.se) == pytest.approx(
        (plain.value, plain.ci_low, plain.ci_high, plain.se), abs=1e-9)
    assert (weighted.n, weighted.low_base) == (plain.n, plain.low_base)
    x, w = np.array(scores, dtype=float), np.array(weights)
    plain_mean = estimates.mean(n=len(x), total=x.sum(), total_squares=(x * x).sum(), min_base=30)
    weighted_mean = estimates.weighted_mean(total_weight=w.sum(), weighted_total=(w * x).sum(),
                                            weighted_squares=(w * x * x).sum(), n=len(x),
                                            effective_n=effective_sample_size(w), min_base=30)
    assert (weighted_mean.value, weighted_mean.ci_low, weighted_mean.ci_high) == pytest.approx(
        (plain_mean.value, plain_mean.ci_low, plain_mean.ci_high), abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=200), st.data())
def test_equal_weights_give_the_unweighted_top_box(n, data):
    top = data.draw(st.integers(min_value=0, max_value=n))
    plain = estimates.top_box(top=top, n=n, min_base=30)
    weighted = estimates.weighted_top_box(top=top * 2.5, total=n * 2.5, n=n, effective_n=float(n), min_base=30)
    assert (weighted.value, weighted.ci_low, weighted.ci_high) == pytest.approx(
        (plain.value, plain.ci_low, plain.ci_high), abs=1e-9)


def test_unequal_weights_widen_the_interval():
    scores = [10] * 30 + [5] * 30
    equal = estimates.weighted_nps(**_sums(scores, [1] * 60), min_base=30)
    unequal = estimates.weighted_nps(**_sums(scores, [1, 3] * 30), min_base=30)
    assert unequal.value == pytest.approx(equal.value)
    assert unequal.ci_high - unequal.ci_low > equal.ci_high - equal.ci_low


def test_no_answers():
    assert estimates.weighted_nps(promoters=0, passives=0, detractors=0, n=0, effective_n=0, min_base=30).value is None
    assert estimates.weighted_top_box(top=0, total=0, n=0, effective_n=0, min_base=30).value is None
    assert estimates.weighted_mean(total_weight=0, weighted_total=0, weighted_squares=0, n=0, effective_n=0,
                                   min_base=30).value is None
