"""Discounted customer lifetime value: its convention checked by hand, and its invariants."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.core.clv import bgnbd, gamma_gamma
from voxpop.core.clv.bgnbd import BgNbd
from voxpop.core.clv.gamma_gamma import GammaGamma
from voxpop.core.clv.value import customer_lifetime_value

PURCHASES = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=float("nan"), n_customers=2357)
SPEND = GammaGamma(p=6.25, q=3.74, gamma=15.44, log_likelihood=float("nan"), n_customers=946)
WEEKS_PER_MONTH = 365.25 / 12 / 7


def test_each_month_purchases_times_spend_discounted_at_its_end():
    x, t_x, T, mean_spend = 2, 30.43, 38.86, 22.35
    spend = gamma_gamma.expected_mean_spend(SPEND, x, mean_spend)
    by_month = np.diff(bgnbd.expected_purchases(PURCHASES, WEEKS_PER_MONTH * np.arange(4), x, t_x, T))
    by_hand = spend * by_month @ (1.01 ** -np.arange(1, 4))
    value = customer_lifetime_value(PURCHASES, SPEND, x, t_x, T, mean_spend, months=3, monthly_discount_rate=0.01,
                                    time_unit="week")
    assert value == pytest.approx(by_hand, rel=1e-12)


def test_without_discounting_the_value_is_spend_times_purchases_over_the_horizon():
    x, t_x, T = np.array([0, 1, 7]), np.array([0, 3.0, 20]), np.array([30, 35, 38.0])
    mean_spend = np.array([0, 10, 40.0])
    value = customer_lifetime_value(PURCHASES, SPEND, x, t_x, T, mean_spend, months=12, monthly_discount_rate=0,
                                    time_unit="week")
    purchases = bgnbd.expected_purchases(PURCHASES, 12 * WEEKS_PER_MONTH, x, t_x, T)
    assert np.allclose(value, purchases * gamma_gamma.expected_mean_spend(SPEND, x, mean_spend), rtol=1e-12)


def test_the_value_does_not_depend_on_the_time_unit():
    # Measured in days instead of weeks: times ×7, and the purchase rate's scale α with them.
    in_weeks = customer_lifetime_value(PURCHASES, SPEND, 3, 20.0, 35.0, 30.0, months=24, monthly_discount_rate=0.01,
                                       time_unit="week")
    in_days = customer_lifetime_value(replace(PURCHASES, alpha=7 * PURCHASES.alpha), SPEND, 3, 140.0, 245.0, 30.0,
                                      months=24, monthly_discount_rate=0.01, time_unit="day")
    assert in_days == pytest.approx(in_weeks, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(x=st.integers(0, 40), share=st.floats(0, 1), T=st.floats(1, 100), mean_spend=st.floats(0.01, 1000),
       months=st.integers(0, 36), rate=st.floats(0, 0.2), unit=st.sampled_from(["day", "week", "month"]))
def test_value_is_not_negative_and_grows_with_the_horizon(x, share, T, mean_spend, months, rate, unit):
    t_x = share * T if x else 0.0
    values = [customer_lifetime_value(PURCHASES, SPEND, x, t_x, T, mean_spend if x else 0.0, months=horizon,
                                      monthly_discount_rate=rate, time_unit=unit) for horizon in (months, months + 1)]
    assert 0 <= values[0] <= values[1] * (1 + 1e-12)


@pytest.mark.parametrize(("options", "message"), [
    ({"months": 12, "monthly_discount_rate": 0.01, "time_unit": "year"}, "day, week or month"),
    ({"months": 1.5, "monthly_discount_rate": 0.01, "time_unit": "week"}, "whole number of months"),
    ({"months": 12, "monthly_discount_rate": 10, "time_unit": "week"}, "1% a month"),
])
def test_a_horizon_or_rate_that_cannot_be_meant_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        customer_lifetime_value(PURCHASES, SPEND, 1, 2.0, 10.0, 20.0, **options)
