"""The calibration/holdout comparison by frequency bucket, checked against a by-hand computation."""

import numpy as np
import pytest

from voxpop.core.clv import bgnbd, holdout
from voxpop.core.clv.bgnbd import BgNbd

MODEL = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=float("nan"), n_customers=2357)


def test_buckets_hold_the_mean_actual_and_predicted_purchases():
    x = np.array([0, 0, 1, 2, 7, 9, 12])
    t_x = np.array([0, 0, 5.0, 20, 30, 35, 38])
    T = np.full(7, 39.0)
    actual = np.array([0, 1, 0, 2, 5, 3, 10])
    comparison = holdout.compare(MODEL, x, t_x, T, actual, 39.0, top_bucket=7)
    predicted = bgnbd.expected_purchases(MODEL, 39.0, x, t_x, T)
    assert [bucket.frequency for bucket in comparison.buckets] == ["0", "1", "2", "7+"]
    assert [bucket.customers for bucket in comparison.buckets] == [2, 1, 1, 3]
    top = comparison.buckets[-1]
    assert (top.actual, top.predicted) == pytest.approx((6.0, predicted[4:].mean()))
    assert comparison.customers == 7 and comparison.actual_total == 21
    assert comparison.predicted_total == pytest.approx(predicted.sum())
    assert comparison.total_error == pytest.approx((predicted.sum() - 21) / 21)
    by_hand = sum(b.customers * abs(b.predicted - b.actual) for b in comparison.buckets) / 7
    assert comparison.bucket_error == pytest.approx(by_hand)


def test_a_model_that_predicts_exactly_has_no_error():
    x, t_x, T = np.array([0, 1, 3]), np.array([0, 10.0, 30]), np.array([39.0, 39, 39])
    predicted = bgnbd.expected_purchases(MODEL, 20.0, x, t_x, T)
    comparison = holdout.compare(MODEL, x, t_x, T, predicted, 20.0)
    assert comparison.total_error == pytest.approx(0, abs=1e-12)
    assert comparison.bucket_error == pytest.approx(0, abs=1e-12)


def test_holdout_purchases_must_be_counts():
    with pytest.raises(ValueError, match="not negative"):
        holdout.compare(MODEL, [1], [2.0], [10.0], [-1], 10.0)
    with pytest.raises(ValueError, match="no calibration customers"):
        holdout.compare(MODEL, [], [], [], [], 10.0)
