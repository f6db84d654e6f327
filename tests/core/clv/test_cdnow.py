"""BG/NBD and Gamma-Gamma against the published CDNOW values (the lifetimes package's copies, read in place)."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from voxpop.core.clv import bgnbd, gamma_gamma


@pytest.fixture(scope="module")
def summary(real_data) -> pd.DataFrame:
    return pd.read_csv(real_data / "lifetimes" / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def spend(real_data) -> pd.DataFrame:
    return pd.read_csv(real_data / "lifetimes" / "cdnow_customers_summary_with_transactions.csv")  # CRLF, no final newline


def test_bgnbd_gives_fader_hardie_lee_2005_on_the_cdnow_sample(summary):
    model = bgnbd.fit(summary.frequency, summary.recency, summary["T"])
    assert model.n_customers == 2357
    assert [round(value, 3) for value in (model.r, model.alpha, model.a, model.b)] == [0.243, 4.414, 0.793, 2.426]
    assert round(model.log_likelihood, 1) == -9582.4
    assert bgnbd.log_likelihood(model, summary.frequency, summary.recency, summary["T"]).sum() == pytest.approx(
        model.log_likelihood, rel=1e-12)


def test_the_bgnbd_fit_is_a_maximum(summary):
    model = bgnbd.fit(summary.frequency, summary.recency, summary["T"])
    for name in ("r", "alpha", "a", "b"):
        for factor in (0.99, 1.01):
            moved = replace(model, **{name: getattr(model, name) * factor})
            moved_fit = bgnbd.log_likelihood(moved, summary.frequency, summary.recency, summary["T"]).sum()
            assert moved_fit < model.log_likelihood


def test_identical_customers_can_be_given_as_weighted_patterns(summary):
    patterns = summary.groupby(["frequency", "recency", "T"]).size().reset_index(name="customers")
    assert len(patterns) < len(summary)
    each = bgnbd.fit(summary.frequency, summary.recency, summary["T"])
    weighted = bgnbd.fit(patterns.frequency, patterns.recency, patterns["T"], weights=patterns.customers)
    assert weighted.n_customers == each.n_customers
    assert np.allclose([weighted.r, weighted.alpha, weighted.a, weighted.b], [each.r, each.alpha, each.a, each.b],
                       rtol=1e-6)
    assert weighted.log_likelihood == pytest.approx(each.log_likelihood, rel=1e-10)


def test_gamma_gamma_gives_fader_hardie_2013_on_the_946_repeat_buyers(spend):
    model = gamma_gamma.fit(spend.x, spend.zbar)
    assert model.n_customers == 946
    # γ comes out 15.448 from the file's z̄, rounded to cents; the note's 15.44 is within that rounding.
    assert (model.p, model.q, model.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    assert gamma_gamma.log_likelihood(model, spend.x, spend.zbar).sum() == pytest.approx(model.log_likelihood)


def test_cdnow_spend_is_only_weakly_correlated_with_frequency(spend):
    # Fader & Hardie (2013) report a correlation of 0.11 between x and z̄ for these 946 customers.
    check = gamma_gamma.independence(spend.x, spend.zbar)
    assert round(check.correlation, 2) == 0.11
    assert check.n_customers == 946 and check.p_value < 0.001
    assert check.independent and "weakly correlated" in check.verdict


def test_expected_spend_of_cdnow_customers_shrinks_towards_the_mean(spend):
    model = gamma_gamma.fit(spend.x, spend.zbar)
    expected = gamma_gamma.expected_mean_spend(model, spend.x, spend.zbar)
    low, high = np.minimum(spend.zbar, model.population_mean_spend), np.maximum(spend.zbar, model.population_mean_spend)
    repeat = spend.x > 0
    assert ((expected[repeat] >= low[repeat] - 1e-9) & (expected[repeat] <= high[repeat] + 1e-9)).all()
    assert np.allclose(expected[~repeat], model.population_mean_spend)
