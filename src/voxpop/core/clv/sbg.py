"""Shifted-beta-geometric (sBG): retention of a contract cohort, where customers visibly cancel.

Fader & Hardie (2007), "How to project customer retention", Journal of Interactive Marketing 21(1), 76–90.
Each customer cancels at the end of any period with a fixed chance θ, and θ ~ Beta(γ, δ) across customers,
so the cohort's retention rate rises over time as the likeliest cancellers leave first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln


@dataclass(frozen=True)
class ShiftedBetaGeometric:
    """Fitted sBG: churn probabilities θ ~ Beta(gamma, delta), from `periods` observed periods."""

    gamma: float
    delta: float
    log_likelihood: float
    periods: int


def fit(survivors: Sequence[float]) -> ShiftedBetaGeometric:
    """Maximum-likelihood γ, δ from a cohort's survivors at the start (index 0) and after each period."""
    alive = np.asarray(survivors, dtype=float)
    if alive.ndim != 1 or len(alive) < 3:
        raise ValueError("give the cohort's size and its survivors after at least two periods")
    if not np.isfinite(alive).all() or (alive < 0).any() or alive[0] <= 0:
        raise ValueError("survivors are counts of customers: finite, not negative, and the cohort is not empty")
    if (np.diff(alive) > 0).any():
        raise ValueError("survivors cannot rise from one period to the next; give one cohort's counts, "
                         "not new sign-ups")
    lost = -np.diff(alive)

    def objective(log_params):
        return -_log_likelihood(*np.exp(log_params), lost, alive[-1]) / alive[0]

    found = minimize(objective, x0=np.zeros(2), method="BFGS", options={"gtol": 1e-10})
    gamma, delta = np.exp(found.x)
    return ShiftedBetaGeometric(gamma=float(gamma), delta=float(delta),
                                log_likelihood=float(-found.fun * alive[0]), periods=len(lost))


def _log_likelihood(gamma, delta, lost, remaining) -> float:
    """Σ_t n_t ln P(T = t) + n_alive ln S(last) (Fader & Hardie 2007).

    P(T = t) = B(γ+1, δ+t−1)/B(γ, δ) is the chance of cancelling in period t; S(t) = B(γ, δ+t)/B(γ, δ)."""
    t = np.arange(1, len(lost) + 1)
    churned = betaln(gamma + 1, delta + t - 1) - betaln(gamma, delta)
    surviving = betaln(gamma, delta + len(lost)) - betaln(gamma, delta)
    return float(lost @ churned + remaining * surviving)


def survival(model: ShiftedBetaGeometric, periods: int) -> np.ndarray:
    """S(t) = B(γ, δ+t)/B(γ, δ) for t = 0 … periods, the share of the cohort still a customer
    (Fader & Hardie 2007)."""
    t = np.arange(periods + 1)
    return np.exp(betaln(model.gamma, model.delta + t) - betaln(model.gamma, model.delta))


def retention_rates(model: ShiftedBetaGeometric, periods: int) -> np.ndarray:
    """r_t = (δ + t − 1)/(γ + δ + t − 1) for t = 1 … periods, the share of period t−1's survivors kept
    (Fader & Hardie 2007)."""
    t = np.arange(1, periods + 1)
    return (model.delta + t - 1) / (model.gamma + model.delta + t - 1)
