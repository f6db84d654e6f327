"""Calibration and holdout: does a BG/NBD fitted on one period predict the purchases of the next?

As Fader, Hardie & Lee (2005) validate the model on CDNOW: customers are grouped by their repeat purchases in
the calibration period (0, 1, …, 7+), and each group's mean purchases in the holdout period are set against
the mean the model expects for them (the conditional expectation, FHL 2005 eq. 10).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voxpop.core.clv import bgnbd
from voxpop.core.clv.bgnbd import BgNbd


@dataclass(frozen=True)
class FrequencyBucket:
    """One group of customers by calibration-period repeat purchases, and their mean holdout purchases."""

    frequency: str  # "0", "1", … and the open top bucket, e.g. "7+"
    customers: int
    actual: float
    predicted: float


@dataclass(frozen=True)
class HoldoutComparison:
    """Predicted against actual holdout purchases, by bucket and in total, with the errors stated."""

    buckets: tuple[FrequencyBucket, ...]
    customers: int
    actual_total: float
    predicted_total: float
    total_error: float  # (predicted − actual) / actual, of the holdout's total purchases
    bucket_error: float  # mean over customers of |predicted − actual| of their bucket's means


def compare(model: BgNbd, x, t_x, T, holdout_purchases, holdout_duration, *, top_bucket: int = 7) -> HoldoutComparison:
    """Bucket customers by calibration frequency (top_bucket and more together) and compare holdout purchases."""
    customers = bgnbd.Customers.of(x, t_x, T)
    actual = np.broadcast_to(np.asarray(holdout_purchases, dtype=float), customers.x.shape)
    if not np.isfinite(actual).all() or (actual < 0).any():
        raise ValueError("holdout purchases are counts: finite and not negative, one per calibration customer")
    if not len(actual):
        raise ValueError("there are no calibration customers to compare; check the calibration end date")
    if top_bucket < 1:
        raise ValueError("the top frequency bucket must be 1 or more")
    predicted = bgnbd.expected_purchases(model, holdout_duration, customers.x, customers.t_x, customers.T)
    bucket = np.minimum(customers.x, top_bucket).astype(int)
    counts = np.bincount(bucket, minlength=top_bucket + 1)
    actual_sums = np.bincount(bucket, weights=actual, minlength=top_bucket + 1)
    predicted_sums = np.bincount(bucket, weights=predicted, minlength=top_bucket + 1)
    buckets = tuple(
        FrequencyBucket(frequency=f"{k}+" if k == top_bucket else str(k), customers=int(counts[k]),
                        actual=float(actual_sums[k] / counts[k]), predicted=float(predicted_sums[k] / counts[k]))
        for k in range(top_bucket + 1) if counts[k]
    )
    actual_total, predicted_total = float(actual.sum()), float(predicted.sum())
    bucket_error = sum(b.customers * abs(b.predicted - b.actual) for b in buckets) / len(actual)
    return HoldoutComparison(
        buckets=buckets, customers=len(actual), actual_total=actual_total, predicted_total=predicted_total,
        total_error=(predicted_total - actual_total) / actual_total if actual_total else float("nan"),
        bucket_error=float(bucket_error),
    )
