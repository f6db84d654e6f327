"""Gamma-Gamma: the fit by simulation, the expected spend's shrinkage, and the independence check."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from voxpop.core.clv import gamma_gamma
from voxpop.core.clv.gamma_gamma import GammaGamma

CDNOW = GammaGamma(p=6.25, q=3.74, gamma=15.44, log_likelihood=float("nan"), n_customers=946)

models = st.builds(lambda p, q, gamma: GammaGamma(p=p, q=q, gamma=gamma, log_likelihood=float("nan"), n_customers=0),
                   p=st.floats(0.1, 20), q=st.floats(1.01, 20), gamma=st.floats(0.1, 100))


def test_the_fit_recovers_the_parameters_it_simulated_from():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 15, size=5000).astype(float)
    mean_spend = gamma_gamma.simulate(CDNOW, x, rng)
    model = gamma_gamma.fit(x, mean_spend)
    at_truth = gamma_gamma.log_likelihood(CDNOW, x, mean_spend).sum()
    assert 0 <= model.log_likelihood - at_truth < stats.chi2.ppf(0.999, df=3) / 2


def test_customers_without_repeat_purchases_or_spend_are_left_out_of_the_fit():
    rng = np.random.default_rng(4)
    x = rng.integers(1, 10, size=500).astype(float)
    mean_spend = gamma_gamma.simulate(CDNOW, x, rng)
    with_others = gamma_gamma.fit(np.r_[x, 0, 0, 3], np.r_[mean_spend, 0, 0, 0])
    assert with_others == gamma_gamma.fit(x, mean_spend)
    assert with_others.n_customers == 500


@settings(max_examples=200, deadline=None)
@given(model=models, x=st.integers(0, 100), mean_spend=st.floats(0.01, 10_000))
def test_expected_spend_lies_between_the_customer_mean_and_the_population_mean(model, x, mean_spend):
    expected = gamma_gamma.expected_mean_spend(model, x, mean_spend)
    own = mean_spend if x else model.population_mean_spend
    low, high = sorted((own, model.population_mean_spend))
    assert low * (1 - 1e-9) <= expected <= high * (1 + 1e-9)
    if x:
        assert np.isfinite(gamma_gamma.log_likelihood(model, x, mean_spend)).all()


def test_more_purchases_give_the_customer_mean_more_weight():
    spends = gamma_gamma.expected_mean_spend(CDNOW, np.array([1, 5, 50, 5000]), 100.0)
    assert (np.diff(spends) > 0).all() and spends[-1] == pytest.approx(100, rel=1e-3)


def test_spend_that_rises_with_frequency_is_reported_as_dependent():
    rng = np.random.default_rng(5)
    x = rng.integers(1, 20, size=400).astype(float)
    check = gamma_gamma.independence(x, 10 * x + rng.normal(0, 5, size=400).clip(-5, 5) + 10)
    assert not check.independent and check.correlation > 0.9
    assert "biased" in check.verdict


def test_refusals_say_what_to_do():
    with pytest.raises(ValueError, match="net returns against their sales"):
        gamma_gamma.fit([1, 2], [10.0, -5.0])
    with pytest.raises(ValueError, match="at least two customers who bought again"):
        gamma_gamma.fit([0, 0, 1], [0.0, 0.0, 5.0])
    with pytest.raises(ValueError, match="at least three repeat buyers"):
        gamma_gamma.independence([1, 2], [5.0, 6.0])
    heavy = GammaGamma(p=1.0, q=0.8, gamma=1.0, log_likelihood=float("nan"), n_customers=10)
    with pytest.raises(ValueError, match="needs q > 1"):
        gamma_gamma.expected_mean_spend(heavy, 2, 10.0)
