"""The core customer outcome measures against the issue's reference value, and their invariants."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.core import estimates, outcomes
from voxpop.core.outcomes import ProfitBlock


def test_retention_reference_from_the_issue():
    # S 200, E 220, N 40: (220 − 40) / 200 = 90 %, a Wilson interval on 180 of 200.
    retention = outcomes.retention_rate(start=200, end=220, new=40)
    assert (retention.value, retention.n) == (pytest.approx(90.0), 200)
    low, high = estimates.wilson_interval(180, 200, 0.95)
    assert (retention.ci_low, retention.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))
    churn = outcomes.churn_rate(retention, definition=outcomes.no_purchase(window_days=365, period="month"))
    assert churn.estimate.value == pytest.approx(10.0)
    assert (churn.estimate.ci_low, churn.estimate.ci_high) == (pytest.approx(100 - retention.ci_high),
                                                               pytest.approx(100 - retention.ci_low))
    assert churn.definition == "no purchase in the 365 days up to the end of the month"


def test_won_back_customers_are_not_counted_as_retained():
    # 220 active at the end: 40 new, 30 back after lapsing, so 150 of the 200 stayed.
    assert outcomes.retention_rate(start=200, end=220, new=40, won_back=30).value == pytest.approx(75.0)
    with pytest.raises(ValueError, match=r"must be between 0 and S \(200\): count the customers active"):
        outcomes.retention_rate(start=200, end=260, new=40)


def test_an_empty_period_has_no_retention_and_says_so_by_its_base():
    retention = outcomes.retention_rate(start=0, end=12, new=12)
    assert (retention.value, retention.n, retention.low_base) == (None, 0, True)
    assert outcomes.churn_rate(retention, definition=outcomes.CONTRACTUAL).estimate.value is None


@given(start=st.integers(0, 10_000), data=st.data())
def test_retention_and_churn_are_shares_that_sum_to_100(start, data):
    new = data.draw(st.integers(0, 10_000))
    end = new + data.draw(st.integers(0, start))  # E − N ≤ S
    retention = outcomes.retention_rate(start=start, end=end, new=new)
    churn = outcomes.churn_rate(retention, definition="no purchase during the month").estimate
    if start == 0:
        assert retention.value is None and churn.value is None
        return
    assert retention.value + churn.value == pytest.approx(100.0)
    for estimate in (retention, churn):
        assert 0.0 <= estimate.ci_low <= estimate.value <= estimate.ci_high <= 100.0


def test_acquisition_is_the_new_customers_share_of_those_active_at_the_end():
    acquisition = outcomes.acquisition_rate(new=40, end=220)
    assert (acquisition.value, acquisition.n) == (pytest.approx(100 * 40 / 220), 220)
    with pytest.raises(ValueError, match="use an activity window at least one period long"):
        outcomes.acquisition_rate(new=50, end=40)


def test_repeat_purchase_rate():
    repeat = outcomes.repeat_purchase_rate(repeat_customers=946, customers=2357)
    assert (repeat.value, repeat.n) == (pytest.approx(100 * 946 / 2357), 2357)
    assert repeat.ci_low < repeat.value < repeat.ci_high


cohort_counts = st.integers(1, 500).flatmap(
    lambda size: st.lists(st.integers(0, size), max_size=12).map(lambda later: [size, *later]))


@given(st.dictionaries(st.integers(0, 40), cohort_counts, min_size=1, max_size=8))
def test_every_cohort_starts_at_100_percent(table):
    rows = outcomes.cohort_retention(table)
    assert [row.cohort for row in rows] == sorted(table)
    for row in rows:
        assert row.shares[0].value == 100.0 and row.size == table[row.cohort][0]
        assert len(row.shares) == len(table[row.cohort])  # unobserved cells are left out, not zero
        assert all(share.n == row.size for share in row.shares)


def test_cohort_refusals():
    with pytest.raises(ValueError, match="more active customers than its 10 members"):
        outcomes.cohort_retention({"2024-01": [10, 11]})
    with pytest.raises(ValueError, match="no customers in its first period"):
        outcomes.cohort_retention({"2024-01": [0, 0]})


def blocks_of(profits):
    """Each customer a block of their own, most profitable first."""
    return [ProfitBlock(1, p, p, p) for p in sorted(profits, reverse=True)]


def test_whale_curve_of_five_customers():
    curve = outcomes.whale_curve(blocks_of([50.0, 30.0, 40.0, -10.0, -10.0]))
    assert [(p.customer_share, p.profit) for p in curve.points] == [
        (0.0, 0.0), (0.2, 50.0), (0.4, 90.0), (0.6, 120.0), (0.8, 110.0), (1.0, 100.0)]
    assert (curve.peak.customer_share, curve.peak.profit_share) == (0.6, pytest.approx(1.2))
    assert curve.points[-1].profit_share == 1.0


profit_lists = st.lists(st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: round(x, 2)), min_size=1, max_size=200)


@given(profit_lists)
def test_whale_curve_rises_to_its_peak_then_falls_and_ends_at_one_one(profits):
    curve = outcomes.whale_curve(blocks_of(profits))
    shares = [point.customer_share for point in curve.points]
    assert shares == sorted(shares) and shares[-1] == 1.0 and len(set(shares)) == len(shares)
    steps = np.diff([point.profit for point in curve.points])
    assert (np.diff(steps) <= 1e-9).all()  # concave: each customer adds no more than the one before
    assert curve.peak.profit == pytest.approx(sum(p for p in profits if p > 0), abs=1e-6)
    if curve.total_profit > 0:
        assert (curve.points[-1].customer_share, curve.points[-1].profit_share) == (1.0, 1.0)
        assert all(point.profit_share is not None for point in curve.points)
    else:  # a share of a total that is 0 or negative means nothing: the curve stays in money
        assert all(point.profit_share is None for point in curve.points)


@given(profit_lists, st.integers(1, 20))
def test_blocks_give_the_per_customer_curve_at_their_edges(profits, size):
    # The engine ranks customers and sends runs of them: the curve through the runs' edges is the same curve.
    single = outcomes.whale_curve(blocks_of(profits))
    ranked = sorted(profits, reverse=True)
    runs = [ranked[i:i + size] for i in range(0, len(ranked), size)]
    blocked = outcomes.whale_curve([ProfitBlock(len(run), sum(run), min(run), max(run)) for run in runs])
    edges = [0, *np.cumsum([len(run) for run in runs])]
    for point, edge in zip(blocked.points, edges):
        assert point.profit == pytest.approx(single.points[edge].profit, abs=1e-6)
        assert point.customer_share == single.points[edge].customer_share


@given(profit_lists)
def test_profit_distribution_equals_the_per_customer_computation(profits):
    summary = outcomes.profit_distribution(blocks_of(profits), total_squares=sum(p * p for p in profits))
    assert summary.mean.value == pytest.approx(np.mean(profits), abs=1e-6)
    assert summary.unprofitable.value == pytest.approx(100 * np.mean(np.array(profits) < 0))
    assert (summary.lowest, summary.highest) == (min(profits), max(profits))
    for probability, value in summary.quantiles.items():
        assert value == np.quantile(profits, probability, method="inverted_cdf")


def test_whale_curve_refuses_unranked_blocks_and_no_customers():
    with pytest.raises(ValueError, match="most profitable first"):
        outcomes.whale_curve([ProfitBlock(1, 5.0, 5.0, 5.0), ProfitBlock(1, 9.0, 9.0, 9.0)])
    with pytest.raises(ValueError, match="at least one customer"):
        outcomes.whale_curve([])


def test_market_share_of_customers_has_a_wilson_interval_and_of_revenue_none():
    customers = outcomes.market_share(basis="customers", ours=150, market=1000, customers=150)
    assert (customers.basis, customers.estimate.value, customers.estimate.n) == ("customers", pytest.approx(15.0), 1000)
    low, high = estimates.wilson_interval(150, 1000, 0.95)
    assert (customers.estimate.ci_low, customers.estimate.ci_high) == (pytest.approx(100 * low), pytest.approx(100 * high))
    revenue = outcomes.market_share(basis="revenue", ours=2.5e6, market=2e7, customers=150)
    assert (revenue.estimate.value, revenue.estimate.n, revenue.estimate.ci_low) == (pytest.approx(12.5), 150, None)


def test_market_share_refusals_say_what_to_enter():
    with pytest.raises(ValueError, match="the market size is 0; enter the market's revenue"):
        outcomes.market_share(basis="revenue", ours=10.0, market=0.0, customers=3)
    with pytest.raises(ValueError, match="same period and segment"):
        outcomes.market_share(basis="customers", ours=120, market=100, customers=120)
    with pytest.raises(ValueError, match="revenue or of customers"):
        outcomes.market_share(basis="visits", ours=1, market=10, customers=1)


def test_churn_definitions_are_stated():
    assert outcomes.no_purchase(window_days=None, period="quarter") == "no purchase during the quarter"
    assert "contract" in outcomes.CONTRACTUAL
