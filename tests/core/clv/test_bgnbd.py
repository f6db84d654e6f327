"""BG/NBD: its predictions checked by direct integration, its fit by simulation, and its invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from voxpop.core.clv import bgnbd
from voxpop.core.clv.bgnbd import BgNbd

CDNOW = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=float("nan"), n_customers=2357)

models = st.builds(
    lambda r, alpha, a, b: BgNbd(r=r, alpha=alpha, a=a, b=b, log_likelihood=float("nan"), n_customers=0),
    r=st.floats(0.05, 5), alpha=st.floats(0.1, 50), a=st.floats(0.05, 5).filter(lambda a: abs(a - 1) > 1e-3),
    b=st.floats(0.05, 10),
)


@st.composite
def customers(draw):
    """(x, t_x, T) of one customer: recency within T, and 0 without a repeat purchase."""
    T = draw(st.floats(0.1, 100))
    x = draw(st.integers(0, 60))
    t_x = draw(st.floats(0, 1).map(lambda share: share * T)) if x else 0.0
    return float(x), t_x, T


def test_conditional_expectation_equals_integrating_over_the_posterior():
    # Alive at T, λ ~ Gamma(r+x, α+T) and p ~ Beta(a, b+x); each then buys (1 − e^(−λpt))/p in the next t
    # (FHL 2005, §3). Averaged over λ that is (1 − ((α+T)/(α+T+pt))^(r+x))/p; integrating it over p
    # numerically is independent of the closed form's hypergeometric function.
    x, t_x, T, t = 2, 30.43, 38.86, 39.0
    dropout = stats.beta(CDNOW.a, CDNOW.b + x)
    share = lambda p: (CDNOW.alpha + T) / (CDNOW.alpha + T + p * t)
    alive_purchases, _ = integrate.quad(lambda p: dropout.pdf(p) * -np.expm1((CDNOW.r + x) * np.log(share(p))) / p,
                                        0, 1, epsabs=1e-12)
    expected = bgnbd.probability_alive(CDNOW, x, t_x, T) * alive_purchases
    assert bgnbd.expected_purchases(CDNOW, t, x, t_x, T) == pytest.approx(expected, rel=1e-8)


def test_probability_alive_is_the_posterior_share_of_the_alive_branch():
    # FHL 2005, eq. 6: the likelihood's first term is "still alive at T", the second "left right after t_x".
    x, t_x, T = np.array([1.0, 3, 10]), np.array([5.0, 20, 12]), np.array([30.0, 30, 38])
    alive_branch = ((CDNOW.alpha + t_x) / (CDNOW.alpha + T)) ** (CDNOW.r + x)
    dropped_branch = CDNOW.a / (CDNOW.b + x - 1)
    assert np.allclose(bgnbd.probability_alive(CDNOW, x, t_x, T), alive_branch / (alive_branch + dropped_branch))


def test_the_fit_recovers_the_parameters_it_simulated_from():
    rng = np.random.default_rng(6)
    T = 39 - rng.uniform(0, 12, size=20_000)
    x, t_x = bgnbd.simulate(CDNOW, T, rng)
    model = bgnbd.fit(x, t_x, T)
    # Likelihood-ratio test: the true parameters lie inside the fit's 99.9% confidence region.
    at_truth = bgnbd.log_likelihood(CDNOW, x, t_x, T).sum()
    assert 2 * (model.log_likelihood - at_truth) < stats.chi2.ppf(0.999, df=4)
    assert 0 <= model.log_likelihood - at_truth


@settings(max_examples=200, deadline=None)
@given(model=models, customer=customers())
def test_probability_alive_is_a_probability_and_certain_without_repeat_purchases(model, customer):
    x, t_x, T = customer
    alive = bgnbd.probability_alive(model, x, t_x, T)
    assert 0 <= alive <= 1
    assert bgnbd.probability_alive(model, 0, 0, T) == 1
    assert np.isfinite(bgnbd.log_likelihood(model, x, t_x, T)).all()


@settings(max_examples=200, deadline=None)
@given(model=models, customer=customers(), horizons=st.lists(st.floats(0, 200), min_size=2, max_size=5))
def test_expected_purchases_are_not_negative_and_grow_with_the_horizon(model, customer, horizons):
    x, t_x, T = customer
    expected = bgnbd.expected_purchases(model, np.sort(horizons), x, t_x, T)
    assert np.isfinite(expected).all() and (expected >= -1e-12).all()
    assert (np.diff(expected) >= -1e-9 * (1 + expected[1:])).all()
    assert bgnbd.expected_purchases(model, 0.0, x, t_x, T) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("x", "t_x", "T", "message"), [
    ([1, 2], [5, 50], [40, 40], "recency must lie between 0 and T"),
    ([0], [3], [40], "no repeat purchase has recency 0"),
    ([1.5], [3], [40], "whole number"),
    ([1], [np.nan], [40], "finite"),
])
def test_a_summary_that_cannot_be_right_is_refused(x, t_x, T, message):
    with pytest.raises(ValueError, match=message):
        bgnbd.fit(x, t_x, T)


def test_without_any_repeat_buyer_there_is_nothing_to_fit():
    with pytest.raises(ValueError, match="some of whom bought again"):
        bgnbd.fit([0, 0, 0], [0, 0, 0], [10, 20, 30])
