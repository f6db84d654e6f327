"""Sample size for two shares and the median's order-statistic interval, against published values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from voxpop.core.power import median_interval, sample_size_two_proportions


def test_the_issues_reference_about_860_per_arm_for_70_against_76_percent():
    assert sample_size_two_proportions(p1=0.70, p2=0.76) == 859


def test_fleiss_levin_paik_table_for_20_against_40_percent():
    # Fleiss, Levin & Paik (2003), Table A.4, α = 0.05 two-sided, power 0.80: 91 per group with the continuity
    # correction; 82 without it (eq. 4.14).
    assert sample_size_two_proportions(p1=0.20, p2=0.40) == 82
    assert sample_size_two_proportions(p1=0.20, p2=0.40, continuity=True) == 91


def cohen_h_sample_size(p1: float, p2: float) -> float:
    """An independent cross-check: Cohen's h, n = 2·((z₁₋α/₂ + z₁₋β)/h)² per arm, as statsmodels'
    NormalIndPower computes it (not installed here)."""
    h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
    return 2 * ((stats.norm.ppf(0.975) + stats.norm.ppf(0.80)) / h) ** 2


@given(st.floats(0.10, 0.80), st.floats(0.03, 0.09))
def test_agrees_with_the_arcsine_method_within_a_few_percent(p1, delta):
    n = sample_size_two_proportions(p1=p1, p2=p1 + delta)
    assert n == pytest.approx(cohen_h_sample_size(p1, p1 + delta), rel=0.05)  # the two differ most near 0 and 1


def test_bad_shares_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="between 0 and 1"):
        sample_size_two_proportions(p1=0.0, p2=0.5)
    with pytest.raises(ValueError, match="equal"):
        sample_size_two_proportions(p1=0.5, p2=0.5)


def test_the_median_interval_of_ten_values_is_the_second_to_the_ninth():
    # Conover (1999), §3.2: for n = 10 at 95% the interval is [x₍₂₎, x₍₉₎], exact coverage 1 − 2·11/1024.
    median = median_interval([7, 1, 3, 9, 2, 10, 4, 8, 5, 6])
    assert (median.value, median.ci_low, median.ci_high) == (5.5, 2.0, 9.0)
    assert median.coverage == pytest.approx(1 - 2 * 11 / 1024)


def test_five_values_are_too_few_for_a_95_percent_interval():
    median = median_interval([1, 2, 3, 4, 5])
    assert median.value == 3 and median.ci_low is None and median_interval([]).value is None


@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=200))
def test_the_interval_contains_the_median_and_covers_at_least_what_it_says(values):
    median = median_interval(values)
    if median.ci_low is not None:
        assert median.ci_low <= median.value <= median.ci_high
        assert median.coverage >= 0.95
