"""Estimates against published reference values, and their invariants."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.core import estimates
from voxpop.core.estimates import NpsCuts


def test_nps_reference_from_the_r_package_nps():
    # R package NPS (Rocks): scores 0,7,7,9,9,9 -> NPS 1/3, variance 5/9, standard error 0.304.
    estimate = estimates.nps(promoters=3, passives=2, detractors=1, min_base=30)
    assert estimate.value == pytest.approx(100 / 3)
    assert estimates.nps_variance(promoters=3, detractors=1, n=6) == pytest.approx(5 / 9)
    assert estimate.se == pytest.approx(30.4, abs=0.05)
    assert estimate.low_base


def test_adjusted_wald_adds_three_quarters_of_a_promoter_and_a_detractor():
    # Rocks (2016): n' = n + 3, P' = P + 3/4, D' = D + 3/4; interval = NPS' ± z·√(var'/n').
    estimate = estimates.nps(promoters=100, passives=60, detractors=40, min_base=30)
    n, p, d = 203, 100.75 / 203, 40.75 / 203
    half = 1.959964 * math.sqrt((p + d - (p - d) ** 2) / n)
    assert estimate.ci_low == pytest.approx(100 * (p - d - half), abs=1e-4)
    assert estimate.ci_high == pytest.approx(100 * (p - d + half), abs=1e-4)
    wald = estimates.nps(promoters=100, passives=60, detractors=40, min_base=30, method="wald")
    assert wald.ci_high - wald.value == pytest.approx(1.959964 * wald.se, abs=1e-4)


def test_csat_reference_from_delighted():
    # Delighted help centre: 42/32/10/9/14 answers of 5/4/3/2/1 -> CSAT 69.16%.
    estimate = estimates.top_box(top=42 + 32, n=42 + 32 + 10 + 9 + 14, min_base=30)
    assert round(estimate.value, 2) == 69.16
    assert estimate.ci_low < estimate.value < estimate.ci_high


def test_wilson_interval_reference():
    # Newcombe (1998), Statistics in Medicine 17, Table I: 81/263 -> 0.2553 to 0.3662 (Wilson).
    low, high = estimates.wilson_interval(81, 263, 0.95)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


def test_mean_t_interval_matches_scipy():
    from scipy import stats

    scores = [5, 6, 7, 4, 6, 7, 7, 3]
    estimate = estimates.mean(n=len(scores), total=sum(scores), total_squares=sum(x * x for x in scores), min_base=1)
    low, high = stats.t.interval(0.95, len(scores) - 1, loc=sum(scores) / 8, scale=stats.sem(scores))
    assert (estimate.ci_low, estimate.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_no_answers_means_no_value():
    for estimate in (estimates.nps(promoters=0, passives=0, detractors=0, min_base=30),
                     estimates.top_box(top=0, n=0, min_base=30),
                     estimates.mean(n=0, total=0, total_squares=0, min_base=30)):
        assert estimate.value is None and estimate.n == 0 and estimate.low_base


def test_cut_points_must_be_stated_consistently():
    assert NpsCuts(low=1, high=10).detractor_max == 6
    with pytest.raises(ValueError, match="cut points"):
        NpsCuts(low=1, high=10, detractor_max=9, promoter_min=9)


def test_unknown_interval_method_is_refused():
    with pytest.raises(ValueError, match="adjusted-wald"):
        estimates.nps(promoters=1, passives=1, detractors=1, min_base=1, method="exact")


counts = st.integers(0, 400)


@given(counts, counts, counts, st.sampled_from([0.8, 0.9, 0.95, 0.99]), st.sampled_from(["adjusted-wald", "wald"]))
def test_nps_bounds_and_interval_contains_the_estimate(promoters, passives, detractors, confidence, method):
    estimate = estimates.nps(promoters=promoters, passives=passives, detractors=detractors, min_base=30,
                             confidence=confidence, method=method)
    if estimate.n:
        assert -100 <= estimate.ci_low <= estimate.value <= estimate.ci_high <= 100


@given(st.integers(0, 500), st.integers(1, 500))
def test_proportion_interval_contains_the_estimate(successes, n):
    successes = min(successes, n)
    estimate = estimates.top_box(top=successes, n=n, min_base=1)
    assert 0 <= estimate.ci_low <= estimate.value <= estimate.ci_high <= 100


@given(st.lists(st.integers(1, 7), min_size=2, max_size=100))
def test_mean_interval_contains_the_mean(scores):
    estimate = estimates.mean(n=len(scores), total=sum(scores), total_squares=sum(x * x for x in scores), min_base=1)
    assert estimate.ci_low <= estimate.value + 1e-9 and estimate.value <= estimate.ci_high + 1e-9


@given(st.lists(st.lists(st.integers(0, 10), max_size=40), min_size=1, max_size=6))
def test_nps_over_groups_equals_the_per_answer_computation(groups):
    # The aggregate of the groups' counts equals the mean of the per-answer +100 / 0 / −100 scores.
    scores = [score for group in groups for score in group]
    tallies = [(sum(s >= 9 for s in g), sum(7 <= s <= 8 for s in g), sum(s <= 6 for s in g)) for g in groups]
    pooled = estimates.nps(promoters=sum(t[0] for t in tallies), passives=sum(t[1] for t in tallies),
                           detractors=sum(t[2] for t in tallies), min_base=1)
    if scores:
        per_answer = [100 if s >= 9 else -100 if s <= 6 else 0 for s in scores]
        assert pooled.value == pytest.approx(sum(per_answer) / len(per_answer))
    else:
        assert pooled.value is None


def test_the_usual_z_values_are_scipys_digit_for_digit():
    from scipy.special import ndtri

    for confidence, z in estimates.Z_VALUES.items():
        assert z == float(ndtri(0.5 + confidence / 2.0))


@given(st.floats(min_value=1e-6, max_value=1 - 1e-6) | st.sampled_from(sorted(estimates.Z_VALUES)))
def test_z_value_is_scipys_ndtri_at_every_level(confidence):
    from scipy.special import ndtri

    assert estimates.z_value(confidence) == float(ndtri(0.5 + confidence / 2.0))
