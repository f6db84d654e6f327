"""BG/NBD: how often customers buy while they are alive, and how likely they are to be alive still.

Fader, Hardie & Lee (2005), "'Counting your customers' the easy way: an alternative to the Pareto/NBD
model", Marketing Science 24(2), 275–284. Each customer is summarised by x (repeat purchases), t_x (time of
the last purchase) and T (time since the first purchase), all measured from the first purchase in one
time unit. The likelihood is worked in log space and fitted on log parameters, with its exact gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from voxpop.core.clv import weighted_sum


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD: purchase rates λ ~ Gamma(r, α), dropout chances p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int


@dataclass(frozen=True, eq=False)
class Customers:
    """Checked (x, t_x, T) arrays with a weight per row (how many customers share that pattern)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, x, t_x, T, weights=None) -> Customers:
        """Arrays as floats, refused with a sentence when they cannot be a customer summary."""
        x, t_x, T = (np.asarray(values, dtype=float) for values in (x, t_x, T))
        x, t_x, T = np.broadcast_arrays(x, t_x, T)
        weights = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), x.shape)
        if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
            raise ValueError("frequency, recency and T must be finite numbers; drop or fix the customers with gaps")
        if (x < 0).any() or (x != np.round(x)).any():
            raise ValueError("frequency must be a whole number of repeat purchases, 0 or more")
        if (t_x < 0).any() or (t_x > T).any():
            raise ValueError("recency must lie between 0 and T; both are measured from each customer's first purchase")
        if ((x == 0) & (t_x != 0)).any():
            raise ValueError("a customer with no repeat purchase has recency 0; check how the summary was made")
        if (weights < 0).any() or not np.isfinite(weights).all():
            raise ValueError("weights count customers, so they must be finite and not negative")
        return cls(x, t_x, T, weights)

    @cached_property
    def by_frequency(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct values of x, and each row's index into them: x-only terms are computed once per x."""
        return np.unique(self.x, return_inverse=True)

    def subset(self, rows: np.ndarray) -> Customers:
        """The customers where `rows` is true."""
        return Customers(self.x[rows], self.t_x[rows], self.T[rows], self.weights[rows])


def fit(x, t_x, T, *, weights=None) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters (FHL 2005, eq. 6) for customers or weighted patterns."""
    customers = Customers.of(x, t_x, T, weights)
    total = customers.weights.sum()
    repeat = customers.x > 0
    if total <= 0 or not repeat.any():
        raise ValueError("fitting BG/NBD needs customers, some of whom bought again; the summary has none")
    once, again = customers.subset(~repeat), customers.subset(repeat)

    def objective(log_params):
        params = np.exp(log_params)
        value_once, gradient_once = _without_repeat_purchases(params, once)
        value_again, gradient_again = _with_repeat_purchases(params, again)
        value, gradient = value_once + value_again, gradient_once + gradient_again
        # Mean per customer, so the tolerances mean the same for 2,000 customers as for 2,000,000.
        return -value / total, -gradient * np.exp(log_params) / total

    found = minimize(objective, x0=np.zeros(4), jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
    r, alpha, a, b = np.exp(found.x)
    if not found.success and np.abs(found.jac).max() > 1e-6:
        raise ValueError(f"BG/NBD did not converge ({found.message}); the data may be too few or degenerate")
    return BgNbd(r=float(r), alpha=float(alpha), a=float(a), b=float(b), log_likelihood=float(-found.fun * total),
                 n_customers=round(total))


def log_likelihood(model: BgNbd, x, t_x, T) -> np.ndarray:
    """Each customer's log-likelihood under the model (FHL 2005, eq. 6)."""
    customers = Customers.of(x, t_x, T)
    return _customer_terms(np.array([model.r, model.alpha, model.a, model.b]), customers)[0]


def _customer_terms(params, customers: Customers):
    """ln L per customer, and the posterior weight of "dropped out right after t_x" in it (FHL 2005, eq. 6).

    L = B(a, b+x)/B(a, b) · Γ(r+x)α^r/(Γ(r)(α+T)^(r+x))
        + [x > 0] B(a+1, b+x−1)/B(a, b) · Γ(r+x)α^r/(Γ(r)(α+t_x)^(r+x))."""
    r, alpha, a, b = params
    x, t_x, T = customers.x, customers.t_x, customers.T
    distinct_x, where = customers.by_frequency
    purchases = gammaln(r + distinct_x) - gammaln(r) + r * np.log(alpha)
    alive_given_x = betaln(a, b + distinct_x) - betaln(a, b)
    dropped_given_x = np.full_like(distinct_x, -np.inf)
    repeat = distinct_x > 0
    dropped_given_x[repeat] = betaln(a + 1, b + distinct_x[repeat] - 1) - betaln(a, b)
    alive = alive_given_x[where] - (r + x) * np.log(alpha + T)
    dropped = dropped_given_x[where] - (r + x) * np.log(alpha + t_x)
    mixture = np.logaddexp(alive, dropped)
    return purchases[where] + mixture, np.exp(dropped - mixture)


def _without_repeat_purchases(params, customers: Customers):
    """Σ weight·ln L and its gradient for customers with x = 0, for whom eq. 6 is L = (α/(α+T))^r. Most
    customers buy only once, so this short form saves much of a fit's time."""
    r, alpha = params[:2]
    weights, T = customers.weights, customers.T
    log_share = weights.sum() * np.log(alpha) - weighted_sum(weights, np.log(alpha + T))  # Σ w ln(α/(α+T))
    d_alpha = r * (weights.sum() / alpha - weighted_sum(weights, 1 / (alpha + T)))
    return r * log_share, np.array([log_share, d_alpha, 0.0, 0.0])


def _with_repeat_purchases(params, customers: Customers):
    """Σ weight·ln L and its gradient in (r, α, a, b) for customers with x > 0; terms that depend on x alone
    are summed once per distinct x."""
    r, alpha, a, b = params
    x, t_x, T, weights = customers.x, customers.t_x, customers.T, customers.weights
    distinct_x, where = customers.by_frequency
    weight_per_x = np.bincount(where, weights=weights, minlength=len(distinct_x))
    per_customer, dropped = _customer_terms(params, customers)
    alive = 1.0 - dropped
    log_age, log_recency = np.log(alpha + T), np.log(alpha + t_x)
    # d/d(x-only terms): ψ(r+x) − ψ(r); ψ(a+b) − ψ(a+b+x); ψ(b+x) − ψ(b) + ψ(a+b) − ψ(a+b+x)
    by_x = lambda values: weight_per_x @ values
    d_r = (by_x(digamma(r + distinct_x) - digamma(r)) + weights.sum() * np.log(alpha)
           - weighted_sum(weights, alive * log_age + dropped * log_recency))
    d_alpha = (weights.sum() * r / alpha
               - weighted_sum(weights, (r + x) * (alive / (alpha + T) + dropped / (alpha + t_x))))
    shared_ab = by_x(digamma(a + b) - digamma(a + b + distinct_x))
    d_a = shared_ab + weighted_sum(weights, dropped) / a
    d_b = shared_ab + by_x(digamma(b + distinct_x) - digamma(b)) - weighted_sum(weights, dropped / (b + x - 1))
    return weighted_sum(weights, per_customer), np.array([d_r, d_alpha, d_a, d_b])


def probability_alive(model: BgNbd, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T) (Fader, Hardie & Lee 2008, note 021); 1 for customers who never bought again."""
    customers = Customers.of(x, t_x, T)
    x, t_x, T = customers.x, customers.t_x, customers.T
    repeat = x > 0
    # log of a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), the odds of having dropped out at t_x
    odds = (np.log(model.a) - np.log(np.where(repeat, model.b + x - 1, 1.0))
            + (model.r + x) * (np.log(model.alpha + T) - np.log(model.alpha + t_x)))
    return np.where(repeat, expit(-odds), 1.0)


def expected_purchases(model: BgNbd, t, x, t_x, T) -> np.ndarray:
    """E[purchases in (T, T+t] | x, t_x, T] (FHL 2005, eq. 10), for a horizon t in the summary's time unit."""
    customers = Customers.of(x, t_x, T)
    x, T = customers.x, customers.T
    t = np.asarray(t, dtype=float)
    if (t < 0).any():
        raise ValueError("the horizon t must not be negative")
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    if np.isclose(a, 1.0):
        raise ValueError("eq. 10 of FHL 2005 is undefined at a = 1; this fit sits exactly on that point")
    share = (alpha + T) / (alpha + T + t)
    hypergeometric_term = 1.0 - share ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, 1.0 - share)
    return (a + b + x - 1) / (a - 1) * hypergeometric_term * probability_alive(model, x, customers.t_x, T)


def simulate(model: BgNbd, T, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(x, t_x) of customers observed for T, drawn from the model's story (FHL 2005, §2): repeat purchases
    arrive as Poisson(λ), and after each one the customer leaves for good with probability p."""
    T = np.asarray(T, dtype=float)
    rate = rng.gamma(model.r, 1 / model.alpha, size=T.shape)
    # p so small that it underflows to 0 would stall the geometric draw; such a customer never leaves anyway
    dropout = np.maximum(rng.beta(model.a, model.b, size=T.shape), 1e-12)
    arrivals = rng.poisson(rate * T)
    lifetime_purchases = rng.geometric(dropout)  # the purchase after which the customer leaves
    x = np.minimum(arrivals, lifetime_purchases)
    # Given K arrivals in (0, T], the x-th is the x-th of K uniform order statistics: T·Beta(x, K − x + 1).
    t_x = np.zeros_like(T)
    repeat = x > 0
    t_x[repeat] = T[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
    return x.astype(float), t_x
