"""Comparisons against published reference values."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from voxpop.core import comparisons


def test_two_nps_30_and_16_are_not_significantly_different():
    # NPS 30 (n=200: 100 promoters, 60 passives, 40 detractors) against 16 (n=250: 110/70/70) gives
    # p ≈ 0.067: not significant at 95 %, and nothing may claim it is.
    result = comparisons.nps_difference(a=(100, 60, 40), b=(110, 70, 70))
    assert result.difference == pytest.approx(14.0)
    assert round(result.p_value, 3) == 0.067
    assert not result.significant
    assert result.ci_low < 0 < result.ci_high


def test_welch_matches_scipy():
    a, b = [5, 6, 7, 4, 6, 7, 7, 3, 6], [4, 3, 5, 4, 2, 5, 3]
    moments = lambda xs: (len(xs), sum(xs), sum(x * x for x in xs))  # noqa: E731
    result = comparisons.mean_difference(a=moments(a), b=moments(b))
    reference = stats.ttest_ind(a, b, equal_var=False)
    assert result.statistic == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)


def test_two_proportions_reference():
    # Agresti (2013) §2.2.3, aspirin and heart attacks: 189/11034 vs 104/11037; difference 0.0077,
    # 95 % interval (0.0047, 0.0107).
    result = comparisons.proportion_difference(a=(189, 11034), b=(104, 11037))
    assert round(result.difference / 100, 4) == 0.0077
    assert (round(result.ci_low / 100, 4), round(result.ci_high / 100, 4)) == (0.0047, 0.0107)
    assert result.significant


def test_holm_reference():
    # Holm (1979) step-down: sorted p × (m, m−1, ...), made monotone.
    assert comparisons.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_holm_never_lowers_a_p_value_and_keeps_the_order(p_values):
    adjusted = comparisons.holm(p_values)
    assert all(a >= p - 1e-12 and a <= 1 for a, p in zip(adjusted, p_values))
    ranked = sorted(range(len(p_values)), key=lambda i: p_values[i])
    assert all(adjusted[i] <= adjusted[j] + 1e-12 for i, j in zip(ranked, ranked[1:]))


@given(st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(1, 50)),
       st.tuples(st.integers(0, 50), st.integers(0, 50), st.integers(1, 50)))
def test_nps_difference_is_antisymmetric(a, b):
    forward, backward = comparisons.nps_difference(a=a, b=b), comparisons.nps_difference(a=b, b=a)
    assert forward.difference == pytest.approx(-backward.difference)
    assert forward.p_value == pytest.approx(backward.p_value)
